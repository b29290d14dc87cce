package bitrix

// crm.lead.list pages by offset (start=0, 50, 100 …) and answers a total,
// while the store pages by keyset cursor and counts nothing. Walking the
// store's pages up to an offset would read every record before it, and
// the store's list loads whole records (product rows, external ids) that
// a list answer does not need. So this file queries the leads table
// itself, with the store's filter semantics (the same columns, deleted_at
// = 0 for live leads, LIKE with escaping, custom fields through
// custom_values with numbers, dates and flags compared as the store
// compares them, phones and e-mails matched on their normalized form):
// one query for the page, one COUNT(*) unless start=-1, and one each for
// the multi-fields, custom values and external ids of the page when the
// select needs them.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
)

// pageSize is Bitrix24's fixed page of list methods.
const pageSize = 50

// sqlQuery collects the conditions and arguments of a query.
type sqlQuery struct {
	where []string
	args  []any
}

func (q *sqlQuery) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// filterOps are Bitrix24's filter key prefixes, longest first where one
// begins another.
var filterOps = []struct{ prefix, op string }{
	{"!=%", "notlikeraw"}, {"!%=", "notlikeraw"}, {"!@", "notin"}, {"!%", "notlike"}, {"!=", "ne"},
	{">=", "gte"}, {"<=", "lte"}, {"=%", "likeraw"}, {"%=", "likeraw"},
	{"!", "ne"}, {">", "gt"}, {"<", "lt"}, {"@", "in"}, {"%", "like"}, {"=", "eq"},
}

// splitFilterKey splits "!%TITLE" into the operator and the field name.
func splitFilterKey(key string) (op, field string) {
	key = strings.TrimSpace(key)
	for _, p := range filterOps {
		if rest, ok := strings.CutPrefix(key, p.prefix); ok {
			return p.op, strings.ToUpper(strings.TrimSpace(rest))
		}
	}
	return "eq", strings.ToUpper(key)
}

var sqlCompare = map[string]string{"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

// recordFilter adds the conditions of a Bitrix24 filter on records of an
// entity to q; standard makes the condition on a standard field. The
// conditions of a level are joined by AND, or by OR when the level has
// LOGIC: OR; a nested level is a key of digits ("0", "1" — a list in
// the filter) or any key whose value holds a LOGIC.
func (h *Handler) recordFilter(q *sqlQuery, entity string, filter *Array, defs []crm.CustomField,
	standard func(q *sqlQuery, field, op string, vals []any) (string, error)) error {
	conds, logic, err := h.filterGroup(q, entity, filter, defs, standard)
	if err != nil {
		return err
	}
	if logic == "OR" && len(conds) > 0 {
		q.where = append(q.where, "("+strings.Join(conds, " OR ")+")")
		return nil
	}
	q.where = append(q.where, conds...)
	return nil
}

// filterGroup is the conditions of one level of a filter and its LOGIC.
func (h *Handler) filterGroup(q *sqlQuery, entity string, filter *Array, defs []crm.CustomField,
	standard func(q *sqlQuery, field, op string, vals []any) (string, error)) ([]string, string, error) {
	logic := "AND"
	var conds []string
	for _, key := range filter.Keys() {
		raw, _ := filter.Get(key)
		if strings.EqualFold(strings.TrimSpace(key), "LOGIC") {
			s, _ := scalarText(raw)
			switch strings.ToUpper(strings.TrimSpace(s)) {
			case "OR":
				logic = "OR"
			case "AND", "":
			default:
				return nil, "", crmError("Filter LOGIC: %q is not AND or OR", s)
			}
			continue
		}
		if sub, ok := raw.(*Array); ok && isFilterGroup(key, sub) {
			subConds, subLogic, err := h.filterGroup(q, entity, sub, defs, standard)
			if err != nil {
				return nil, "", err
			}
			if len(subConds) > 0 {
				conds = append(conds, "("+strings.Join(subConds, " "+subLogic+" ")+")")
			}
			continue
		}
		op, field := splitFilterKey(key)
		vals := itemsOf(raw)
		if _, isArray := raw.(*Array); isArray {
			// A list with = or ! is a set.
			switch op {
			case "eq":
				op = "in"
			case "ne":
				op = "notin"
			}
		} else if raw == nil {
			vals = []any{""}
		}
		var cond string
		var err error
		switch {
		case strings.HasPrefix(field, "UF_") && !(entity == store.EntityInvoice && invoiceBuiltinUF[field]):
			cond, err = customCondition(q, entity, field, op, vals, defs, h.loc)
		case multiField(field) != nil && entity != store.EntityDeal:
			cond, err = commCondition(q, entity, field, op, vals)
		default:
			cond, err = standard(q, field, op, vals)
		}
		if err != nil {
			return nil, "", err
		}
		conds = append(conds, cond)
	}
	return conds, logic, nil
}

// isFilterGroup tells a nested level of a filter from a field's list of
// values.
func isFilterGroup(key string, v *Array) bool {
	if key = strings.TrimSpace(key); key != "" && strings.Trim(key, "0123456789") == "" {
		return true
	}
	_, ok := lookupFold(v, "LOGIC")
	return ok
}

// leadCondition is a condition on a standard field.
func (h *Handler) leadCondition(q *sqlQuery, field, op string, vals []any) (string, error) {
	switch field {
	case "HAS_PHONE", "HAS_EMAIL":
		kind := map[string]string{"HAS_PHONE": crm.KindPhone, "HAS_EMAIL": crm.KindEmail}[field]
		exists := "EXISTS (SELECT 1 FROM comms c WHERE c.entity = 'lead' AND c.record_id = r.id AND c.kind = " + q.arg(kind) + ")"
		return flagCondition(field, op, vals, exists)
	case "OPENED":
		return flagCondition(field, op, vals, "1 = 1")
	case "IS_RETURN_CUSTOMER":
		return flagCondition(field, op, vals, "(r.contact_id <> 0 OR r.account_id <> 0)")
	case "STATUS_SEMANTIC_ID":
		return semanticCondition(q, op, vals)
	}
	f := leadFieldByName[field]
	if f == nil || f.col == "" {
		return "", crmError("Field %s: cannot filter leads by this field", field)
	}
	col := "r." + f.col
	if field == "ORIGINATOR_ID" || field == "ORIGIN_ID" {
		col = originCol(store.EntityLead, f.col)
	}
	convert := func(v any) (any, error) { return h.filterValue(field, f.kind, v) }
	return columnCondition(q, col, field, f.kind, op, vals, convert)
}

// columnCondition compares an SQL expression with converted values. Text
// (kText) compares as Bitrix24's does, ignoring case in every alphabet
// (db.Fold on both sides); codes (kCode: statuses, currencies) compare
// exactly, so that their indexes serve.
func columnCondition(q *sqlQuery, col, field, kind, op string, vals []any, convert func(any) (any, error)) (string, error) {
	arg := q.arg
	if kind == kText {
		col = db.Fold + "(" + col + ")"
		arg = func(v any) string { return db.Fold + "(" + q.arg(v) + ")" }
	}
	switch op {
	case "in", "notin":
		if len(vals) == 0 {
			if op == "in" {
				return "1 = 0", nil
			}
			return "1 = 1", nil
		}
		ph := make([]string, 0, len(vals))
		for _, v := range vals {
			x, err := convert(v)
			if err != nil {
				return "", err
			}
			ph = append(ph, arg(x))
		}
		not := ""
		if op == "notin" {
			not = "NOT "
		}
		return fmt.Sprintf("%s %sIN (%s)", col, not, strings.Join(ph, ", ")), nil
	case "like", "likeraw", "notlike", "notlikeraw":
		if kind != kText && kind != kDate && kind != kCode {
			return "", crmError("Field %s: %% works on text fields only", field)
		}
		var conds []string
		for _, v := range vals {
			s, ok := scalarText(v)
			if !ok {
				return "", crmError("Field %s: must be a string", field)
			}
			pattern := "%" + escapeLike(s) + "%"
			if strings.HasSuffix(op, "raw") {
				pattern = s // the client's own % and _
			}
			expr := col + " LIKE " + arg(pattern)
			if !strings.HasSuffix(op, "raw") {
				expr += ` ESCAPE '\'`
			}
			if strings.HasPrefix(op, "not") {
				expr = "NOT (" + expr + ")"
			}
			conds = append(conds, expr)
		}
		if len(conds) == 0 {
			return "1 = 1", nil
		}
		join := " OR "
		if strings.HasPrefix(op, "not") {
			join = " AND "
		}
		return "(" + strings.Join(conds, join) + ")", nil
	}
	cmp, ok := sqlCompare[op]
	if !ok {
		return "", crmError("Field %s: unknown filter operator", field)
	}
	if len(vals) != 1 {
		return "", crmError("Field %s: takes one value", field)
	}
	x, err := convert(vals[0])
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %s %s", col, cmp, arg(x)), nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// filterValue converts a filter value to the stored form of a column.
func (h *Handler) filterValue(field, kind string, v any) (any, error) {
	s, ok := scalarText(v)
	if !ok {
		return nil, crmError("Field %s: must be a single value", field)
	}
	s = strings.TrimSpace(s)
	switch kind {
	case kInt:
		return parseInt(field, s)
	case kAmount:
		a, err := parseMoney(field, s)
		return int64(a), err
	case kTime:
		if s == "" {
			return int64(0), nil
		}
		t, ok := parseBitrixTime(s, h.loc)
		if !ok {
			return nil, crmError("Field %s: %q is not a date and time", field, s)
		}
		return t.UnixMicro(), nil
	case kDate:
		if s == "" {
			return "", nil
		}
		t, ok := parseBitrixTime(s, time.UTC)
		if !ok {
			return nil, crmError("Field %s: %q is not a date", field, s)
		}
		return t.Format(time.DateOnly), nil
	}
	return s, nil
}

// flagCondition filters a Y/N field whose "Y" is the SQL condition yes.
func flagCondition(field, op string, vals []any, yes string) (string, error) {
	in := map[bool]bool{}
	for _, v := range vals {
		in[truthy(v)] = true
	}
	var wantY, wantN bool
	switch op {
	case "eq", "in":
		wantY, wantN = in[true], in[false]
	case "ne", "notin":
		wantY, wantN = !in[true], !in[false]
	default:
		return "", crmError("Field %s: takes Y or N", field)
	}
	switch {
	case wantY && wantN:
		return "1 = 1", nil
	case wantY:
		return yes, nil
	case wantN:
		return "NOT " + yes, nil
	}
	return "1 = 0", nil
}

// semanticCondition filters STATUS_SEMANTIC_ID: S and F are the statuses
// so marked, P every other.
func semanticCondition(q *sqlQuery, op string, vals []any) (string, error) {
	var conds []string
	for _, v := range vals {
		s, _ := scalarText(v)
		switch strings.ToUpper(strings.TrimSpace(s)) {
		case "S", "F":
			conds = append(conds, "r.status_id IN (SELECT status_id FROM statuses WHERE entity_id = 'STATUS' AND semantics = "+q.arg(strings.ToUpper(strings.TrimSpace(s)))+")")
		case "P":
			conds = append(conds, "r.status_id NOT IN (SELECT status_id FROM statuses WHERE entity_id = 'STATUS' AND semantics IN ('S', 'F'))")
		default:
			return "", crmError("Field STATUS_SEMANTIC_ID: %q is not one of P, S, F", s)
		}
	}
	if len(conds) == 0 {
		conds = []string{"1 = 0"}
	}
	cond := "(" + strings.Join(conds, " OR ") + ")"
	switch op {
	case "eq", "in":
		return cond, nil
	case "ne", "notin":
		return "NOT " + cond, nil
	}
	return "", crmError("Field STATUS_SEMANTIC_ID: takes =, !, @ or !@")
}

// commCondition filters on a multi-field: = and @ match the normalized
// value (a phone in any format, an e-mail in any case), % the value as
// typed; ! and !@ and !% are their negations.
func commCondition(q *sqlQuery, entity, field, op string, vals []any) (string, error) {
	not := false
	switch op {
	case "ne":
		op, not = "eq", true
	case "notin":
		op, not = "in", true
	case "notlike":
		op, not = "like", true
	case "notlikeraw":
		op, not = "likeraw", true
	}
	base := "EXISTS (SELECT 1 FROM comms c WHERE c.entity = " + q.arg(entity) + " AND c.record_id = r.id AND c.kind = " + q.arg(field) + " AND "
	var cond string
	var err error
	switch op {
	case "eq", "in":
		cond, err = columnCondition(q, "c.normalized", field, kCode, "in", vals, func(v any) (any, error) {
			s, ok := scalarText(v)
			if !ok {
				return nil, crmError("Field %s: must be a single value", field)
			}
			return normalizedComm(field, s), nil
		})
	case "like", "likeraw":
		cond, err = columnCondition(q, "c.value", field, kText, op, vals, nil)
	default:
		return "", crmError("Field %s: takes =, !, @, !@, %% or !%%", field)
	}
	if err != nil {
		return "", err
	}
	if not {
		return "NOT " + base + cond + ")", nil
	}
	return base + cond + ")", nil
}

// normalizedComm is a multi-field value as the comms table keeps it for
// lookups.
func normalizedComm(kind, s string) string {
	s = strings.TrimSpace(s)
	switch kind {
	case crm.KindPhone:
		return crm.PhoneKey(s)
	case crm.KindEmail:
		if e, ok := crm.NormalizeEmail(s); ok {
			return e
		}
	}
	return strings.ToLower(s)
}

// customCondition filters on a UF_ field the way the store does: numbers
// and dates (as YYYYMMDD) on custom_values.num, the rest on the text; a
// negation matches records without the value too.
func customCondition(q *sqlQuery, entity, code, op string, vals []any, defs []crm.CustomField, loc *time.Location) (string, error) {
	var def *crm.CustomField
	for i := range defs {
		if defs[i].Code == code {
			def = &defs[i]
		}
	}
	if def == nil {
		return "", crmError("Field %s: no such custom field on %ss", code, entity)
	}
	not := false
	switch op {
	case "ne":
		op, not = "eq", true
	case "notin":
		op, not = "in", true
	case "notlike":
		op, not = "like", true
	case "notlikeraw":
		op, not = "likeraw", true
	}
	numeric := def.Type == "number" || def.Type == "date"
	col, kind := "cv.value", kText
	if def.Type == "bool" {
		kind = kCode
	}
	if numeric {
		col, kind = "cv.num", kInt
	}
	convert := func(v any) (any, error) {
		s, ok := scalarText(v)
		if !ok {
			return nil, crmError("Field %s: must be a single value", code)
		}
		s = strings.TrimSpace(s)
		switch def.Type {
		case "number":
			f, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", "."), 64)
			if err != nil {
				return nil, crmError("Field %s: %q is not a number", code, s)
			}
			return f, nil
		case "date":
			t, ok := parseBitrixTime(s, loc)
			if !ok {
				return nil, crmError("Field %s: %q is not a date", code, s)
			}
			return float64(t.Year()*10000 + int(t.Month())*100 + t.Day()), nil
		case "bool":
			if truthy(s) {
				return "true", nil
			}
			return "false", nil
		}
		return s, nil
	}
	if strings.HasPrefix(op, "like") {
		col, kind = "cv.value", kText
	}
	cond, err := columnCondition(q, col, code, kind, op, vals, convert)
	if err != nil {
		return "", err
	}
	exists := "EXISTS (SELECT 1 FROM custom_values cv WHERE cv.entity = " + q.arg(entity) + " AND cv.record_id = r.id AND cv.code = " + q.arg(code) + " AND " + cond + ")"
	if not {
		return "NOT " + exists, nil
	}
	return exists, nil
}

// leadOrder reads order[FIELD]=ASC|DESC; unknown fields are ignored, as
// Bitrix24 ignores them. The id breaks ties, so that pages do not overlap.
func leadOrder(order *Array) string {
	return orderClause(order, func(field string) string {
		if f := leadFieldByName[field]; f != nil && f.col != "" {
			if field == "ORIGINATOR_ID" || field == "ORIGIN_ID" {
				return originCol(store.EntityLead, f.col)
			}
			return "r." + f.col
		}
		return ""
	})
}

const leadListColumns = `r.id, r.title, r.honorific, r.name, r.second_name, r.last_name, r.company_title, r.position, r.birthdate,
	r.source_id, r.source_description, r.status_id, r.status_description, r.opportunity, r.currency, r.comments,
	r.utm_source, r.utm_medium, r.utm_campaign, r.utm_content, r.utm_term, r.address,
	r.contact_id, r.account_id, r.converted_at, r.assigned_by_id, r.created_by_id, r.updated_by_id, r.created_at, r.updated_at,
	CASE WHEN EXISTS (SELECT 1 FROM line_items li WHERE li.owner_type = 'lead' AND li.owner_id = r.id) THEN 1 ELSE 0 END`

// listLeads answers one page of crm.lead.list.
func (h *Handler) listLeads(ctx context.Context, filter, order *Array, sel *selection, start int64, defs []crm.CustomField) ([]leadRow, *int64, error) {
	q := &sqlQuery{where: []string{"r.deleted_at = 0"}}
	if c := store.ScopeCondition(ctx, store.EntityLead, "r", q.arg); c != "" {
		q.where = append(q.where, c) // a manager's webhook sees their own leads
	}
	if err := h.recordFilter(q, store.EntityLead, filter, defs, h.leadCondition); err != nil {
		return nil, nil, err
	}
	where := strings.Join(q.where, " AND ")
	var total *int64
	if start >= 0 {
		var n int64
		if err := h.db.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM leads r WHERE "+where, q.args...).Scan(&n); err != nil {
			return nil, nil, fmt.Errorf("bitrix: count leads: %w", err)
		}
		total = &n
	}
	offset := max(start, 0)
	ob := leadOrder(order)
	query := "SELECT " + leadListColumns + " FROM leads r WHERE " + pageWhere(where, ob) + " ORDER BY " + ob +
		" LIMIT " + q.arg(pageSize) + " OFFSET " + q.arg(offset)
	rows, err := h.db.Read.QueryContext(ctx, query, q.args...)
	if err != nil {
		return nil, nil, fmt.Errorf("bitrix: list leads: %w", err)
	}
	defer rows.Close()
	var out []leadRow
	for rows.Next() {
		var r leadRow
		l := &r.Lead
		var address string
		var converted, created, updated int64
		var hasRows int
		if err := rows.Scan(&l.ID, &l.Title, &l.Honorific, &l.Name, &l.SecondName, &l.LastName, &l.CompanyTitle, &l.Position, &l.Birthdate,
			&l.SourceID, &l.SourceDescription, &l.StatusID, &l.StatusDescription, (*int64)(&l.Opportunity), &l.Currency, &l.Comments,
			&l.UTMSource, &l.UTMMedium, &l.UTMCampaign, &l.UTMContent, &l.UTMTerm, &address,
			&l.ContactID, &l.AccountID, &converted, &l.AssignedByID, &l.CreatedByID, &l.UpdatedByID, &created, &updated, &hasRows); err != nil {
			return nil, nil, fmt.Errorf("bitrix: list leads: %w", err)
		}
		if err := json.Unmarshal([]byte(address), &l.Address); err != nil {
			return nil, nil, fmt.Errorf("bitrix: lead %d address: %w", l.ID, err)
		}
		l.CreatedAt, l.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
		if converted != 0 {
			t := time.UnixMicro(converted).UTC()
			l.ConvertedAt = &t
		}
		l.Comms.Empty()
		l.Custom, l.ExternalIDs = map[string]any{}, map[string]string{}
		r.hasRows = hasRows != 0
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("bitrix: list leads: %w", err)
	}
	if len(out) == 0 {
		return out, total, nil
	}
	byID := make(map[int64]*leadRow, len(out))
	ids := make([]any, len(out))
	for i := range out {
		byID[out[i].ID] = &out[i]
		ids[i] = out[i].ID
	}
	// HAS_PHONE and HAS_EMAIL are among the standard fields: the
	// multi-fields are read for "*" too.
	if sel.all || sel.multi || len(sel.names) > 0 {
		if err := h.loadComms(ctx, ids, byID); err != nil {
			return nil, nil, err
		}
	}
	if sel.uf || len(sel.names) > 0 {
		if err := h.loadCustom(ctx, ids, byID, defs); err != nil {
			return nil, nil, err
		}
	}
	if sel.has("ORIGINATOR_ID") || sel.has("ORIGIN_ID") {
		if err := h.loadExternal(ctx, ids, byID); err != nil {
			return nil, nil, err
		}
	}
	return out, total, nil
}

func inList(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i))
	}
	return b.String()
}

func (h *Handler) loadComms(ctx context.Context, ids []any, byID map[int64]*leadRow) error {
	rows, err := h.db.Read.QueryContext(ctx, "SELECT id, record_id, kind, value, value_type FROM comms WHERE entity = 'lead' AND record_id IN ("+inList(len(ids))+") ORDER BY record_id, sort, id", ids...)
	if err != nil {
		return fmt.Errorf("bitrix: lead multi-fields: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var it crm.Comm
		var rid int64
		var kind string
		if err := rows.Scan(&it.ID, &rid, &kind, &it.Value, &it.ValueType); err != nil {
			return fmt.Errorf("bitrix: lead multi-fields: %w", err)
		}
		if r := byID[rid]; r != nil {
			r.Comms.Add(kind, it)
		}
	}
	return rows.Err()
}

func (h *Handler) loadCustom(ctx context.Context, ids []any, byID map[int64]*leadRow, defs []crm.CustomField) error {
	types := map[string]string{}
	for _, d := range defs {
		types[d.Code] = d.Type
	}
	rows, err := h.db.Read.QueryContext(ctx, "SELECT record_id, code, value FROM custom_values WHERE entity = 'lead' AND record_id IN ("+inList(len(ids))+")", ids...)
	if err != nil {
		return fmt.Errorf("bitrix: lead custom values: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rid int64
		var code, val string
		if err := rows.Scan(&rid, &code, &val); err != nil {
			return fmt.Errorf("bitrix: lead custom values: %w", err)
		}
		r := byID[rid]
		if r == nil {
			continue
		}
		// Typed as the store types them (store.typedCustom).
		switch types[code] {
		case "number":
			r.Custom[code] = json.Number(val)
		case "bool":
			r.Custom[code] = val == "true"
		default:
			r.Custom[code] = val
		}
	}
	return rows.Err()
}

func (h *Handler) loadExternal(ctx context.Context, ids []any, byID map[int64]*leadRow) error {
	rows, err := h.db.Read.QueryContext(ctx, "SELECT record_id, system, external_id FROM external_ids WHERE entity = 'lead' AND record_id IN ("+inList(len(ids))+")", ids...)
	if err != nil {
		return fmt.Errorf("bitrix: lead external ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rid int64
		var sys, id string
		if err := rows.Scan(&rid, &sys, &id); err != nil {
			return fmt.Errorf("bitrix: lead external ids: %w", err)
		}
		if r := byID[rid]; r != nil {
			r.ExternalIDs[sys] = id
		}
	}
	return rows.Err()
}

// leadView loads what answering leads needs: status semantics and the
// custom field declarations.
func (h *Handler) leadView(ctx context.Context) (*leadView, error) {
	statuses, err := h.store.ListStatuses(ctx, "STATUS")
	if err != nil {
		return nil, err
	}
	defs, err := h.store.CustomFields(ctx, store.EntityLead)
	if err != nil {
		return nil, err
	}
	v := &leadView{loc: h.loc, semantics: map[string]string{}, defs: defs}
	for _, st := range statuses {
		v.semantics[st.StatusID] = st.Semantics
	}
	return v, nil
}
