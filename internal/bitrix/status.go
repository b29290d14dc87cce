package bitrix

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// crm.status.{add,get,update,delete,fields}, crm.dealcategory.stage.list
// and crm.category.* over Obmen's status dictionaries and deal pipelines.
// Their errors are Bitrix24's texts (b24restdocs api-reference/crm/status
// and crm/universal/category).

var (
	errStatusNotFound  = crmError("Status is not found.")
	errStatusBadID     = crmError("Invalid identifier.")
	errCRMAccessDenied = crmError("Access denied.")
)

// statusDictionaries are the dictionaries crm.status.add accepts: those
// crm.status.entity.types lists.
func (h *Handler) statusDictionaries(ctx context.Context, c *call) (map[string]bool, error) {
	types, err := h.statusEntityTypes(ctx, c)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, t := range types.result.(*Array).Values() {
		id, _ := t.(*Array).Get("ID")
		out[id.(string)] = true
	}
	return out, nil
}

// statusInput reads the fields of crm.status.add and .update into st;
// given is which were sent.
func statusInput(fields *Array, st *crm.Status) (given map[string]bool, err error) {
	given = map[string]bool{}
	for _, k := range fields.Keys() {
		v, _ := fields.Get(k)
		key := strings.ToUpper(k)
		s, ok := scalarText(v)
		if !ok {
			return nil, crmError("Field %s must not be an array", key)
		}
		s = strings.TrimSpace(s)
		switch key {
		case "ENTITY_ID":
			st.EntityID = s
		case "STATUS_ID":
			st.StatusID = s
		case "NAME":
			st.Name = s
		case "SORT":
			n, err := strconv.Atoi(s)
			if err != nil && s != "" {
				return nil, crmError("Field SORT: %q is not a number", s)
			}
			st.Sort = n
		case "COLOR":
			st.Color = s
		case "SEMANTICS":
			st.Semantics = s
		default:
			continue
		}
		given[key] = true
	}
	return given, nil
}

// statusError maps the store's refusals to crm.status.*'s texts.
func statusError(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errStatusNotFound
	}
	if fe, ok := crm.AsFieldError(err); ok {
		switch {
		case fe.Field == "status_id" && strings.Contains(fe.Message, "already has"):
			return &Error{Status: http.StatusBadRequest, Code: "ERROR_CORE", Description: "The specified status ID already exists."}
		case strings.Contains(fe.Message, " is used by "):
			return crmError("There are active items in this status.")
		case fe.Field == "status_id" && strings.Contains(fe.Message, "system entry"):
			return crmError("CRM System Status can be deleted only if parameter FORCED is specified and equal to \"Y\".")
		}
		return crmError("Field %s: %s", strings.ToUpper(fe.Field), fe.Message)
	}
	return err
}

// statusWriteFields begins crm.status.add and .update: only
// administrators change dictionaries, and the fields must be an array.
func statusWriteFields(c *call) (*Array, error) {
	if c.user.Role != crm.RoleAdmin {
		return nil, errCRMAccessDenied
	}
	fields, err := c.paramArray("fields")
	if err != nil || fields == nil {
		return nil, crmError("Parameter 'fields' must be array.")
	}
	return fields, nil
}

// statusAdd is crm.status.add: the new entry's id. Only administrators
// change dictionaries.
func (h *Handler) statusAdd(ctx context.Context, c *call) (reply, error) {
	fields, err := statusWriteFields(c)
	if err != nil {
		return reply{}, err
	}
	st := crm.Status{Sort: 10}
	given, err := statusInput(fields, &st)
	if err != nil {
		return reply{}, err
	}
	var missing []string
	for _, f := range []string{"ENTITY_ID", "STATUS_ID"} {
		if !given[f] || (f == "ENTITY_ID" && st.EntityID == "") || (f == "STATUS_ID" && st.StatusID == "") {
			missing = append(missing, "The field "+f+" is required.")
		}
	}
	if len(missing) > 0 {
		return reply{}, crmError("%s", strings.Join(missing, " "))
	}
	st.EntityID = strings.ToUpper(st.EntityID)
	dicts, err := h.statusDictionaries(ctx, c)
	if err != nil {
		return reply{}, err
	}
	if !dicts[st.EntityID] {
		return reply{}, crmError("Specified entity type is not supported.")
	}
	if st.Name == "" {
		return reply{}, crmError("The field Title is required.")
	}
	st, err = h.store.CreateStatus(ctx, c.actor(), st)
	if err != nil {
		return reply{}, statusError(err)
	}
	return reply{result: st.ID}, nil
}

func statusID(c *call) (int64, error) {
	s, _ := c.paramText("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, errStatusBadID
	}
	return id, nil
}

// statusGet is crm.status.get.
func (h *Handler) statusGet(ctx context.Context, c *call) (reply, error) {
	id, err := statusID(c)
	if err != nil {
		return reply{}, errStatusNotFound
	}
	st, err := h.store.GetStatus(ctx, id)
	if err != nil {
		return reply{}, statusError(err)
	}
	return reply{result: statusArray(st)}, nil
}

// statusUpdate is crm.status.update: NAME, SORT, COLOR (and SEMANTICS,
// which Obmen lets change on an entry no record uses).
func (h *Handler) statusUpdate(ctx context.Context, c *call) (reply, error) {
	fields, err := statusWriteFields(c)
	if err != nil {
		return reply{}, err
	}
	id, err := statusID(c)
	if err != nil {
		return reply{}, err
	}
	st, err := h.store.GetStatus(ctx, id)
	if err != nil {
		return reply{}, statusError(err)
	}
	entity, code := st.EntityID, st.StatusID
	if _, err := statusInput(fields, &st); err != nil {
		return reply{}, err
	}
	// The dictionary and the code do not change.
	st.EntityID, st.StatusID = entity, code
	if _, err := h.store.UpdateStatus(ctx, c.actor(), st); err != nil {
		return reply{}, statusError(err)
	}
	return reply{result: true}, nil
}

// statusDelete is crm.status.delete. Obmen keeps its system entries even
// with params[FORCED]=Y: deals' and leads' semantics rest on them.
func (h *Handler) statusDelete(ctx context.Context, c *call) (reply, error) {
	if c.user.Role != crm.RoleAdmin {
		return reply{}, errCRMAccessDenied
	}
	id, err := statusID(c)
	if err != nil {
		return reply{}, err
	}
	if err := h.store.DeleteStatus(ctx, c.actor(), id); err != nil {
		return reply{}, statusError(err)
	}
	return reply{result: true}, nil
}

// statusFields is crm.status.fields.
func (h *Handler) statusFields(context.Context, *call) (reply, error) {
	out := NewArray()
	for _, f := range []struct {
		name, typ, title     string
		required, ro, immute bool
	}{
		{"ID", "integer", "ID", false, true, false},
		{"ENTITY_ID", "string", "Entity ID", true, false, true},
		{"STATUS_ID", "string", "Status", true, false, true},
		{"SORT", "integer", "Sorting", false, false, false},
		{"NAME", "string", "Name", true, false, false},
		{"NAME_INIT", "string", "Default name", false, true, false},
		{"SYSTEM", "char", "System", false, true, false},
		{"CATEGORY_ID", "integer", "Pipeline", false, true, false},
		{"COLOR", "string", "Color", false, false, false},
		{"SEMANTICS", "string", "Semantics", false, false, false},
		{"EXTRA", "crm_status_extra", "Additional information", false, false, false},
	} {
		out.Set(f.name, NewArray().Set("type", f.typ).Set("isRequired", f.required).Set("isReadOnly", f.ro).
			Set("isImmutable", f.immute).Set("isMultiple", false).Set("isDynamic", false).Set("title", f.title))
	}
	return reply{result: out}, nil
}

// dealCategoryStageList is crm.dealcategory.stage.list: the stages of
// pipeline id (0 or none: the default one) as NAME, SORT, STATUS_ID; none
// for a pipeline that does not exist.
func (h *Handler) dealCategoryStageList(ctx context.Context, c *call) (reply, error) {
	s, _ := c.paramText("id")
	var id int64
	if s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return reply{}, errBadID
		}
		id = n
	}
	all, err := h.store.ListStatuses(ctx, crm.StageEntityID(id))
	if err != nil {
		return reply{}, err
	}
	out := NewArray()
	for _, st := range all {
		out.Append(NewArray().Set("NAME", st.Name).Set("SORT", strconv.Itoa(st.Sort)).Set("STATUS_ID", st.StatusID))
	}
	return reply{result: out}, nil
}

// Categories (funnels): deals have Obmen's pipelines; contacts, companies
// and smart invoices have the one default category Bitrix24 gives them,
// which Obmen does not let change; leads and quotes have none
// (ENTITY_TYPE_NOT_SUPPORTED); any other type is an unknown smart process
// (NOT_FOUND).

// categoryKind is what crm.category.* can do for a type.
type categoryKind int

const (
	categoryPipelines categoryKind = iota
	categoryDefaultOnly
)

// defaultCategoryNames are the names of the default categories of the
// types without pipelines, as a Russian portal names them.
var defaultCategoryNames = map[int64]string{3: "Контакты", 4: "Компании", 31: "Счета"}

func errCategory(code, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Description: msg}
}

var errCategoryNotFound = errCategory("NOT_FOUND", "Element not found")

// categoryType reads entityTypeId; notFound is the method's text for an
// unknown type.
func categoryType(c *call, notFound string) (int64, categoryKind, error) {
	s, err := c.paramText("entityTypeId")
	if err != nil {
		return 0, 0, err
	}
	if s == "" {
		return 0, 0, crmError("Parameter entityTypeId is required")
	}
	t, perr := strconv.ParseInt(s, 10, 64)
	switch {
	case perr != nil:
		return 0, 0, errCategory("NOT_FOUND", notFound)
	case t == 2:
		return t, categoryPipelines, nil
	case defaultCategoryNames[t] != "":
		return t, categoryDefaultOnly, nil
	}
	for _, o := range ownerTypes {
		if int64(o.id) == t && (t == 1 || t == 7) {
			return 0, 0, errCategory("ENTITY_TYPE_NOT_SUPPORTED", "Entity type "+o.symbol.(string)+" is not supported")
		}
	}
	return 0, 0, errCategory("NOT_FOUND", notFound)
}

func categoryArray(t int64, p crm.Pipeline) *Array {
	return NewArray().Set("id", p.ID).Set("name", p.Name).Set("sort", p.Sort).Set("entityTypeId", t).
		Set("isDefault", yn(p.IsDefault)).Set("originId", "").Set("originatorId", "")
}

func defaultCategory(t int64) crm.Pipeline {
	return crm.Pipeline{ID: 0, Name: defaultCategoryNames[t], Sort: 500, IsDefault: true}
}

// categoryList is crm.category.list.
func (h *Handler) categoryList(ctx context.Context, c *call) (reply, error) {
	t, kind, err := categoryType(c, "Smart process not found")
	if err != nil {
		return reply{}, err
	}
	cats := NewArray()
	if kind == categoryDefaultOnly {
		cats.Append(categoryArray(t, defaultCategory(t)))
	} else {
		pipes, err := h.store.ListPipelines(ctx)
		if err != nil {
			return reply{}, err
		}
		for _, p := range pipes {
			cats.Append(categoryArray(t, p))
		}
	}
	n := int64(cats.Len())
	return reply{result: NewArray().Set("categories", cats), total: &n}, nil
}

func categoryID(c *call) (int64, error) {
	s, _ := c.paramText("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 0 {
		return 0, errCategoryNotFound
	}
	return id, nil
}

// categoryGet is crm.category.get.
func (h *Handler) categoryGet(ctx context.Context, c *call) (reply, error) {
	t, kind, err := categoryType(c, "SPA not found")
	if err != nil {
		return reply{}, err
	}
	id, err := categoryID(c)
	if err != nil {
		return reply{}, err
	}
	var p crm.Pipeline
	if kind == categoryDefaultOnly {
		if id != 0 {
			return reply{}, errCategoryNotFound
		}
		p = defaultCategory(t)
	} else if p, err = h.store.GetPipeline(ctx, id); errors.Is(err, store.ErrNotFound) {
		return reply{}, errCategoryNotFound
	} else if err != nil {
		return reply{}, err
	}
	return reply{result: NewArray().Set("category", categoryArray(t, p))}, nil
}

// categoryInput reads fields[name] and fields[sort] into p (isDefault is
// not changed for deals, as in Bitrix24).
func categoryInput(c *call, p *crm.Pipeline, creating bool) error {
	fields, err := c.paramArray("fields")
	if err != nil || fields == nil {
		return errCategory("0", "Field 'NAME' is required")
	}
	if v, ok := lookupFold(fields, "name"); ok {
		s, _ := scalarText(v)
		p.Name = strings.TrimSpace(s)
	} else if creating {
		p.Name = "-"
	}
	if p.Name == "" {
		return errCategory("0", "Field 'NAME' is required")
	}
	if v, ok := lookupFold(fields, "sort"); ok {
		s, _ := scalarText(v)
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return crmError("Field sort: %q is not a number", s)
		}
		p.Sort = max(n, 0)
	} else if creating {
		p.Sort = 500
	}
	return nil
}

// errDefaultOnly answers a change to the default category of a type that
// has only that one in Obmen.
func errDefaultOnly(t int64) *Error {
	name := "CONTACT"
	for _, o := range ownerTypes {
		if int64(o.id) == t {
			name = o.symbol.(string)
		}
	}
	return errCategory("ENTITY_TYPE_NOT_SUPPORTED", "Entity type "+name+" has only its default category here; it cannot be added to or changed")
}

// categoryAdd is crm.category.add: a deal pipeline.
func (h *Handler) categoryAdd(ctx context.Context, c *call) (reply, error) {
	t, kind, err := categoryType(c, "SPA not found")
	if err != nil {
		return reply{}, err
	}
	if c.user.Role != crm.RoleAdmin {
		return reply{}, errCategory("ACCESS_DENIED", "Access denied")
	}
	if kind == categoryDefaultOnly {
		return reply{}, errDefaultOnly(t)
	}
	var p crm.Pipeline
	if err := categoryInput(c, &p, true); err != nil {
		return reply{}, err
	}
	p, err = h.store.CreatePipeline(ctx, c.actor(), p)
	if err != nil {
		return reply{}, err
	}
	return reply{result: NewArray().Set("category", categoryArray(t, p))}, nil
}

// categoryTarget begins crm.category.update and .delete: the entity type
// (an unknown one answered typeNotFound), an administrator's call, and the
// pipeline id names. A type with only its default category answers
// defaultOnly for id 0.
func (h *Handler) categoryTarget(ctx context.Context, c *call, typeNotFound string, defaultOnly func(t int64) *Error) (int64, crm.Pipeline, error) {
	t, kind, err := categoryType(c, typeNotFound)
	if err != nil {
		return 0, crm.Pipeline{}, err
	}
	if c.user.Role != crm.RoleAdmin {
		return 0, crm.Pipeline{}, errCategory("ACCESS_DENIED", "Access denied")
	}
	id, err := categoryID(c)
	if err != nil {
		return 0, crm.Pipeline{}, err
	}
	if kind == categoryDefaultOnly {
		if id != 0 {
			return 0, crm.Pipeline{}, errCategoryNotFound
		}
		return 0, crm.Pipeline{}, defaultOnly(t)
	}
	p, err := h.store.GetPipeline(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, crm.Pipeline{}, errCategoryNotFound
	}
	return t, p, err
}

// categoryUpdate is crm.category.update: name and sort.
func (h *Handler) categoryUpdate(ctx context.Context, c *call) (reply, error) {
	t, p, err := h.categoryTarget(ctx, c, "Smart process not found", errDefaultOnly)
	if err != nil {
		return reply{}, err
	}
	if err := categoryInput(c, &p, false); err != nil {
		return reply{}, err
	}
	if p, err = h.store.UpdatePipeline(ctx, c.actor(), p); err != nil {
		return reply{}, err
	}
	return reply{result: NewArray().Set("category", categoryArray(t, p))}, nil
}

// categoryDelete is crm.category.delete: result null, as in Bitrix24.
func (h *Handler) categoryDelete(ctx context.Context, c *call) (reply, error) {
	_, p, err := h.categoryTarget(ctx, c, "SPA not found", func(int64) *Error {
		return errCategory("REMOVING_DISABLED", "Deletion of system category is prohibited")
	})
	if err != nil {
		return reply{}, err
	}
	if p.IsDefault {
		return reply{}, errCategory("0", "Default deal category cannot be deleted")
	}
	err = h.store.DeletePipeline(ctx, c.actor(), p.ID)
	if fe, ok := crm.AsFieldError(err); ok && strings.Contains(fe.Message, "holds") {
		return reply{}, errCategory("0", "Deals related to the funnel "+p.Name+" found")
	}
	if err != nil {
		return reply{}, err
	}
	return reply{result: nil}, nil
}

// categoryFields is crm.category.fields.
func (h *Handler) categoryFields(ctx context.Context, c *call) (reply, error) {
	if _, _, err := categoryType(c, "SPA not found"); err != nil {
		return reply{}, err
	}
	out := NewArray()
	for _, f := range []struct {
		name, upper, typ string
		required, ro     bool
	}{
		{"id", "ID", "integer", false, true},
		{"name", "NAME", "string", false, false},
		{"sort", "SORT", "integer", false, false},
		{"entityTypeId", "ENTITY_TYPE_ID", "integer", true, true},
		{"isDefault", "IS_DEFAULT", "boolean", false, true},
		{"originId", "ORIGIN_ID", "string", false, false},
		{"originatorId", "ORIGINATOR_ID", "string", false, false},
	} {
		out.Set(f.name, NewArray().Set("type", f.typ).Set("isRequired", f.required).Set("isReadOnly", f.ro).
			Set("isImmutable", false).Set("isMultiple", false).Set("isDynamic", false).Set("title", f.upper).Set("upperName", f.upper))
	}
	return reply{result: NewArray().Set("fields", out)}, nil
}
