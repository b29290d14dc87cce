package store

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
)

// Folded reads (issue 21): a plain page of a kind whose parts are all
// foldable — found by its filters (phone=, email=, inn=, fields) in id
// order, without q= — is read in one statement rather than one for the
// ids, one for the rows and one per part (seven round trips for one
// contact found by phone, with the API key's). The matched ids are a CTE,
// the find-by-phone one answered from the comms lookup index alone
// (migration 0047); the record rows and every part's rows follow it as
// one UNION ALL, told apart by their first column. The access scope is
// the list's WHERE as before, and every row is read in the statement's
// one snapshot.
//
// PostgreSQL only: on SQLite, in process, the separate statements cost no
// round trip and the union's sorts made a lookup slower, not faster
// (BenchmarkFindContactByPhone, 100,000 contacts: p50 0.13 ms separate,
// 0.41 ms folded; PostgreSQL 0.96 → 0.37 ms).

// noFold turns folded reads off (tests compare the two).
var noFold = false

// folded reports whether reads by id and plain pages of kinds with folds
// are read in one statement.
func (s *Store) folded() bool { return !noFold && s.db.Dialect == db.Postgres }

// foldPart is a part read in the folded statement: sql selects (record
// id, two ordering integers, four texts) for the records of m; init
// gives a record the part's empty value, put adds one row to it.
type foldPart[T any] struct {
	sql  string
	init func(v *T)
	put  func(v *T, r *foldRow)
}

// foldRow is the part columns of a folded row.
type foldRow struct {
	rid, s1, s2 int64
	a, b, c, d  sql.NullString
}

// extraFolds are the parts every record has: custom values and
// external ids.
func extraFolds[T any](entity string, extra func(v *T) *crm.Extra) []foldPart[T] {
	return []foldPart[T]{{
		sql: `SELECT v.record_id, 0, 0, v.code, v.value, f.type, NULL FROM custom_values v
			JOIN custom_fields f ON f.entity = v.entity AND f.code = v.code
			WHERE v.entity = '` + entity + `' AND v.record_id IN (SELECT id FROM m)`,
		init: func(v *T) { extra(v).Custom = map[string]any{} },
		put:  func(v *T, r *foldRow) { extra(v).Custom[r.a.String] = typedCustom(r.c.String, r.b.String) },
	}, {
		sql: `SELECT record_id, 0, 0, system, external_id, NULL, NULL FROM external_ids
			WHERE entity = '` + entity + `' AND record_id IN (SELECT id FROM m)`,
		init: func(v *T) { extra(v).ExternalIDs = map[string]string{} },
		put:  func(v *T, r *foldRow) { extra(v).ExternalIDs[r.a.String] = r.b.String },
	}}
}

// commsFold is commsPart folded.
func commsFold[T any](entity string, field func(v *T) *crm.Comms) foldPart[T] {
	return foldPart[T]{
		sql: `SELECT record_id, sort, id, kind, value, value_type, normalized FROM comms
			WHERE entity = '` + entity + `' AND record_id IN (SELECT id FROM m)`,
		init: func(v *T) { field(v).Empty() },
		put: func(v *T, r *foldRow) {
			field(v).Add(r.a.String, crm.Comm{ID: r.s2, Value: r.b.String, ValueType: r.c.String, Normalized: r.d.String})
		},
	}
}

// discard is a scan destination that drops its value.
type discard struct{}

func (discard) Scan(any) error { return nil }

// foldScanner scans a record row of a folded statement: the columns
// between the part number and the part columns.
type foldScanner struct {
	rows *sql.Rows
	tail int
}

func (f foldScanner) Scan(dest ...any) error {
	all := make([]any, 0, 1+len(dest)+f.tail)
	all = append(all, discard{})
	all = append(all, dest...)
	for i := 0; i < f.tail; i++ {
		all = append(all, discard{})
	}
	return f.rows.Scan(all...)
}

// foldIDs is the query of a page's ids for the folded statement, or ok
// false when the page is not a plain one (q=, a sort other than id, a
// count).
func (s *Store) foldIDs(t txq, sp spec, p ListParams) (query string, args []any, desc, ok bool, err error) {
	if strings.TrimSpace(p.Q) != "" || p.countOnly {
		return "", nil, false, false, nil
	}
	switch p.Sort {
	case "", "id":
	case "-id":
		desc = true
	default:
		return "", nil, false, false, nil
	}
	if p.Limit <= 0 {
		p.Limit = 50
	}
	if p.Limit > 500 {
		return "", nil, false, false, crm.Invalid("limit", "at most 500")
	}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where, _, err := s.listWhere(t, sp, p, arg, -1, nil)
	if err != nil {
		return "", nil, false, false, err
	}
	cmp, dir := ">", "ASC"
	if desc {
		cmp, dir = "<", "DESC"
	}
	if p.Cursor != "" {
		c, _, err := parseCursor(p.Cursor, KindInt)
		if err != nil {
			return "", nil, false, false, err
		}
		where = append(where, "r.id "+cmp+" "+arg(c.ID))
	}
	query = fmt.Sprintf("SELECT r.id FROM %s r WHERE %s ORDER BY r.id %s LIMIT %s", sp.table, strings.Join(where, " AND "), dir, arg(p.Limit+1))
	return query, args, desc, true, nil
}

// foldList reads a plain page in one statement; ok is false when the page
// is not plain (then the caller lists as usual).
func (l loader[T]) foldList(s *Store, t txq, sp spec, p ListParams) (_ []T, next string, ok bool, _ error) {
	ids, args, desc, ok, err := s.foldIDs(t, sp, p)
	if !ok || err != nil {
		return nil, "", ok, err
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 50
	}
	byID, order, err := l.foldRead(t, ids, args)
	if err != nil {
		return nil, "", true, err
	}
	sort.Slice(order, func(i, j int) bool { return (order[i] < order[j]) != desc })
	if len(order) > limit {
		last := order[limit-1]
		b, _ := json.Marshal(cursor{V: cursorText(KindInt, last), ID: last})
		next = base64.RawURLEncoding.EncodeToString(b)
		order = order[:limit]
	}
	out := make([]T, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out, next, true, nil
}

// foldRead reads the records the query ids selects, with every part, in
// one statement (PostgreSQL); order is the order their rows came in.
func (l loader[T]) foldRead(t txq, ids string, args []any) (byID map[int64]*T, order []int64, _ error) {
	ncols := strings.Count(l.columns, ",") + 1
	nulls := func(n int) string { return strings.TrimSuffix(strings.Repeat("NULL, ", n), ", ") }
	var b strings.Builder
	b.WriteString("WITH m AS (" + ids + ")\nSELECT 0, " + l.columns + ", " + nulls(7) + " FROM " + l.table + " WHERE id IN (SELECT id FROM m)")
	for i, part := range l.folds {
		fmt.Fprintf(&b, "\nUNION ALL SELECT %d, %s, x.* FROM (%s) x", i+1, nulls(ncols), part.sql)
	}
	// Under a photo memo, the photos' hashes come as one more part.
	memo := photoMemoOf(t.ctx)
	if memo != nil && !slices.Contains(crm.PhotoOwnerTypes, l.entity) {
		memo = nil
	}
	photoPart := len(l.folds) + 1
	if memo != nil {
		fmt.Fprintf(&b, "\nUNION ALL SELECT %d, %s, owner_id, 0, 0, sha256, NULL, NULL, NULL FROM record_photos WHERE owner_type = '%s' AND owner_id IN (SELECT id FROM m)",
			photoPart, nulls(ncols), l.entity)
	}
	fmt.Fprintf(&b, "\nORDER BY 1, %d, %d, %d", ncols+2, ncols+3, ncols+4)
	rows, err := t.q.QueryContext(t.ctx, b.String(), args...)
	if err != nil {
		return nil, nil, fmt.Errorf("store: list %s: %w", l.table, err)
	}
	defer rows.Close()
	byID = map[int64]*T{}
	head := make([]any, 1+ncols+7)
	for i := range head {
		head[i] = discard{}
	}
	var part int
	var r foldRow
	head[0] = &part
	tail := head[1+ncols:]
	tail[0], tail[1], tail[2], tail[3], tail[4], tail[5], tail[6] = &sql.NullInt64{}, &sql.NullInt64{}, &sql.NullInt64{}, &r.a, &r.b, &r.c, &r.d
	for rows.Next() {
		if err := rows.Scan(head...); err != nil {
			return nil, nil, fmt.Errorf("store: list %s: %w", l.table, err)
		}
		if part == 0 {
			v := new(T)
			if err := l.scan(foldScanner{rows: rows, tail: 7}, v); err != nil {
				return nil, nil, fmt.Errorf("store: list %s: %w", l.table, err)
			}
			for _, f := range l.folds {
				f.init(v)
			}
			id := l.meta(v).ID
			byID[id] = v
			order = append(order, id)
			if memo != nil {
				memo.put(l.entity, id, "")
			}
			continue
		}
		r.rid, r.s1, r.s2 = tail[0].(*sql.NullInt64).Int64, tail[1].(*sql.NullInt64).Int64, tail[2].(*sql.NullInt64).Int64
		if memo != nil && part == photoPart {
			if _, found := byID[r.rid]; found {
				memo.put(l.entity, r.rid, r.a.String)
			}
			continue
		}
		if part > len(l.folds) {
			return nil, nil, fmt.Errorf("store: list %s: row of part %d", l.table, part)
		}
		if v, found := byID[r.rid]; found {
			l.folds[part-1].put(v, &r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: list %s: %w", l.table, err)
	}
	return byID, order, nil
}

// foldGet reads one record with its parts in one statement (PostgreSQL),
// where reading by id took a statement per part.
func (l loader[T]) foldGet(t txq, id int64) (T, error) {
	var zero T
	byID, _, err := l.foldRead(t, "SELECT id FROM "+l.table+" WHERE id = $1", []any{id})
	if err != nil {
		return zero, err
	}
	v, ok := byID[id]
	if !ok {
		return zero, NotFound(l.name, id)
	}
	return *v, nil
}

// itemsFold is itemsPart folded: the numbers of a line item travel as one
// JSON array (PostgreSQL's json_build_array), its texts as they are.
func itemsFold[T any](owner string, field func(v *T) *[]crm.LineItem) foldPart[T] {
	return foldPart[T]{
		sql: `SELECT owner_id, sort, id, json_build_array(product_id, service_id, COALESCE(variant_id, 0), price, quantity, discount_rate, discount,
				vat_rate, vat_included, sum, tax)::text, name, unit, properties FROM line_items
			WHERE owner_type = '` + owner + `' AND owner_id IN (SELECT id FROM m)`,
		init: func(v *T) { *field(v) = []crm.LineItem{} },
		put: func(v *T, r *foldRow) {
			it := crm.LineItem{ID: r.s2, Name: r.b.String, Unit: r.c.String}
			var vat *int64
			nums := []any{&it.ProductID, &it.ServiceID, &it.VariantID, (*int64)(&it.Price), (*int64)(&it.Quantity), (*int64)(&it.DiscountRate),
				(*int64)(&it.Discount), &vat, &it.VATIncluded, (*int64)(&it.Sum), (*int64)(&it.Tax)}
			// Written by the statement above and by the store: well formed.
			_ = json.Unmarshal([]byte(r.a.String), &nums)
			if vat != nil {
				a := crm.Amount(*vat)
				it.VATRate = &a
			}
			_ = json.Unmarshal([]byte(r.d.String), &it.Properties)
			*field(v) = append(*field(v), it)
		},
	}
}
