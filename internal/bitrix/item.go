package bitrix

// The universal crm.item.* methods (b24restdocs api-reference/crm/
// universal) over the same record operations as the legacy methods
// (records): names and values are translated from camelCase (title,
// stageId, assignedById, fm, ufCrm…) to the legacy ones (TITLE,
// STAGE_ID, PHONE, UF_CRM_…) on the way in, and back on the way out; the
// field table of each entity (its *.fields answer) says which names exist
// and how their values are typed.

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/store"
)

// Bitrix24's entity type ids (b24restdocs api-reference/crm/data-types.md
// #object_type).
const (
	typeLead         = 1
	typeDeal         = 2
	typeContact      = 3
	typeCompany      = 4
	typeInvoice      = 5
	typeQuote        = 7
	typeRequisite    = 8
	typeSmartInvoice = 31
)

// itemKind is an entity type crm.item.* serves.
type itemKind struct {
	id   int
	rec  records
	rows *rowOwner // product rows; nil: none
	// names are the legacy names whose camelCase name is not the plain
	// conversion (camelName).
	names map[string]string
}

// commonNames are the renamings every entity shares.
var commonNames = map[string]string{
	"DATE_CREATE": "createdTime", "DATE_MODIFY": "updatedTime", "CREATED_BY_ID": "createdBy",
	"MODIFY_BY_ID": "updatedBy", "MOVED_BY_ID": "movedBy",
}

// itemKindOf resolves entityTypeId: the four core types and smart
// invoices (Obmen's invoices); quotes and the old invoices are types
// Obmen does not keep; any other id is no type at all.
func (h *Handler) itemKindOf(c *call) (itemKind, error) {
	s, err := c.paramText("entityTypeId")
	if err != nil {
		return itemKind{}, err
	}
	if s == "" {
		s, _ = c.paramText("ENTITY_TYPE_ID")
	}
	id, perr := strconv.Atoi(strings.TrimSpace(s))
	switch {
	case s == "":
		return itemKind{}, &Error{Status: http.StatusBadRequest, Code: "INVALID_ARG_VALUE", Description: "Required parameter entityTypeId is missing"}
	case perr != nil:
		return itemKind{}, &Error{Status: http.StatusBadRequest, Code: "INVALID_ARG_VALUE", Description: "Parameter entityTypeId must be an integer"}
	}
	switch id {
	case typeLead:
		r := h.leadRows()
		return itemKind{id: id, rec: h.leads(), rows: &r, names: map[string]string{"STATUS_ID": "stageId", "STATUS_SEMANTIC_ID": "stageSemanticId"}}, nil
	case typeDeal:
		r := h.dealRows()
		return itemKind{id: id, rec: h.dealCRUD(), rows: &r}, nil
	case typeContact:
		return itemKind{id: id, rec: h.contactCRUD()}, nil
	case typeCompany:
		return itemKind{id: id, rec: h.companyCRUD(), names: map[string]string{"COMPANY_TYPE": "typeId"}}, nil
	case typeSmartInvoice:
		r := h.invoiceRows()
		return itemKind{id: id, rec: h.invoiceCRUD(), rows: &r, names: map[string]string{
			"ORDER_TOPIC": "title", "STATUS_ID": "stageId", "PRICE": "opportunity", "CURRENCY": "currencyId",
			"DATE_BILL": "begindate", "DATE_PAY_BEFORE": "closedate", "RESPONSIBLE_ID": "assignedById",
			"UF_DEAL_ID": "parentId2", "UF_COMPANY_ID": "companyId", "UF_CONTACT_ID": "contactId",
			"DATE_INSERT": "createdTime", "DATE_UPDATE": "updatedTime", "CREATED_BY": "createdBy"}}, nil
	case typeQuote, typeInvoice, typeRequisite:
		return itemKind{}, &Error{Status: http.StatusBadRequest, Code: "ENTITY_TYPE_NOT_SUPPORTED",
			Description: "Entity type " + typeNames[id] + " is not supported"}
	}
	return itemKind{}, &Error{Status: http.StatusBadRequest, Code: "NOT_FOUND", Description: "SPA not found"}
}

var typeNames = map[int]string{typeInvoice: "INVOICE", typeQuote: "QUOTE", typeRequisite: "REQUISITE"}

// camelName is a legacy field name in crm.item's camelCase: words joined,
// each after the first capitalized (ASSIGNED_BY_ID → assignedById). In a
// custom field's name the underscore between two numbers stays, and so
// does the one before a portal-made field's number (UF_CRM_10_5186744711
// → ufCrm10_5186744711, UF_CRM_1720019876534 → ufCrm_1720019876534), as
// Bitrix24 writes them.
func camelName(upper string) string {
	parts := strings.Split(strings.ToLower(upper), "_")
	var b strings.Builder
	for i, p := range parts {
		if p == "" {
			continue
		}
		if i > 0 && isDigit(p[0]) {
			prev := parts[i-1]
			betweenNumbers := prev != "" && isDigit(prev[len(prev)-1])
			portalField := upper[:min(len(upper), 3)] == "UF_" && i == 2 && len(parts) == 3
			if betweenNumbers || portalField {
				b.WriteByte('_')
			}
		}
		if i > 0 {
			b.WriteString(strings.ToUpper(p[:1]) + p[1:])
		} else {
			b.WriteString(p)
		}
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// itemFieldNames is one entity's mapping of names, built from its field
// table.
type itemFieldNames struct {
	toCamel map[string]string // legacy → camelCase
	toUpper map[string]string // camelCase, folded to lower case → legacy
	desc    *Array            // the *.fields answer
}

func (k itemKind) fieldNames(ctx context.Context) (*itemFieldNames, error) {
	desc, err := k.rec.describeRecords(ctx)
	if err != nil {
		return nil, err
	}
	n := &itemFieldNames{toCamel: map[string]string{}, toUpper: map[string]string{}, desc: desc}
	for _, name := range desc.Keys() {
		if multiField(name) != nil || name == "PRODUCT_ROWS" {
			continue
		}
		c := k.names[name]
		if c == "" {
			c = commonNames[name]
		}
		if c == "" {
			c = camelName(name)
		}
		n.toCamel[name] = c
		n.toUpper[strings.ToLower(c)] = name
	}
	return n, nil
}

// upper resolves a name a client sends, camelCase or legacy.
func (n *itemFieldNames) upper(name string) (string, bool) {
	name = strings.TrimSpace(name)
	if u, ok := n.toUpper[strings.ToLower(name)]; ok {
		return u, true
	}
	if _, ok := n.toCamel[strings.ToUpper(name)]; ok {
		return strings.ToUpper(name), true
	}
	return "", false
}

func (n *itemFieldNames) typeOf(upper string) (typ string, multiple bool) {
	d, _ := n.desc.Get(upper)
	a, _ := d.(*Array)
	if a == nil {
		return "", false
	}
	t, _ := a.Get("type")
	m, _ := a.Get("isMultiple")
	s, _ := t.(string)
	b, _ := m.(bool)
	return s, b
}

// idTypes are the field types whose values crm.item answers as numbers.
var idTypes = map[string]bool{"integer": true, "user": true, "crm_company": true, "crm_contact": true,
	"crm_lead": true, "crm_deal": true, "crm_category": true, "crm_quote": true}

// toItem answers a record in crm.item's names and types.
func (k itemKind) toItem(n *itemFieldNames, rec *Array) *Array {
	out := NewArray()
	fm := NewArray()
	hasComms := false
	for _, key := range rec.Keys() {
		v, _ := rec.Get(key)
		if m := multiField(key); m != nil {
			hasComms = true
			for _, it := range itemsOf(v) {
				a, _ := it.(*Array)
				if a == nil {
					continue
				}
				id, _ := a.Get("ID")
				val, _ := a.Get("VALUE")
				vt, _ := a.Get("VALUE_TYPE")
				fm.Append(NewArray().Set("id", toNumber(id, true)).Set("valueType", vt).Set("value", val).Set("typeId", key))
			}
			continue
		}
		name, ok := n.toCamel[key]
		if !ok {
			continue // PRODUCT_ROWS: crm.item.productrow.*
		}
		typ, multiple := n.typeOf(key)
		switch {
		case idTypes[typ] && multiple:
			ids := NewArray()
			for _, x := range itemsOf(v) {
				ids.Append(toNumber(x, true))
			}
			v = ids
		case idTypes[typ]:
			v = toNumber(v, true)
		case typ == "double":
			v = toNumber(v, false)
		}
		out.Set(name, v)
	}
	if _, ok := n.desc.Get("PHONE"); ok || hasComms {
		out.Set("fm", fm)
		// The flat aliases: the first value of each kind and type.
		first := func(kind, valueType string) any {
			for _, it := range fm.Values() {
				a := it.(*Array)
				t, _ := a.Get("typeId")
				vt, _ := a.Get("valueType")
				if t == kind && (valueType == "" || vt == valueType) {
					v, _ := a.Get("value")
					return v
				}
			}
			return ""
		}
		out.Set("phoneMobile", first("PHONE", "MOBILE")).Set("phoneWork", first("PHONE", "WORK")).
			Set("phoneMailing", first("PHONE", "MAILING")).Set("emailHome", first("EMAIL", "HOME")).
			Set("emailWork", first("EMAIL", "WORK")).Set("emailMailing", first("EMAIL", "MAILING")).
			Set("imol", first("IM", "IMOL")).Set("email", first("EMAIL", "")).Set("phone", first("PHONE", ""))
	}
	out.Set("observers", NewArray())
	// Fields Bitrix24 answers that Obmen does not keep: the ones
	// Bitrix24 itself answers null ("Field is disabled" in
	// object-fields.md) and the ones without a counterpart.
	for _, name := range []string{"dateCreateShort", "dateModifyShort", "productId", "searchContent"} {
		out.Set(name, nil)
	}
	out.Set("webformId", 0)
	switch k.id {
	case typeLead:
		for _, name := range []string{"isConvert", "shortName", "login", "skype", "icq", "address"} {
			out.Set(name, nil)
		}
		ids := NewArray()
		if id, _ := out.Get("contactId"); id != nil {
			ids.Append(id)
		}
		out.Set("contactIds", ids)
	case typeDeal:
		for _, name := range []string{"begindateShort", "closedateShort", "eventDate", "eventDateShort", "eventId",
			"eventDescription", "orderStage", "receivedAmount", "lostAmount"} {
			out.Set(name, nil)
		}
		sem, _ := out.Get("stageSemanticId")
		out.Set("isWork", yn(sem == "P")).Set("isWon", yn(sem == "S")).Set("isLose", yn(sem == "F"))
		manual, _ := out.Get("isManualOpportunity")
		out.Set("hasProducts", yn(manual == "N"))
	}
	out.Set("entityTypeId", k.id)
	return out
}

// toNumber is a legacy id or amount as a JSON number; nil and "" stay
// null.
func toNumber(v any, integer bool) any {
	s, ok := scalarText(v)
	if !ok || strings.TrimSpace(s) == "" {
		return nil
	}
	if integer {
		if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
			return n
		}
	}
	if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
		return f
	}
	return v
}

// fromItem turns crm.item fields into legacy ones. Unknown fields are
// ignored, as Bitrix24 ignores them; fm is split into the multi-fields.
func fromItem(n *itemFieldNames, fields *Array) (*Array, error) {
	out := NewArray()
	if fields == nil {
		return out, nil
	}
	for _, key := range fields.Keys() {
		v, _ := fields.Get(key)
		if strings.EqualFold(strings.TrimSpace(key), "fm") {
			for i, it := range itemsOf(v) {
				a, ok := it.(*Array)
				if !ok {
					return nil, crmError("Field fm[%d]: must be an object with typeId, valueType and value", i)
				}
				get := func(k string) any { x, _ := lookupFold(a, k); return x }
				kind, _ := scalarText(get("typeId"))
				m := multiField(strings.ToUpper(strings.TrimSpace(kind)))
				if m == nil {
					return nil, crmError("Field fm[%d][typeId]: %q is not one of PHONE, EMAIL, WEB, IM", i, kind)
				}
				list, _ := out.Get(m.name)
				la, _ := list.(*Array)
				if la == nil {
					la = NewArray()
					out.Set(m.name, la)
				}
				row := NewArray().Set("VALUE", get("value")).Set("VALUE_TYPE", get("valueType"))
				if id := get("id"); id != nil {
					row.Set("ID", id)
				}
				la.Append(row)
			}
			continue
		}
		upper, ok := n.upper(key)
		if !ok {
			continue
		}
		if b, isBool := v.(bool); isBool {
			v = yn(b)
		}
		out.Set(upper, v)
	}
	return out, nil
}

// filterPrefixes are the operator prefixes of filter keys, longest first.
var filterPrefixes = func() []string {
	out := make([]string, 0, len(filterOps))
	for _, op := range filterOps {
		out = append(out, op.prefix)
	}
	return out
}()

func invalidArg(format string, args ...any) *Error {
	e := crmError(format, args...)
	e.Code = "INVALID_ARG_VALUE"
	return e
}

// fromItemFilter turns a crm.item filter into a legacy one: names mapped
// under their operator prefixes, nested levels and LOGIC kept. A field
// that does not exist is refused, as Bitrix24 refuses it.
func fromItemFilter(n *itemFieldNames, filter *Array) (*Array, error) {
	out := NewArray()
	if filter == nil {
		return out, nil
	}
	for _, key := range filter.Keys() {
		v, _ := filter.Get(key)
		if strings.EqualFold(strings.TrimSpace(key), "LOGIC") {
			out.Set("LOGIC", v)
			continue
		}
		if sub, ok := v.(*Array); ok && isFilterGroup(key, sub) {
			m, err := fromItemFilter(n, sub)
			if err != nil {
				return nil, err
			}
			out.Set(key, m)
			continue
		}
		k := strings.TrimSpace(key)
		prefix := ""
		for _, p := range filterPrefixes {
			if strings.HasPrefix(k, p) {
				prefix = p
				break
			}
		}
		name := strings.TrimSpace(k[len(prefix):])
		upper, ok := n.upper(name)
		if !ok {
			return nil, invalidArg("Invalid filter: field '%s' is not allowed in filter", name)
		}
		if b, isBool := v.(bool); isBool {
			v = yn(b)
		}
		out.Set(prefix+upper, v)
	}
	return out, nil
}

// fromItemOrder maps an order; an unknown field or direction is refused,
// as crm.item.list refuses them.
func fromItemOrder(n *itemFieldNames, order *Array) (*Array, error) {
	out := NewArray()
	if order == nil {
		return out, nil
	}
	for _, key := range order.Keys() {
		v, _ := order.Get(key)
		upper, ok := n.upper(key)
		if !ok {
			return nil, invalidArg("Invalid order: field '%s' is not allowed in order", key)
		}
		dir, _ := scalarText(v)
		if d := strings.ToUpper(strings.TrimSpace(dir)); d != "ASC" && d != "DESC" {
			return nil, invalidArg("Invalid order: allowed sort directions are ASC, DESC. But got '%s' for field '%s'", dir, key)
		}
		out.Set(upper, v)
	}
	return out, nil
}

// fromItemSelect maps a select; "*" (or none) is every standard field,
// the custom ones and the multi-fields (answered as fm).
func fromItemSelect(n *itemFieldNames, sel *Array) *Array {
	out := NewArray()
	all := sel == nil || sel.Len() == 0
	for _, v := range itemsOf(sel) {
		s, _ := scalarText(v)
		s = strings.TrimSpace(s)
		switch {
		case s == "*":
			all = true
		case strings.EqualFold(s, "UF_*") || s == "uf*" || s == "ufCrm*":
			out.Append("UF_*")
		default:
			if u, ok := n.upper(s); ok {
				out.Append(u)
			}
		}
	}
	if all {
		out.Append("*")
		out.Append("UF_*")
		for _, m := range multiFields {
			out.Append(m.name)
		}
	}
	return out
}

// itemError maps a record's absence to crm.item's NOT_FOUND.
func itemError(err error) error {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, errNotFound) {
		return &Error{Status: http.StatusBadRequest, Code: "NOT_FOUND", Description: "Element not found"}
	}
	var e *Error
	if errors.As(err, &e) && e.Description == errNotFound.Description && e.Code == "" {
		return &Error{Status: http.StatusBadRequest, Code: "NOT_FOUND", Description: "Element not found"}
	}
	return err
}

// itemCall is what every crm.item method starts with.
func (h *Handler) itemCall(ctx context.Context, c *call) (itemKind, *itemFieldNames, error) {
	k, err := h.itemKindOf(c)
	if err != nil {
		return k, nil, err
	}
	n, err := k.fieldNames(ctx)
	return k, n, err
}

func (h *Handler) itemReply(ctx context.Context, k itemKind, n *itemFieldNames, id int64) (reply, error) {
	rec, err := k.rec.getRecord(ctx, id)
	if err != nil {
		return reply{}, itemError(err)
	}
	return reply{result: NewArray().Set("item", k.toItem(n, rec))}, nil
}

func (h *Handler) itemAdd(ctx context.Context, c *call) (reply, error) {
	k, n, err := h.itemCall(ctx, c)
	if err != nil {
		return reply{}, err
	}
	raw, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	fields, err := fromItem(n, raw)
	if err != nil {
		return reply{}, err
	}
	id, err := k.rec.addRecord(ctx, c.actor(), fields)
	if err != nil {
		return reply{}, err
	}
	return h.itemReply(ctx, k, n, id)
}

func (h *Handler) itemGet(ctx context.Context, c *call) (reply, error) {
	k, n, err := h.itemCall(ctx, c)
	if err != nil {
		return reply{}, err
	}
	id, err := c.recordID()
	if err != nil {
		return reply{}, err
	}
	return h.itemReply(ctx, k, n, id)
}

func (h *Handler) itemUpdate(ctx context.Context, c *call) (reply, error) {
	k, n, err := h.itemCall(ctx, c)
	if err != nil {
		return reply{}, err
	}
	id, err := c.recordID()
	if err != nil {
		return reply{}, err
	}
	raw, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	fields, err := fromItem(n, raw)
	if err != nil {
		return reply{}, err
	}
	if err := k.rec.updateRecord(ctx, c.actor(), id, fields); err != nil {
		return reply{}, itemError(err)
	}
	return h.itemReply(ctx, k, n, id)
}

func (h *Handler) itemDelete(ctx context.Context, c *call) (reply, error) {
	k, _, err := h.itemCall(ctx, c)
	if err != nil {
		return reply{}, err
	}
	id, err := c.recordID()
	if err != nil {
		return reply{}, err
	}
	if _, err := k.rec.getRecord(ctx, id); err != nil {
		return reply{}, itemError(err)
	}
	if err := k.rec.deleteRecord(ctx, c.actor(), id); err != nil {
		return reply{}, itemError(err)
	}
	return reply{result: NewArray()}, nil
}

func (h *Handler) itemList(ctx context.Context, c *call) (reply, error) {
	k, n, err := h.itemCall(ctx, c)
	if err != nil {
		return reply{}, err
	}
	la, err := c.listArgs()
	if err != nil {
		return reply{}, err
	}
	if la.filter, err = fromItemFilter(n, la.filter); err != nil {
		return reply{}, err
	}
	if la.order, err = fromItemOrder(n, la.order); err != nil {
		return reply{}, err
	}
	la.sel = fromItemSelect(n, la.sel)
	recs, start, total, err := k.rec.listRecords(ctx, la)
	if err != nil {
		return reply{}, err
	}
	items := NewArray()
	for _, rec := range recs {
		items.Append(k.toItem(n, rec))
	}
	rep := listReply(NewArray(), start, total)
	rep.result = NewArray().Set("items", items)
	return rep, nil
}

func (h *Handler) itemFields(ctx context.Context, c *call) (reply, error) {
	_, n, err := h.itemCall(ctx, c)
	if err != nil {
		return reply{}, err
	}
	out := NewArray()
	for _, key := range n.desc.Keys() {
		d, _ := n.desc.Get(key)
		a, _ := d.(*Array)
		name, ok := n.toCamel[key]
		if !ok || a == nil {
			continue
		}
		f := NewArray()
		for _, k := range a.Keys() {
			v, _ := a.Get(k)
			f.Set(k, v)
		}
		out.Set(name, f.Set("upperName", key))
	}
	if _, ok := n.desc.Get("PHONE"); ok {
		out.Set("fm", NewArray().Set("type", "crm_multifield").Set("isRequired", false).Set("isReadOnly", false).
			Set("isImmutable", false).Set("isMultiple", true).Set("isDynamic", false).Set("title", "Multifields").Set("upperName", "FM"))
	}
	return reply{result: NewArray().Set("fields", out)}, nil
}

// registerItem adds the universal methods: crm.item.*, crm.item.productrow.*
// and the user-field methods of the four core entities.
func (h *Handler) registerItem(scopes []string) {
	h.methods["crm.item.add"] = method{scopes, h.itemAdd}
	h.methods["crm.item.get"] = method{scopes, h.itemGet}
	h.methods["crm.item.update"] = method{scopes, h.itemUpdate}
	h.methods["crm.item.delete"] = method{scopes, h.itemDelete}
	h.methods["crm.item.list"] = method{scopes, h.itemList}
	h.methods["crm.item.fields"] = method{scopes, h.itemFields}
	h.methods["crm.item.productrow.add"] = method{scopes, h.productRowAdd}
	h.methods["crm.item.productrow.get"] = method{scopes, h.productRowGet}
	h.methods["crm.item.productrow.update"] = method{scopes, h.productRowUpdate}
	h.methods["crm.item.productrow.delete"] = method{scopes, h.productRowDelete}
	h.methods["crm.item.productrow.list"] = method{scopes, h.productRowList}
	h.methods["crm.item.productrow.set"] = method{scopes, h.productRowSet}
	h.methods["crm.item.productrow.fields"] = method{scopes, h.productRowFields}
	h.registerUserFields(scopes)
}
