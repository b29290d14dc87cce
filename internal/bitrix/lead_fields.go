package bitrix

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// leadField is one field of Bitrix24's lead as Obmen serves it: how it is
// described (crm.lead.fields), answered, written, filtered and sorted.
type leadField struct {
	name       string
	typ        string
	title      string
	readOnly   bool
	statusType string
	// out answers the field; in writes it (nil: read-only, ignored on
	// write as Bitrix24 ignores read-only fields).
	out func(v *leadView, r *leadRow) any
	in  func(l *crm.Lead, val any, name string) error
	// col is the leads column to filter and sort on ("" for none), kind
	// how its values are read; json is Obmen's JSON name of the field,
	// which field errors from the store carry.
	col, kind, json string
}

// Filter kinds.
const (
	kText   = "text"
	kInt    = "int"
	kAmount = "amount"
	kTime   = "time"
	kDate   = "date"
	kCode   = "code" // text compared exactly: status ids, currencies
)

// leadRow is a lead with what list answers need beyond crm.Lead.
type leadRow struct {
	crm.Lead
	hasRows bool // product rows exist: the amount is computed from them
}

// leadView holds what answering a lead needs besides the lead.
type leadView struct {
	loc       *time.Location
	semantics map[string]string // lead status → S, F or ""
	defs      []crm.CustomField
}

func text(get func(l *crm.Lead) *string) (func(*leadView, *leadRow) any, func(*crm.Lead, any, string) error) {
	out := func(_ *leadView, r *leadRow) any { return nullText(*get(&r.Lead)) }
	in := func(l *crm.Lead, v any, name string) error {
		s, ok := scalarText(v)
		if !ok {
			return crmError("Field %s: must be a string", name)
		}
		*get(l) = s
		return nil
	}
	return out, in
}

func textField(name, title, col, jsonName string, get func(l *crm.Lead) *string) leadField {
	out, in := text(get)
	return leadField{name: name, typ: "string", title: title, out: out, in: in, col: col, kind: kText, json: jsonName}
}

func statusField(name, title, statusType, col, jsonName string, get func(l *crm.Lead) *string) leadField {
	f := textField(name, title, col, jsonName, get)
	f.typ, f.statusType, f.kind = "crm_status", statusType, kCode
	return f
}

func readOnly(name, typ, title string, out func(v *leadView, r *leadRow) any) leadField {
	return leadField{name: name, typ: typ, title: title, readOnly: true, out: out}
}

// leadFields are in the order Bitrix24 answers crm.lead.get.
var leadFields = []leadField{
	{name: "ID", typ: "integer", title: "ID", readOnly: true, col: "id", kind: kInt, json: "id",
		out: func(_ *leadView, r *leadRow) any { return strconv.FormatInt(r.ID, 10) }},
	textField("TITLE", "Lead Title", "title", "title", func(l *crm.Lead) *string { return &l.Title }),
	statusField("HONORIFIC", "Salutation", "HONORIFIC", "honorific", "honorific", func(l *crm.Lead) *string { return &l.Honorific }),
	textField("NAME", "First Name", "name", "name", func(l *crm.Lead) *string { return &l.Name }),
	textField("SECOND_NAME", "Middle Name", "second_name", "second_name", func(l *crm.Lead) *string { return &l.SecondName }),
	textField("LAST_NAME", "Last Name", "last_name", "last_name", func(l *crm.Lead) *string { return &l.LastName }),
	textField("COMPANY_TITLE", "Company Name", "company_title", "company_title", func(l *crm.Lead) *string { return &l.CompanyTitle }),
	// Obmen links a lead to a contact and a company only by converting it.
	{name: "COMPANY_ID", typ: "crm_company", title: "Company", readOnly: true, col: "account_id", kind: kInt, json: "account_id",
		out: func(_ *leadView, r *leadRow) any { return idText(r.AccountID) }},
	{name: "CONTACT_ID", typ: "crm_contact", title: "Contact", readOnly: true, col: "contact_id", kind: kInt, json: "contact_id",
		out: func(_ *leadView, r *leadRow) any { return idText(r.ContactID) }},
	readOnly("IS_RETURN_CUSTOMER", "char", "Returning Lead", func(_ *leadView, r *leadRow) any { return yn(r.ContactID != 0 || r.AccountID != 0) }),
	{name: "BIRTHDATE", typ: "date", title: "Birthdate", col: "birthdate", kind: kDate, json: "birthdate",
		out: func(v *leadView, r *leadRow) any { return bitrixDate(r.Birthdate, v.loc) },
		in: func(l *crm.Lead, val any, name string) error {
			s, ok := scalarText(val)
			if !ok {
				return crmError("Field %s: must be a date", name)
			}
			if s = strings.TrimSpace(s); s == "" {
				l.Birthdate = ""
				return nil
			}
			t, ok := parseBitrixTime(s, time.UTC)
			if !ok {
				return crmError("Field %s: %q is not a date", name, s)
			}
			l.Birthdate = t.Format(time.DateOnly)
			return nil
		}},
	statusField("SOURCE_ID", "Source", "SOURCE", "source_id", "source_id", func(l *crm.Lead) *string { return &l.SourceID }),
	textField("SOURCE_DESCRIPTION", "Source Description", "source_description", "source_description", func(l *crm.Lead) *string { return &l.SourceDescription }),
	statusField("STATUS_ID", "Stage", "STATUS", "status_id", "status_id", func(l *crm.Lead) *string { return &l.StatusID }),
	textField("STATUS_DESCRIPTION", "Stage Description", "status_description", "status_description", func(l *crm.Lead) *string { return &l.StatusDescription }),
	textField("POST", "Position", "position", "position", func(l *crm.Lead) *string { return &l.Position }),
	textField("COMMENTS", "Comments", "comments", "comments", func(l *crm.Lead) *string { return &l.Comments }),
	func() leadField {
		f := textField("CURRENCY_ID", "Currency", "currency", "currency", func(l *crm.Lead) *string { return &l.Currency })
		f.typ, f.kind = "crm_currency", kCode
		return f
	}(),
	{name: "OPPORTUNITY", typ: "double", title: "Amount", col: "opportunity", kind: kAmount, json: "opportunity",
		out: func(_ *leadView, r *leadRow) any { return r.Opportunity.String() },
		in: func(l *crm.Lead, val any, name string) error {
			a, err := parseMoney(name, val)
			l.Opportunity = a
			return err
		}},
	readOnly("IS_MANUAL_OPPORTUNITY", "char", "IS_MANUAL_OPPORTUNITY", func(_ *leadView, r *leadRow) any { return yn(!r.hasRows) }),
	readOnly("HAS_PHONE", "char", "Phone Provided", func(_ *leadView, r *leadRow) any { return yn(len(r.Phones) > 0) }),
	readOnly("HAS_EMAIL", "char", "Email Provided", func(_ *leadView, r *leadRow) any { return yn(len(r.Emails) > 0) }),
	readOnly("HAS_IMOL", "char", "Open Line Assigned", func(_ *leadView, r *leadRow) any {
		for _, im := range r.IMs {
			if im.ValueType == "IMOL" || im.ValueType == "OPENLINE" {
				return "Y"
			}
		}
		return "N"
	}),
	{name: "ASSIGNED_BY_ID", typ: "user", title: "Responsible User", col: "assigned_by_id", kind: kInt, json: "assigned_by_id",
		out: func(_ *leadView, r *leadRow) any { return idText(r.AssignedByID) },
		in: func(l *crm.Lead, val any, name string) error {
			n, err := parseInt(name, val)
			if err == nil && n < 0 {
				err = crmError("Field %s: %d is not a user id", name, n)
			}
			l.AssignedByID = n
			return err
		}},
	{name: "CREATED_BY_ID", typ: "user", title: "Created By", readOnly: true, col: "created_by_id", kind: kInt, json: "created_by_id",
		out: func(_ *leadView, r *leadRow) any { return idText(r.CreatedByID) }},
	{name: "MODIFY_BY_ID", typ: "user", title: "Modified By", readOnly: true, col: "updated_by_id", kind: kInt, json: "updated_by_id",
		out: func(_ *leadView, r *leadRow) any { return idText(r.UpdatedByID) }},
	{name: "DATE_CREATE", typ: "datetime", title: "Creation Date", readOnly: true, col: "created_at", kind: kTime, json: "created_at",
		out: func(v *leadView, r *leadRow) any { return bitrixTime(r.CreatedAt, v.loc) }},
	{name: "DATE_MODIFY", typ: "datetime", title: "Modification Date", readOnly: true, col: "updated_at", kind: kTime, json: "updated_at",
		out: func(v *leadView, r *leadRow) any { return bitrixTime(r.UpdatedAt, v.loc) }},
	{name: "DATE_CLOSED", typ: "datetime", title: "Closing Date", readOnly: true, col: "converted_at", kind: kTime, json: "converted_at",
		out: func(v *leadView, r *leadRow) any {
			if r.ConvertedAt == nil {
				return ""
			}
			return bitrixTime(*r.ConvertedAt, v.loc)
		}},
	readOnly("STATUS_SEMANTIC_ID", "string", "Status Semantic", func(v *leadView, r *leadRow) any {
		if s := v.semantics[r.StatusID]; s != "" {
			return s
		}
		return "P"
	}),
	// Every Obmen lead is visible to every user.
	{name: "OPENED", typ: "char", title: "Available to All", out: func(*leadView, *leadRow) any { return "Y" },
		in: func(*crm.Lead, any, string) error { return nil }},
	// The lead's id in another system: Obmen's external ids, the first by
	// system name.
	{name: "ORIGINATOR_ID", typ: "string", title: "External Source", col: "system", kind: kCode,
		out: func(_ *leadView, r *leadRow) any { sys, _ := firstExternal(r.ExternalIDs); return nullText(sys) }},
	{name: "ORIGIN_ID", typ: "string", title: "Identifier in External Source", col: "external_id", kind: kCode,
		out: func(_ *leadView, r *leadRow) any { _, id := firstExternal(r.ExternalIDs); return nullText(id) }},
	// Obmen does not record who moved a lead between statuses; the last
	// change stands in.
	readOnly("MOVED_BY_ID", "user", "MOVED_BY_ID", func(_ *leadView, r *leadRow) any { return idText(r.UpdatedByID) }),
	readOnly("MOVED_TIME", "datetime", "MOVED_TIME", func(v *leadView, r *leadRow) any { return bitrixTime(r.UpdatedAt, v.loc) }),
	addressField("ADDRESS", "Address", func(a *crm.Address) *string { return &a.Street }),
	addressField("ADDRESS_2", "Address (Line 2)", func(a *crm.Address) *string { return &a.Flat }),
	addressField("ADDRESS_CITY", "City", func(a *crm.Address) *string { return &a.City }),
	addressField("ADDRESS_POSTAL_CODE", "Postal Code", func(a *crm.Address) *string { return &a.Postcode }),
	// Bitrix24's region is a district below the province; Obmen's region
	// is the province (oblast, krai).
	addressField("ADDRESS_REGION", "Region", nil),
	addressField("ADDRESS_PROVINCE", "Province", func(a *crm.Address) *string { return &a.Region }),
	addressField("ADDRESS_COUNTRY", "Country", func(a *crm.Address) *string { return &a.Country }),
	addressField("ADDRESS_COUNTRY_CODE", "Country Code", nil),
	readOnly("ADDRESS_LOC_ADDR_ID", "integer", "Location Address ID", func(*leadView, *leadRow) any { return nil }),
	textField("UTM_SOURCE", "Advertising System", "utm_source", "utm_source", func(l *crm.Lead) *string { return &l.UTMSource }),
	textField("UTM_MEDIUM", "Traffic Type", "utm_medium", "utm_medium", func(l *crm.Lead) *string { return &l.UTMMedium }),
	textField("UTM_CAMPAIGN", "Campaign Identifier", "utm_campaign", "utm_campaign", func(l *crm.Lead) *string { return &l.UTMCampaign }),
	textField("UTM_CONTENT", "Campaign Content", "utm_content", "utm_content", func(l *crm.Lead) *string { return &l.UTMContent }),
	textField("UTM_TERM", "Campaign Search Term", "utm_term", "utm_term", func(l *crm.Lead) *string { return &l.UTMTerm }),
	readOnly("LAST_ACTIVITY_BY", "user", "LAST_ACTIVITY_BY", func(_ *leadView, r *leadRow) any { return idText(r.UpdatedByID) }),
	readOnly("LAST_ACTIVITY_TIME", "datetime", "LAST_ACTIVITY_TIME", func(v *leadView, r *leadRow) any { return bitrixTime(r.UpdatedAt, v.loc) }),
}

// addressField maps a Bitrix24 address part to Obmen's address; get nil
// marks a part Obmen does not keep (answered null, ignored on write).
func addressField(name, title string, get func(a *crm.Address) *string) leadField {
	f := leadField{name: name, typ: "string", title: title, json: "address"}
	if get == nil {
		f.out = func(*leadView, *leadRow) any { return nil }
		f.in = func(*crm.Lead, any, string) error { return nil }
		return f
	}
	f.out = func(_ *leadView, r *leadRow) any {
		a := r.Address
		v := *get(&a)
		if name == "ADDRESS" && a.House != "" {
			v = strings.TrimSpace(strings.Join([]string{v, a.House}, ", "))
		}
		return nullText(v)
	}
	f.in = func(l *crm.Lead, val any, field string) error {
		s, ok := scalarText(val)
		if !ok {
			return crmError("Field %s: must be a string", field)
		}
		*get(&l.Address) = strings.TrimSpace(s)
		if name == "ADDRESS" {
			l.Address.House = "" // the line as sent holds the house
		}
		return nil
	}
	return f
}

func firstExternal(ext map[string]string) (string, string) {
	systems := make([]string, 0, len(ext))
	for k := range ext {
		systems = append(systems, k)
	}
	sort.Strings(systems)
	if len(systems) == 0 {
		return "", ""
	}
	return systems[0], ext[systems[0]]
}

// multiFieldDef is a Bitrix24 multi-field with Obmen's kind and JSON name.
type multiFieldDef struct {
	name, title, json string
	items             func(c *crm.Comms) *[]crm.Comm
}

var multiFields = []multiFieldDef{
	{crm.KindPhone, "Phone", "phones", func(c *crm.Comms) *[]crm.Comm { return &c.Phones }},
	{crm.KindEmail, "E-mail", "emails", func(c *crm.Comms) *[]crm.Comm { return &c.Emails }},
	{crm.KindWeb, "Website", "webs", func(c *crm.Comms) *[]crm.Comm { return &c.Webs }},
	{crm.KindIM, "Messenger", "ims", func(c *crm.Comms) *[]crm.Comm { return &c.IMs }},
}

var leadFieldByName = func() map[string]*leadField {
	m := map[string]*leadField{}
	for i := range leadFields {
		m[leadFields[i].name] = &leadFields[i]
	}
	return m
}()

// leadFieldName turns a field path from Obmen's validation (JSON names:
// "phones[1].value", "status_id", "custom.UF_CRM_X") into Bitrix24's
// ("PHONE[1][VALUE]", "STATUS_ID", "UF_CRM_X").
func leadFieldName(path string) string {
	if code, ok := strings.CutPrefix(path, "custom."); ok {
		return code
	}
	if strings.HasPrefix(path, "external_ids") {
		return "ORIGIN_ID"
	}
	head, rest := path, ""
	if i := strings.IndexAny(path, "[."); i >= 0 {
		head, rest = path[:i], path[i:]
	}
	name := strings.ToUpper(head)
	for _, f := range leadFields {
		if f.json == head && f.json != "address" {
			name = f.name
		}
	}
	for _, m := range multiFields {
		if m.json == head {
			name = m.name
		}
	}
	var b strings.Builder
	b.WriteString(name)
	for rest != "" {
		switch rest[0] {
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				b.WriteString(rest)
				return b.String()
			}
			b.WriteString(rest[:end+1])
			rest = rest[end+1:]
		case '.':
			seg := rest[1:]
			if i := strings.IndexAny(seg, "[."); i >= 0 {
				seg, rest = seg[:i], seg[i:]
			} else {
				rest = ""
			}
			b.WriteString("[" + strings.ToUpper(seg) + "]")
		default:
			b.WriteString(rest)
			rest = ""
		}
	}
	return b.String()
}

// applyLeadFields writes Bitrix24 fields into l. On update (creating
// false) multi-fields follow Bitrix24: an item with the ID of one of the
// lead's items changes it, or deletes it when its VALUE is empty; an item
// without ID is added; items not sent stay. Unknown and read-only fields
// are ignored, as Bitrix24 ignores them; so are UF_ fields that are not
// declared.
func applyLeadFields(l *crm.Lead, fields *Array, defs []crm.CustomField, creating bool) error {
	var originator, origin *string
	for _, key := range fields.Keys() {
		val, _ := fields.Get(key)
		name := strings.ToUpper(strings.TrimSpace(key))
		if strings.HasPrefix(name, "UF_") {
			if err := applyCustom(&l.Custom, name, val, defs); err != nil {
				return err
			}
			continue
		}
		switch name {
		case "ORIGINATOR_ID", "ORIGIN_ID":
			s, ok := scalarText(val)
			if !ok {
				return crmError("Field %s: must be a string", name)
			}
			s = strings.TrimSpace(s)
			if name == "ORIGINATOR_ID" {
				originator = &s
			} else {
				origin = &s
			}
			continue
		}
		if m := multiField(name); m != nil {
			if err := applyComms(name, m.items(&l.Comms), val, creating); err != nil {
				return err
			}
			continue
		}
		if f := leadFieldByName[name]; f != nil && f.in != nil {
			if err := f.in(l, val, name); err != nil {
				return err
			}
		}
	}
	if originator != nil || origin != nil {
		applyOrigin(&l.Extra, originator, origin)
	}
	return nil
}

// applyOrigin keeps ORIGINATOR_ID/ORIGIN_ID as the lead's id in an
// external system.
func applyOrigin(l *crm.Extra, originator, origin *string) {
	if l.ExternalIDs == nil {
		l.ExternalIDs = map[string]string{}
	}
	sys, id := firstExternal(l.ExternalIDs)
	if originator != nil {
		if *originator != sys && sys != "" {
			delete(l.ExternalIDs, sys)
		}
		sys = *originator
	}
	if origin != nil {
		id = *origin
	}
	if sys == "" {
		sys = "origin"
	}
	if id == "" {
		delete(l.ExternalIDs, sys)
		return
	}
	l.ExternalIDs[sys] = id
}

func multiField(name string) *multiFieldDef {
	for i := range multiFields {
		if multiFields[i].name == name {
			return &multiFields[i]
		}
	}
	return nil
}

// applyComms merges multi-field items into items.
func applyComms(field string, items *[]crm.Comm, val any, creating bool) error {
	if val == nil {
		return nil
	}
	arr, ok := val.(*Array)
	if !ok {
		if s, _ := scalarText(val); s == "" {
			return nil
		}
		return crmError("Field %s: must be a list of items with VALUE and VALUE_TYPE", field)
	}
	cur := *items
	if creating {
		cur = nil
	}
	for _, key := range arr.Keys() {
		raw, _ := arr.Get(key)
		name := fmt.Sprintf("%s[%s]", field, key)
		it, ok := raw.(*Array)
		if !ok {
			return crmError("Field %s: must be an item with VALUE and VALUE_TYPE", name)
		}
		get := func(k string) (string, error) {
			v, _ := lookupFold(it, k)
			s, ok := scalarText(v)
			if !ok {
				return "", crmError("Field %s[%s]: must be a string", name, k)
			}
			return strings.TrimSpace(s), nil
		}
		value, err := get("VALUE")
		if err != nil {
			return err
		}
		valueType, err := get("VALUE_TYPE")
		if err != nil {
			return err
		}
		idText, err := get("ID")
		if err != nil {
			return err
		}
		if value != "" {
			if err := checkComm(field, name, value, valueType); err != nil {
				return err
			}
		}
		id, _ := strconv.ParseInt(idText, 10, 64)
		if i := commIndex(cur, id); id > 0 && i >= 0 {
			if value == "" {
				cur = append(cur[:i], cur[i+1:]...)
				continue
			}
			cur[i].Value = value
			if valueType != "" {
				cur[i].ValueType = valueType
			}
			continue
		}
		if value != "" {
			cur = append(cur, crm.Comm{Value: value, ValueType: valueType})
		}
	}
	if cur == nil {
		cur = []crm.Comm{}
	}
	*items = cur
	return nil
}

func commIndex(items []crm.Comm, id int64) int {
	for i, it := range items {
		if it.ID == id {
			return i
		}
	}
	return -1
}

// checkComm validates one item as the store will, so that the error names
// the item as the client sent it (PHONE[n0][VALUE]) rather than its place
// in the merged list.
func checkComm(field, name, value, valueType string) error {
	var c crm.Comms
	*multiField(field).items(&c) = []crm.Comm{{Value: value, ValueType: valueType}}
	if err := c.Normalize(); err != nil {
		if fe, ok := crm.AsFieldError(err); ok {
			part := fe.Field[strings.LastIndexByte(fe.Field, '.')+1:]
			return crmError("Field %s[%s]: %s", name, strings.ToUpper(part), fe.Message)
		}
		return err
	}
	return nil
}

func lookupFold(a *Array, key string) (any, bool) {
	if v, ok := a.Get(key); ok {
		return v, true
	}
	for _, k := range a.Keys() {
		if strings.EqualFold(k, key) {
			return a.Get(k)
		}
	}
	return nil, false
}

// applyCustom writes a UF_ field. An empty value clears it.
func applyCustom(custom *map[string]any, code string, val any, defs []crm.CustomField) error {
	var def *crm.CustomField
	for i := range defs {
		if defs[i].Code == code {
			def = &defs[i]
		}
	}
	if def == nil {
		return nil
	}
	if *custom == nil {
		*custom = map[string]any{}
	}
	l := struct{ Custom map[string]any }{*custom}
	if a, ok := val.(*Array); ok {
		vals := a.Values()
		switch len(vals) {
		case 0:
			val = nil
		case 1:
			val = vals[0]
		default:
			return crmError("Field %s: takes one value", code)
		}
	}
	s, ok := scalarText(val)
	if !ok {
		return crmError("Field %s: must be a single value", code)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		delete(l.Custom, code)
		return nil
	}
	switch def.Type {
	case "date":
		t, ok := parseBitrixTime(s, time.UTC)
		if !ok {
			return crmError("Field %s: %q is not a date", code, s)
		}
		s = t.Format(time.DateOnly)
	case "number":
		l.Custom[code] = json.Number(strings.ReplaceAll(s, ",", "."))
		return nil
	}
	l.Custom[code] = s
	return nil
}

// customOut answers a custom value in Bitrix24's types.
func customOut(def crm.CustomField, v any, loc *time.Location) any {
	if v == nil {
		return nil
	}
	if def.Type == "date" {
		if s, ok := v.(string); ok {
			return bitrixDate(s, loc)
		}
	}
	return v
}

// render answers a lead with the fields sel selects.
func (v *leadView) render(r *leadRow, sel *selection) *Array {
	out := NewArray()
	for i := range leadFields {
		f := &leadFields[i]
		if f.name == "ID" || sel.has(f.name) {
			out.Set(f.name, f.out(v, r))
		}
	}
	for _, d := range v.defs {
		if sel.hasCustom(d.Code) {
			out.Set(d.Code, customOut(d, r.Custom[d.Code], v.loc))
		}
	}
	for _, m := range multiFields {
		items := *m.items(&r.Comms)
		if !sel.hasMulti(m.name) || len(items) == 0 {
			continue
		}
		list := NewArray()
		for _, it := range items {
			list.Append(NewArray().Set("ID", strconv.FormatInt(it.ID, 10)).Set("VALUE_TYPE", it.ValueType).
				Set("VALUE", it.Value).Set("TYPE_ID", m.name))
		}
		out.Set(m.name, list)
	}
	return out
}

// selection is what a list's select asks for: "*" (the standard fields),
// "UF_*" (all custom fields) and names, multi-fields only by name.
type selection struct {
	all, uf, multi bool
	names          map[string]bool
}

// everything is what crm.lead.get answers.
var everything = &selection{all: true, uf: true, multi: true}

func (s *selection) has(name string) bool { return s.all || s.names[name] }

func (s *selection) hasCustom(code string) bool { return s.uf || s.names[code] }

func (s *selection) hasMulti(name string) bool { return s.multi || s.names[name] }

// parseSelect reads a list's select; none or empty is "*".
func parseSelect(a *Array) *selection {
	s := &selection{names: map[string]bool{}}
	for _, v := range itemsOf(a) {
		name, ok := scalarText(v)
		if !ok {
			continue
		}
		switch name = strings.ToUpper(strings.TrimSpace(name)); name {
		case "*":
			s.all = true
		case "UF_*":
			s.uf = true
		case "":
		default:
			s.names[name] = true
		}
	}
	if !s.all && !s.uf && len(s.names) == 0 {
		s.all = true
	}
	return s
}

// describeLeadFields answers crm.lead.fields.
func describeLeadFields(defs []crm.CustomField) *Array {
	descs := make([]fieldDesc, 0, len(leadFields))
	for _, f := range leadFields {
		descs = append(descs, fieldDesc{name: f.name, typ: f.typ, title: f.title, statusType: f.statusType, readOnly: f.readOnly})
	}
	return describeFields(descs, true, defs)
}

// fieldDesc is a standard field as a *.fields method describes it.
type fieldDesc struct {
	name, typ, title, statusType string
	readOnly, multiple           bool
}

// describeFields answers a *.fields method: the standard fields, the
// multi-fields when multi, and the custom fields.
func describeFields(descs []fieldDesc, multi bool, defs []crm.CustomField) *Array {
	out := NewArray()
	desc := func(typ, title, statusType string, required, readOnly, multiple, dynamic bool) *Array {
		d := NewArray().Set("type", typ).Set("isRequired", required).Set("isReadOnly", readOnly).
			Set("isImmutable", false).Set("isMultiple", multiple).Set("isDynamic", dynamic)
		if statusType != "" {
			d.Set("statusType", statusType)
		}
		return d.Set("title", title)
	}
	for _, f := range descs {
		out.Set(f.name, desc(f.typ, f.title, f.statusType, false, f.readOnly, f.multiple, false))
	}
	for _, m := range multiFields {
		if multi {
			out.Set(m.name, desc("crm_multifield", m.title, "", false, false, true, false))
		}
	}
	for _, def := range defs {
		typ := userTypeOf(def)
		d := desc(typ, def.Code, "", def.Required, false, false, true)
		label := def.Label
		if label == "" {
			label = def.Code
		}
		d.Set("listLabel", label).Set("formLabel", label).Set("filterLabel", label)
		if def.Type == "enum" {
			items := NewArray()
			for _, o := range def.Options {
				// Obmen's enum values are their texts; the text is the ID.
				items.Append(NewArray().Set("ID", o).Set("VALUE", o))
			}
			d.Set("items", items)
		}
		out.Set(def.Code, d)
	}
	return out
}
