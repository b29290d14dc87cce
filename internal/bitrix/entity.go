package bitrix

// The contact, company and deal methods share one machinery: a table of
// fields per entity (recField), answered, written and filtered like the
// lead's fields; lists select the page of ids with the lead list's filter
// and order semantics (recordFilter) and load each record through the
// store.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// recField is one Bitrix24 field of a record of type T.
type recField[T any] struct {
	name, typ, title, statusType string
	readOnly, multiple           bool
	// getOnly fields are answered by get, and by list only when named in
	// select (an invoice's PRODUCT_ROWS).
	getOnly bool
	out     func(v *recView, r *T) any
	in      func(r *T, val any, name string) error
	// col is the SQL expression (over the table as r) to filter and sort
	// on, "" for none; kind how filter values are read.
	col, kind string
}

// recView holds what answering records needs besides the record.
type recView struct {
	loc       *time.Location
	defs      []crm.CustomField
	semantics map[string]string // status or stage id → S, F or ""
	// photos are the addresses of the answered records' photos by id
	// (contacts' PHOTO, companies' LOGO), read for the page at once.
	photos map[int64]string
}

// rPhoto is a contact's PHOTO or a company's LOGO: a file field, in
// Bitrix24 {"id", "showUrl", "downloadUrl"}; here both addresses are the
// REST photo route (a session or an API key reads it), null for none.
func rPhoto[T any](name, title string, meta func(r *T) *crm.Meta) recField[T] {
	return recField[T]{name: name, typ: "file", title: title, readOnly: true,
		out: func(v *recView, r *T) any {
			u := v.photos[meta(r).ID]
			if u == "" {
				return nil
			}
			return map[string]any{"id": meta(r).ID, "showUrl": u, "downloadUrl": u}
		}}
}

// withPhotos reads the photo addresses of records ids into v, for an
// entity that has photos.
func (c *crud[T]) withPhotos(ctx context.Context, v *recView, ids []int64) error {
	if !slices.Contains(crm.PhotoOwnerTypes, c.def.entity) || len(ids) == 0 {
		return nil
	}
	var err error
	v.photos, err = c.h.store.PhotoURLs(ctx, c.h.baseURL, c.def.entity, ids)
	return err
}

// entityDef describes one entity to the shared machinery.
type entityDef[T any] struct {
	entity string // store entity: comms, custom values, recycle bin
	table  string
	fields []recField[T]
	byName map[string]*recField[T]
	comms  func(r *T) *crm.Comms // nil: no multi-fields
	extra  func(r *T) *crm.Extra
}

// selectsFile reports whether sel answers a file field (a contact's
// PHOTO, a company's LOGO).
func (d *entityDef[T]) selectsFile(sel *selection) bool {
	for i := range d.fields {
		if d.fields[i].typ == "file" && sel.has(d.fields[i].name) {
			return true
		}
	}
	return false
}

func newEntity[T any](entity, table string, fields []recField[T], comms func(*T) *crm.Comms, extra func(*T) *crm.Extra) *entityDef[T] {
	d := &entityDef[T]{entity: entity, table: table, fields: fields, byName: map[string]*recField[T]{}, comms: comms, extra: extra}
	for i := range d.fields {
		d.byName[d.fields[i].name] = &d.fields[i]
	}
	return d
}

func rText[T any](name, title, col string, get func(r *T) *string) recField[T] {
	return recField[T]{name: name, typ: "string", title: title, col: col, kind: kText,
		out: func(_ *recView, r *T) any { return nullText(*get(r)) },
		in: func(r *T, v any, name string) error {
			s, ok := scalarText(v)
			if !ok {
				return crmError("Field %s: must be a string", name)
			}
			*get(r) = strings.TrimSpace(s)
			return nil
		}}
}

func rStatus[T any](name, title, statusType, col string, get func(r *T) *string) recField[T] {
	f := rText(name, title, col, get)
	f.typ, f.statusType, f.kind = "crm_status", statusType, kCode
	return f
}

func rRead[T any](name, typ, title, col, kind string, out func(v *recView, r *T) any) recField[T] {
	return recField[T]{name: name, typ: typ, title: title, readOnly: true, col: col, kind: kind, out: out}
}

func rDate[T any](name, title, col string, get func(r *T) *string) recField[T] {
	return recField[T]{name: name, typ: "date", title: title, col: col, kind: kDate,
		out: func(v *recView, r *T) any { return bitrixDate(*get(r), v.loc) },
		in: func(r *T, val any, name string) error {
			s, ok := scalarText(val)
			if !ok {
				return crmError("Field %s: must be a date", name)
			}
			if s = strings.TrimSpace(s); s == "" {
				*get(r) = ""
				return nil
			}
			t, ok := parseBitrixTime(s, time.UTC)
			if !ok {
				return crmError("Field %s: %q is not a date", name, s)
			}
			*get(r) = t.Format(time.DateOnly)
			return nil
		}}
}

func rID[T any](name, typ, title, col string, get func(r *T) *int64) recField[T] {
	return recField[T]{name: name, typ: typ, title: title, col: col, kind: kInt,
		out: func(_ *recView, r *T) any { return idText(*get(r)) },
		in: func(r *T, val any, name string) error {
			n, err := parseInt(name, val)
			if err == nil && n < 0 {
				err = crmError("Field %s: %d is not an id", name, n)
			}
			*get(r) = n
			return err
		}}
}

func rAddress[T any](prefix string, addr func(r *T) *crm.Address) []recField[T] {
	part := func(name, title string, get func(a *crm.Address) *string) recField[T] {
		f := recField[T]{name: prefix + name, typ: "string", title: title}
		if get == nil {
			f.out = func(*recView, *T) any { return nil }
			f.in = func(*T, any, string) error { return nil }
			return f
		}
		f.out = func(_ *recView, r *T) any {
			a := *addr(r)
			v := *get(&a)
			if name == "ADDRESS" && a.House != "" {
				v = strings.TrimSpace(strings.Join([]string{v, a.House}, ", "))
			}
			return nullText(v)
		}
		f.in = func(r *T, val any, field string) error {
			s, ok := scalarText(val)
			if !ok {
				return crmError("Field %s: must be a string", field)
			}
			a := addr(r)
			*get(a) = strings.TrimSpace(s)
			if name == "ADDRESS" {
				a.House = ""
			}
			return nil
		}
		return f
	}
	return []recField[T]{
		part("ADDRESS", "Address", func(a *crm.Address) *string { return &a.Street }),
		part("ADDRESS_2", "Address (Line 2)", func(a *crm.Address) *string { return &a.Flat }),
		part("ADDRESS_CITY", "City", func(a *crm.Address) *string { return &a.City }),
		part("ADDRESS_POSTAL_CODE", "Postal Code", func(a *crm.Address) *string { return &a.Postcode }),
		part("ADDRESS_REGION", "Region", nil),
		part("ADDRESS_PROVINCE", "Province", func(a *crm.Address) *string { return &a.Region }),
		part("ADDRESS_COUNTRY", "Country", func(a *crm.Address) *string { return &a.Country }),
		part("ADDRESS_COUNTRY_CODE", "Country Code", nil),
	}
}

// rNone is a field Bitrix24 has and Obmen does not keep: answered as a
// fresh portal answers it (value, often null) and ignored on write, as
// Bitrix24 ignores writes to read-only fields.
func rNone[T any](name, typ, title string, value any) recField[T] {
	return recField[T]{name: name, typ: typ, title: title, readOnly: true,
		out: func(*recView, *T) any { return value }}
}

// rActivity are LAST_ACTIVITY_TIME and LAST_ACTIVITY_BY. Obmen does not
// track a record's last activity apart from its last change, so those
// are the last change's time and author (Bitrix24 also starts them at
// the creation).
func rActivity[T any](meta func(r *T) *crm.Meta) []recField[T] {
	return []recField[T]{
		rRead("LAST_ACTIVITY_TIME", "datetime", "Last activity", "r.updated_at", kTime, func(v *recView, r *T) any { return bitrixTime(meta(r).UpdatedAt, v.loc) }),
		rRead("LAST_ACTIVITY_BY", "user", "Last activity by", "r.updated_by_id", kInt, func(_ *recView, r *T) any { return idText(meta(r).UpdatedByID) }),
	}
}

// rNoUTM are the UTM fields of an entity that keeps none (contacts and
// companies; leads and deals keep theirs).
func rNoUTM[T any]() []recField[T] {
	return []recField[T]{
		rNone[T]("UTM_SOURCE", "string", "Ad system", nil),
		rNone[T]("UTM_MEDIUM", "string", "Medium", nil),
		rNone[T]("UTM_CAMPAIGN", "string", "Ad campaign UTM", nil),
		rNone[T]("UTM_CONTENT", "string", "Campaign contents", nil),
		rNone[T]("UTM_TERM", "string", "Campaign search term", nil),
	}
}

// rMeta are the fields every record has, from its crm.Meta.
func rMeta[T any](meta func(r *T) *crm.Meta) []recField[T] {
	return []recField[T]{
		{name: "ASSIGNED_BY_ID", typ: "user", title: "Responsible User", col: "r.assigned_by_id", kind: kInt,
			out: func(_ *recView, r *T) any { return idText(meta(r).AssignedByID) },
			in: func(r *T, val any, name string) error {
				n, err := parseInt(name, val)
				if err == nil && n < 0 {
					err = crmError("Field %s: %d is not a user id", name, n)
				}
				meta(r).AssignedByID = n
				return err
			}},
		rRead("CREATED_BY_ID", "user", "Created By", "r.created_by_id", kInt, func(_ *recView, r *T) any { return idText(meta(r).CreatedByID) }),
		rRead("MODIFY_BY_ID", "user", "Modified By", "r.updated_by_id", kInt, func(_ *recView, r *T) any { return idText(meta(r).UpdatedByID) }),
		rRead("DATE_CREATE", "datetime", "Created", "r.created_at", kTime, func(v *recView, r *T) any { return bitrixTime(meta(r).CreatedAt, v.loc) }),
		rRead("DATE_MODIFY", "datetime", "Modified", "r.updated_at", kTime, func(v *recView, r *T) any { return bitrixTime(meta(r).UpdatedAt, v.loc) }),
		{name: "OPENED", typ: "char", title: "Available to everyone", out: func(*recView, *T) any { return "Y" },
			in: func(*T, any, string) error { return nil }},
	}
}

// rOrigin are ORIGINATOR_ID and ORIGIN_ID over the external ids (written
// by apply).
func rOrigin[T any](entity string, extra func(r *T) *crm.Extra) []recField[T] {
	return []recField[T]{
		{name: "ORIGINATOR_ID", typ: "string", title: "External source", col: originCol(entity, "system"), kind: kCode,
			out: func(_ *recView, r *T) any { sys, _ := firstExternal(extra(r).ExternalIDs); return nullText(sys) }},
		{name: "ORIGIN_ID", typ: "string", title: "Item ID in data source", col: originCol(entity, "external_id"), kind: kCode,
			out: func(_ *recView, r *T) any { _, id := firstExternal(extra(r).ExternalIDs); return nullText(id) }},
	}
}

// originCol is the SQL of ORIGINATOR_ID (col "system") or ORIGIN_ID (col
// "external_id"): the record's first external id by system name, as
// firstExternal answers it; ” when it has none.
func originCol(entity, col string) string {
	return "COALESCE((SELECT x." + col + " FROM external_ids x WHERE x.entity = '" + entity +
		"' AND x.record_id = r.id ORDER BY x.system LIMIT 1), '')"
}

// rHas are HAS_PHONE, HAS_EMAIL and HAS_IMOL.
func rHas[T any](entity string, comms func(r *T) *crm.Comms) []recField[T] {
	has := func(name, title, kind string, items func(c *crm.Comms) []crm.Comm) recField[T] {
		return rRead(name, "char", title, "CASE WHEN EXISTS (SELECT 1 FROM comms c WHERE c.entity = '"+entity+"' AND c.record_id = r.id AND c.kind = '"+kind+"') THEN 'Y' ELSE 'N' END", kCode,
			func(_ *recView, r *T) any { return yn(len(items(comms(r))) > 0) })
	}
	return []recField[T]{
		has("HAS_PHONE", "Has phone", crm.KindPhone, func(c *crm.Comms) []crm.Comm { return c.Phones }),
		has("HAS_EMAIL", "Has email", crm.KindEmail, func(c *crm.Comms) []crm.Comm { return c.Emails }),
		rRead("HAS_IMOL", "char", "Has Open Channel", "", "", func(_ *recView, r *T) any {
			for _, im := range comms(r).IMs {
				if im.ValueType == "IMOL" || im.ValueType == "OPENLINE" {
					return "Y"
				}
			}
			return "N"
		}),
	}
}

// apply writes Bitrix24 fields into r, as applyLeadFields does for leads.
func (d *entityDef[T]) apply(r *T, fields *Array, defs []crm.CustomField, creating bool) error {
	var originator, origin *string
	for _, key := range fields.Keys() {
		val, _ := fields.Get(key)
		name := strings.ToUpper(strings.TrimSpace(key))
		if strings.HasPrefix(name, "UF_") && d.byName[name] == nil {
			if err := applyCustom(&d.extra(r).Custom, name, val, defs); err != nil {
				return err
			}
			continue
		}
		switch name {
		case "ORIGINATOR_ID", "ORIGIN_ID":
			if d.byName["ORIGIN_ID"] == nil {
				continue // an entity without them (products) keeps its external ids
			}
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
		if m := multiField(name); m != nil && d.comms != nil {
			if err := applyComms(name, m.items(d.comms(r)), val, creating); err != nil {
				return err
			}
			continue
		}
		if f := d.byName[name]; f != nil && f.in != nil && !f.readOnly {
			if err := f.in(r, val, name); err != nil {
				return err
			}
		}
	}
	if originator != nil || origin != nil {
		applyOrigin(d.extra(r), originator, origin)
	}
	return nil
}

// render answers a record with the fields sel selects.
func (d *entityDef[T]) render(v *recView, r *T, sel *selection) *Array {
	out := NewArray()
	for i := range d.fields {
		f := &d.fields[i]
		if f.getOnly && sel != everything && !sel.names[f.name] {
			continue
		}
		if f.name == "ID" || sel.has(f.name) {
			out.Set(f.name, f.out(v, r))
		}
	}
	x := d.extra(r)
	for _, def := range v.defs {
		if sel.hasCustom(def.Code) {
			out.Set(def.Code, customOut(def, x.Custom[def.Code], v.loc))
		}
	}
	if d.comms == nil {
		return out
	}
	c := d.comms(r)
	for _, m := range multiFields {
		items := *m.items(c)
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

// describe answers the entity's *.fields method.
func (d *entityDef[T]) describe(defs []crm.CustomField) *Array {
	descs := make([]fieldDesc, 0, len(d.fields))
	for _, f := range d.fields {
		descs = append(descs, fieldDesc{name: f.name, typ: f.typ, title: f.title, statusType: f.statusType,
			readOnly: f.readOnly || f.in == nil, multiple: f.multiple})
	}
	return describeFields(descs, d.comms != nil, defs)
}

// condition is a filter condition on a standard field.
func (d *entityDef[T]) condition(h *Handler) func(q *sqlQuery, field, op string, vals []any) (string, error) {
	return func(q *sqlQuery, field, op string, vals []any) (string, error) {
		f := d.byName[field]
		if f == nil || f.col == "" {
			return "", crmError("Field %s: cannot filter %ss by this field", field, d.entity)
		}
		if f.typ == "char" && (f.kind == kText || f.kind == kCode) {
			// Y/N fields computed in SQL compare as text; a bool column is
			// compared with the flag.
			return columnCondition(q, f.col, field, kCode, op, vals, func(v any) (any, error) { return yn(truthy(v)), nil })
		}
		if f.kind == "bool" {
			return flagCondition(field, op, vals, f.col)
		}
		convert := func(v any) (any, error) { return h.filterValue(field, f.kind, v) }
		return columnCondition(q, f.col, field, f.kind, op, vals, convert)
	}
}

// order is the ORDER BY of a list, the id breaking ties.
func (d *entityDef[T]) order(order *Array) string {
	return orderClause(order, func(field string) string {
		if f := d.byName[field]; f != nil {
			return f.col
		}
		return ""
	})
}

// orderClause is an ORDER BY from a list's order parameter, the id
// breaking ties; col gives the column of a field ("" when the field does
// not sort).
func orderClause(order *Array, col func(field string) string) string {
	var parts []string
	hasID := false
	for _, key := range order.Keys() {
		v, _ := order.Get(key)
		c := col(strings.ToUpper(strings.TrimSpace(key)))
		if c == "" {
			continue
		}
		dir := "ASC"
		if s, _ := scalarText(v); strings.EqualFold(strings.TrimSpace(s), "DESC") {
			dir = "DESC"
		}
		parts = append(parts, c+" "+dir)
		hasID = hasID || c == "r.id"
	}
	if !hasID {
		parts = append(parts, "r.id ASC")
	}
	return strings.Join(parts, ", ")
}

// listArgs are a list call's filter, order, select and start, in
// Bitrix24's legacy field names.
type listArgs struct {
	filter, order, sel *Array
	start              int64 // -1: no count
}

// listArgs reads a *.list call's parameters.
func (c *call) listArgs() (listArgs, error) {
	var la listArgs
	var err error
	if la.filter, err = c.paramArray("filter"); err != nil {
		return la, err
	}
	if la.order, err = c.paramArray("order"); err != nil {
		return la, err
	}
	if la.sel, err = c.paramArray("select"); err != nil {
		return la, err
	}
	startText, err := c.paramText("start")
	if err != nil {
		return la, err
	}
	start, perr := strconv.ParseInt(startText, 10, 64)
	if perr != nil || start < -1 {
		start = 0
	}
	la.start = start
	return la, nil
}

// listPage is a *.list call: the ids of one page by filter and order, and
// the total unless start=-1. Records are the live ones (deleted_at = 0).
func (h *Handler) listPage(ctx context.Context, la listArgs, table, entity string, defs []crm.CustomField,
	standard func(q *sqlQuery, field, op string, vals []any) (string, error), orderBy func(*Array) string) (ids []int64, sel *selection, start int64, total *int64, err error) {
	return h.listPageWhere(ctx, la, table, "r.deleted_at = 0", entity, defs, standard, orderBy)
}

// listPageWhere is listPage over the rows that base selects, for tables
// without a recycle bin.
func (h *Handler) listPageWhere(ctx context.Context, la listArgs, table, base, entity string, defs []crm.CustomField,
	standard func(q *sqlQuery, field, op string, vals []any) (string, error), orderBy func(*Array) string) (ids []int64, sel *selection, start int64, total *int64, err error) {
	filter, order, selArr, start := la.filter, la.order, la.sel, la.start
	q := &sqlQuery{where: []string{base}}
	if c := store.ScopeCondition(ctx, entity, "r", q.arg); c != "" {
		q.where = append(q.where, c) // a manager's webhook sees their own records
	}
	if err := h.recordFilter(q, entity, orEmpty(filter), defs, standard); err != nil {
		return nil, nil, 0, nil, err
	}
	where := strings.Join(q.where, " AND ")
	if start >= 0 {
		var n int64
		if err := h.db.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table+" r WHERE "+where, q.args...).Scan(&n); err != nil {
			return nil, nil, 0, nil, fmt.Errorf("bitrix: count %s: %w", table, err)
		}
		total = &n
	}
	ob := orderBy(orEmpty(order))
	query := "SELECT r.id FROM " + table + " r WHERE " + pageWhere(where, ob) + " ORDER BY " + ob +
		" LIMIT " + q.arg(pageSize) + " OFFSET " + q.arg(max(start, 0))
	rows, err := h.db.Read.QueryContext(ctx, query, q.args...)
	if err != nil {
		return nil, nil, 0, nil, fmt.Errorf("bitrix: list %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, nil, 0, nil, fmt.Errorf("bitrix: list %s: %w", table, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, 0, nil, fmt.Errorf("bitrix: list %s: %w", table, err)
	}
	return ids, parseSelect(selArr), start, total, nil
}

// pageWhere is the WHERE of a page in id order: the live-records term
// is written +r.deleted_at = 0, which keeps SQLite from reading the page
// through an index on deleted_at (deals_stage_totals) and sorting all
// its rows by id; walking the table in id order stops after the page
// (crm.item.list of 50 deals at 100,000: 40 → 2 ms). PostgreSQL reads
// +x as x.
func pageWhere(where, orderBy string) string {
	if !strings.HasPrefix(orderBy, "r.id ") {
		return where
	}
	return strings.Replace(where, "r.deleted_at = 0", "+r.deleted_at = 0", 1)
}

// listReply is the reply of a list: result, total and next.
func listReply(result *Array, start int64, total *int64) reply {
	rep := reply{result: result}
	if total == nil {
		zero := int64(0)
		rep.total = &zero
		return rep
	}
	rep.total = total
	if next := start + pageSize; next < *total {
		rep.next = &next
	}
	return rep
}

// semantics maps the status ids of the dictionaries whose entity id
// begins with prefix to their semantics.
func (h *Handler) semantics(ctx context.Context, prefix string) (map[string]string, error) {
	all, err := h.store.ListStatuses(ctx, "")
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, st := range all {
		if strings.HasPrefix(st.EntityID, prefix) {
			m[st.StatusID] = st.Semantics
		}
	}
	return m, nil
}

// crud serves crm.{entity}.{add,get,update,delete,list,fields} over an
// entity's store functions.
type crud[T any] struct {
	h      *Handler
	def    *entityDef[T]
	meta   func(r *T) *crm.Meta
	get    func(ctx context.Context, id int64) (T, error)
	create func(ctx context.Context, a crm.Actor, r T) (T, error)
	update func(ctx context.Context, a crm.Actor, id int64, mutate func(*T) error) (T, error)
	// init, when set, gives a new record its defaults before add applies
	// the fields sent.
	init func(r *T)
	// semPrefix selects the status dictionaries of the entity's semantics.
	semPrefix string
}

func (c *crud[T]) view(ctx context.Context) (*recView, error) {
	defs, err := c.h.store.CustomFields(ctx, c.def.entity)
	if err != nil {
		return nil, err
	}
	v := &recView{loc: c.h.loc, defs: defs, semantics: map[string]string{}}
	if c.semPrefix != "" {
		if v.semantics, err = c.h.semantics(ctx, c.semPrefix); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// load returns a live record.
func (c *crud[T]) load(ctx context.Context, id int64) (T, error) {
	r, err := c.get(ctx, id)
	if err != nil {
		return r, err
	}
	if c.meta(&r).DeletedAt != nil {
		return r, errNotFound
	}
	return r, nil
}

// The record operations below are the one implementation behind both API
// generations: crm.{entity}.* calls them with Bitrix24's legacy field
// names, crm.item.* (item.go) through its camelCase mapping.

func (c *crud[T]) entityName() string { return c.def.entity }

func (c *crud[T]) addRecord(ctx context.Context, a crm.Actor, fields *Array) (int64, error) {
	defs, err := c.h.store.CustomFields(ctx, c.def.entity)
	if err != nil {
		return 0, err
	}
	var r T
	if c.init != nil {
		c.init(&r)
	}
	if err := c.def.apply(&r, orEmpty(fields), defs, true); err != nil {
		return 0, err
	}
	created, err := c.create(ctx, a, r)
	if err != nil {
		return 0, err
	}
	return c.meta(&created).ID, nil
}

func (c *crud[T]) getRecord(ctx context.Context, id int64) (*Array, error) {
	r, err := c.load(ctx, id)
	if err != nil {
		return nil, err
	}
	v, err := c.view(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.withPhotos(ctx, v, []int64{id}); err != nil {
		return nil, err
	}
	return c.def.render(v, &r, everything), nil
}

func (c *crud[T]) updateRecord(ctx context.Context, a crm.Actor, id int64, fields *Array) error {
	defs, err := c.h.store.CustomFields(ctx, c.def.entity)
	if err != nil {
		return err
	}
	if _, err := c.load(ctx, id); err != nil {
		return err
	}
	_, err = c.update(ctx, a, id, func(r *T) error {
		return c.def.apply(r, orEmpty(fields), defs, false)
	})
	return err
}

func (c *crud[T]) deleteRecord(ctx context.Context, a crm.Actor, id int64) error {
	return c.h.store.Delete(ctx, a, c.def.entity, id)
}

func (c *crud[T]) listRecords(ctx context.Context, la listArgs) ([]*Array, int64, *int64, error) {
	v, err := c.view(ctx)
	if err != nil {
		return nil, 0, nil, err
	}
	ids, sel, start, total, err := c.h.listPage(ctx, la, c.def.table, c.def.entity, v.defs, c.def.condition(c.h), c.def.order)
	if err != nil {
		return nil, 0, nil, err
	}
	// The page's records in a few queries (store.GetMany), not a few
	// per record.
	recs, err := c.h.store.GetMany(ctx, c.def.entity, ids)
	if err != nil {
		return nil, 0, nil, err
	}
	// A list selecting no photo field (PHOTO, LOGO) reads no photo.
	if c.def.selectsFile(sel) {
		if err := c.withPhotos(ctx, v, ids); err != nil {
			return nil, 0, nil, err
		}
	}
	out := make([]*Array, 0, len(ids))
	for _, id := range ids {
		r, ok := recs[id].(T)
		if !ok {
			if r, err = c.get(ctx, id); err != nil {
				return nil, 0, nil, err
			}
		}
		out = append(out, c.def.render(v, &r, sel))
	}
	return out, start, total, nil
}

func (c *crud[T]) describeRecords(ctx context.Context) (*Array, error) {
	defs, err := c.h.store.CustomFields(ctx, c.def.entity)
	if err != nil {
		return nil, err
	}
	return c.def.describe(defs), nil
}

// methodsOf are the legacy crm.{entity}.* methods over an entity's
// record operations.
func methodsOf(r records) (add, get, update, del, list, fields func(ctx context.Context, c *call) (reply, error)) {
	add = func(ctx context.Context, c *call) (reply, error) {
		f, err := c.paramArray("fields")
		if err != nil {
			return reply{}, err
		}
		id, err := r.addRecord(ctx, c.actor(), f)
		return reply{result: id}, err
	}
	get = func(ctx context.Context, c *call) (reply, error) {
		id, err := c.recordID()
		if err != nil {
			return reply{}, err
		}
		rec, err := r.getRecord(ctx, id)
		if err != nil {
			return reply{}, err
		}
		return reply{result: rec}, nil
	}
	update = func(ctx context.Context, c *call) (reply, error) {
		id, err := c.recordID()
		if err != nil {
			return reply{}, err
		}
		f, err := c.paramArray("fields")
		if err != nil {
			return reply{}, err
		}
		if err := r.updateRecord(ctx, c.actor(), id, f); err != nil {
			return reply{}, err
		}
		return reply{result: true}, nil
	}
	del = func(ctx context.Context, c *call) (reply, error) {
		id, err := c.recordID()
		if err != nil {
			return reply{}, err
		}
		if err := r.deleteRecord(ctx, c.actor(), id); err != nil {
			return reply{}, err
		}
		return reply{result: true}, nil
	}
	list = func(ctx context.Context, c *call) (reply, error) {
		la, err := c.listArgs()
		if err != nil {
			return reply{}, err
		}
		recs, start, total, err := r.listRecords(ctx, la)
		if err != nil {
			return reply{}, err
		}
		result := NewArray()
		for _, rec := range recs {
			result.Append(rec)
		}
		return listReply(result, start, total), nil
	}
	fields = func(ctx context.Context, _ *call) (reply, error) {
		d, err := r.describeRecords(ctx)
		if err != nil {
			return reply{}, err
		}
		return reply{result: d}, nil
	}
	return
}

// register adds crm.{name}.* to the methods.
func (c *crud[T]) register(m map[string]method, name string, scopes []string) {
	registerRecords(m, name, scopes, c)
}

// registerRecords adds crm.{name}.* over an entity's record operations.
func registerRecords(m map[string]method, name string, scopes []string, r records) {
	add, get, update, del, list, fields := methodsOf(r)
	m["crm."+name+".add"] = method{scopes, add}
	m["crm."+name+".get"] = method{scopes, get}
	m["crm."+name+".update"] = method{scopes, update}
	m["crm."+name+".delete"] = method{scopes, del}
	m["crm."+name+".list"] = method{scopes, list}
	m["crm."+name+".fields"] = method{scopes, fields}
}
