package bitrix

// crm.{lead,deal,contact,company}.userfield.{add,get,list,update,delete}
// (b24restdocs api-reference/crm/*/user-defined-fields) over Obmen's
// custom fields, so that an integration can make the UF_CRM_* fields it
// needs on install. Bitrix24's user types map onto Obmen's types: integer
// and double are numbers, boolean a flag, date a date, enumeration a
// list of options (LIST), and datetime, money, url, address and file (a
// link) are text; the user type asked for is kept and answered back.

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// userTypes maps Bitrix24's USER_TYPE_ID to Obmen's custom field type.
var userTypes = map[string]string{
	"string": "string", "integer": "number", "double": "number", "boolean": "bool", "date": "date",
	"datetime": "string", "enumeration": "enum", "money": "string", "url": "string", "address": "string",
	"file": "string", "resourcebooking": "booking",
}

// obmenUserTypes is the user type answered for a field made in Obmen.
var obmenUserTypes = map[string]string{"string": "string", "text": "string", "number": "double", "date": "date",
	"bool": "boolean", "enum": "enumeration", "booking": "resourcebooking"}

// userFieldEntity is ENTITY_ID of an entity's fields.
var userFieldEntity = map[string]string{store.EntityLead: "CRM_LEAD", store.EntityDeal: "CRM_DEAL",
	store.EntityContact: "CRM_CONTACT", store.EntityAccount: "CRM_COMPANY"}

func userTypeOf(f crm.CustomField) string {
	if f.UserType != "" {
		return f.UserType
	}
	return obmenUserTypes[f.Type]
}

// renderUserField answers a field as crm.*.userfield.list does (labels
// as texts); get answers them per language (renderUserFieldLangs).
func renderUserField(f crm.CustomField) *Array {
	label := f.Label
	if label == "" {
		label = f.Code
	}
	ut := userTypeOf(f)
	settings := NewArray()
	switch ut {
	case "string", "url", "money", "address", "file", "datetime":
		settings.Set("SIZE", 20).Set("ROWS", 1).Set("REGEXP", "").Set("MIN_LENGTH", 0).Set("MAX_LENGTH", 0).Set("DEFAULT_VALUE", "")
	case "enumeration":
		settings.Set("DISPLAY", "LIST").Set("LIST_HEIGHT", 1).Set("CAPTION_NO_VALUE", "").Set("SHOW_NO_VALUE", "Y")
	case "boolean":
		settings.Set("DEFAULT_VALUE", 0).Set("DISPLAY", "CHECKBOX")
	}
	out := NewArray().Set("ID", strconv.FormatInt(f.ID, 10)).Set("ENTITY_ID", userFieldEntity[f.Entity]).
		Set("FIELD_NAME", f.Code).Set("USER_TYPE_ID", ut).Set("XML_ID", nil).Set("SORT", strconv.Itoa(f.Sort)).
		Set("MULTIPLE", "N").Set("MANDATORY", yn(f.Required)).Set("SHOW_FILTER", "E").Set("SHOW_IN_LIST", "Y").
		Set("EDIT_IN_LIST", "Y").Set("IS_SEARCHABLE", "N").Set("SETTINGS", settings).
		Set("EDIT_FORM_LABEL", label).Set("LIST_COLUMN_LABEL", label).Set("LIST_FILTER_LABEL", label).
		Set("ERROR_MESSAGE", nil).Set("HELP_MESSAGE", nil)
	if f.Type == "enum" {
		list := NewArray()
		for i, o := range f.Options {
			// Obmen's enum values are their texts: the text is the ID.
			list.Append(NewArray().Set("ID", o).Set("SORT", strconv.Itoa((i+1)*10)).Set("VALUE", o).Set("DEF", "N").Set("XML_ID", o))
		}
		out.Set("LIST", list)
	}
	return out
}

// labelOf reads EDIT_FORM_LABEL (or LIST_COLUMN_LABEL, LABEL): a text, or
// one per language, Russian first, then English, then any.
func labelOf(fields *Array) string {
	for _, k := range []string{"EDIT_FORM_LABEL", "LIST_COLUMN_LABEL", "LIST_FILTER_LABEL", "LABEL"} {
		v, ok := lookupFold(fields, k)
		if !ok {
			continue
		}
		if s, ok := scalarText(v); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
		if a, ok := v.(*Array); ok {
			for _, lang := range []string{"ru", "en"} {
				if x, ok := a.Get(lang); ok {
					if s, _ := scalarText(x); strings.TrimSpace(s) != "" {
						return strings.TrimSpace(s)
					}
				}
			}
			for _, x := range a.Values() {
				if s, _ := scalarText(x); strings.TrimSpace(s) != "" {
					return strings.TrimSpace(s)
				}
			}
		}
	}
	return ""
}

// applyUserField writes the fields of a userfield call into f; LIST
// items with DEL=Y are removed, the others added or renamed (by ID,
// which is the text).
func applyUserField(f *crm.CustomField, fields *Array) error {
	if l := labelOf(fields); l != "" {
		f.Label = l
	}
	if v, ok := lookupFold(fields, "MANDATORY"); ok {
		f.Required = truthy(v)
	}
	if v, ok := lookupFold(fields, "SORT"); ok {
		n, err := parseInt("SORT", v)
		if err != nil {
			return err
		}
		f.Sort = int(n)
	}
	if v, ok := lookupFold(fields, "MULTIPLE"); ok && truthy(v) {
		return crmError("Field MULTIPLE: Obmen's custom fields hold one value")
	}
	list, ok := lookupFold(fields, "LIST")
	if !ok {
		return nil
	}
	if f.Type != "enum" {
		return crmError("Field LIST: only an enumeration field has a list")
	}
	opts := append([]string(nil), f.Options...)
	for i, raw := range itemsOf(list) {
		it, ok := raw.(*Array)
		if !ok {
			return crmError("Field LIST[%d]: must be an item with VALUE", i)
		}
		text := func(k string) string { v, _ := lookupFold(it, k); s, _ := scalarText(v); return strings.TrimSpace(s) }
		value, id, del := text("VALUE"), text("ID"), truthy(text("DEL"))
		at := -1
		for j, o := range opts {
			if id != "" && o == id {
				at = j
			}
		}
		switch {
		case del && at >= 0:
			opts = append(opts[:at], opts[at+1:]...)
		case del:
		case at >= 0 && value != "":
			opts[at] = value
		case value != "" && !contains(opts, value):
			opts = append(opts, value)
		}
	}
	f.Options = opts
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// portalLanguages are the languages of a Bitrix24 portal's labels.
var portalLanguages = []string{"ar", "br", "de", "en", "fr", "hi", "id", "in", "it", "ja", "kz", "la", "ms", "pl", "ru", "sc", "tc", "th", "tr", "ua", "vn"}

// userFields serves one entity's crm.{name}.userfield.* methods.
type userFields struct {
	h      *Handler
	entity string
}

func (u userFields) find(ctx context.Context, c *call) (crm.CustomField, error) {
	id, err := c.recordID()
	if err != nil {
		return crm.CustomField{}, err
	}
	defs, err := u.h.store.CustomFields(ctx, u.entity)
	if err != nil {
		return crm.CustomField{}, err
	}
	for _, d := range defs {
		if d.ID == id {
			return d, nil
		}
	}
	return crm.CustomField{}, crmError("The entity with ID '%d' is not found.", id)
}

// userFieldsChange refuses a change of the user fields — a setting of
// the whole CRM, as the REST API's custom fields — to all but the users
// the authorization table lets change dictionaries (administrators), as
// Bitrix24 does.
func userFieldsChange(c *call) error {
	if !authz.Can(c.user, authz.Dictionaries, authz.Write) {
		return errCRMAccessDenied
	}
	return nil
}

func (u userFields) add(ctx context.Context, c *call) (reply, error) {
	if err := userFieldsChange(c); err != nil {
		return reply{}, err
	}
	fields, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	fields = orEmpty(fields)
	text := func(k string) string {
		v, _ := lookupFold(fields, k)
		s, _ := scalarText(v)
		return strings.TrimSpace(s)
	}
	name := strings.ToUpper(text("FIELD_NAME"))
	if name == "" {
		return reply{}, crmError("Field FIELD_NAME: required")
	}
	ut := strings.ToLower(text("USER_TYPE_ID"))
	if ut == "" {
		ut = "string"
	}
	typ, ok := userTypes[ut]
	if !ok {
		return reply{}, crmError("Field USER_TYPE_ID: %q is not one of string, integer, double, boolean, date, datetime, enumeration, money, url, address, file, resourcebooking", ut)
	}
	f := crm.CustomField{Entity: u.entity, Code: name, Type: typ, UserType: ut, Sort: 100, Options: []string{}}
	if err := applyUserField(&f, fields); err != nil {
		return reply{}, err
	}
	if typ == "enum" && len(f.Options) == 0 {
		return reply{}, crmError("Field LIST: an enumeration field needs at least one item")
	}
	created, err := u.h.store.CreateCustomField(ctx, c.actor(), f)
	if err != nil {
		if fe, ok := crm.AsFieldError(err); ok {
			return reply{}, crmError("Field %s: %s", map[string]string{"code": "FIELD_NAME", "type": "USER_TYPE_ID", "options": "LIST"}[fe.Field]+"", fe.Message)
		}
		return reply{}, err
	}
	return reply{result: created.ID}, nil
}

func (u userFields) get(ctx context.Context, c *call) (reply, error) {
	f, err := u.find(ctx, c)
	if err != nil {
		return reply{}, err
	}
	out := renderUserField(f)
	// One label in Obmen: Russian and English have it, the portal's
	// other languages are empty, as Bitrix24 answers untranslated ones.
	for _, k := range []string{"EDIT_FORM_LABEL", "LIST_COLUMN_LABEL", "LIST_FILTER_LABEL"} {
		v, _ := out.Get(k)
		langs := NewArray()
		for _, lang := range portalLanguages {
			if lang == "ru" || lang == "en" {
				langs.Set(lang, v)
			} else {
				langs.Set(lang, "")
			}
		}
		out.Set(k, langs)
	}
	return reply{result: out}, nil
}

func (u userFields) list(ctx context.Context, c *call) (reply, error) {
	filter, err := c.paramArray("filter")
	if err != nil {
		return reply{}, err
	}
	defs, err := u.h.store.CustomFields(ctx, u.entity)
	if err != nil {
		return reply{}, err
	}
	out := NewArray()
	for _, d := range defs {
		r := renderUserField(d)
		keep := true
		for _, k := range orEmpty(filter).Keys() {
			want, _ := filter.Get(k)
			ws, _ := scalarText(want)
			got, _ := r.Get(strings.ToUpper(strings.TrimSpace(k)))
			gs, _ := scalarText(got)
			if k == "LANG" || strings.EqualFold(k, "LANG") {
				continue
			}
			if !strings.EqualFold(gs, strings.TrimSpace(ws)) {
				keep = false
			}
		}
		if keep {
			out.Append(r)
		}
	}
	total := int64(out.Len())
	return reply{result: out, total: &total}, nil
}

func (u userFields) update(ctx context.Context, c *call) (reply, error) {
	if err := userFieldsChange(c); err != nil {
		return reply{}, err
	}
	f, err := u.find(ctx, c)
	if err != nil {
		return reply{}, err
	}
	fields, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	if _, err := u.h.store.UpdateCustomField(ctx, c.actor(), f.ID, func(cf *crm.CustomField) error {
		return applyUserField(cf, orEmpty(fields))
	}); err != nil {
		return reply{}, err
	}
	return reply{result: true}, nil
}

func (u userFields) delete(ctx context.Context, c *call) (reply, error) {
	if err := userFieldsChange(c); err != nil {
		return reply{}, err
	}
	f, err := u.find(ctx, c)
	if err != nil {
		return reply{}, err
	}
	if err := u.h.store.DeleteCustomField(ctx, c.actor(), f.ID); err != nil {
		return reply{}, fmt.Errorf("bitrix: delete user field %s: %w", f.Code, err)
	}
	return reply{result: true}, nil
}

// registerUserFields adds crm.{lead,deal,contact,company}.userfield.*.
func (h *Handler) registerUserFields(scopes []string) {
	for name, entity := range map[string]string{"lead": store.EntityLead, "deal": store.EntityDeal,
		"contact": store.EntityContact, "company": store.EntityAccount} {
		u := userFields{h: h, entity: entity}
		prefix := "crm." + name + ".userfield."
		h.methods[prefix+"add"] = method{scopes, u.add}
		h.methods[prefix+"get"] = method{scopes, u.get}
		h.methods[prefix+"list"] = method{scopes, u.list}
		h.methods[prefix+"update"] = method{scopes, u.update}
		h.methods[prefix+"delete"] = method{scopes, u.delete}
	}
}
