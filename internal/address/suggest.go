package address

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/obmen/obmen/internal/db"
)

// Level is what a suggestion is for.
type Level string

// The levels a user fills in turn.
const (
	LevelCity   Level = "city"   // region, district, city, settlement, village
	LevelStreet Level = "street" // street or planning structure within a city
	LevelHouse  Level = "house"  // house within a street (or a village without streets)
)

var levelKind = map[Level]int{LevelCity: 1, LevelStreet: 2, LevelHouse: 3}

// ErrUnknownParent is returned when parent names no imported object.
var ErrUnknownParent = errors.New("address: parent is not an imported address object")

// Query is a suggest request.
type Query struct {
	Text   string
	Level  Level
	Parent string // OBJECTGUID of the chosen city (for streets) or street (for houses)
	Limit  int    // default 10, at most 50
}

// Suggestion is one address offered, with its parts and identifiers.
type Suggestion struct {
	Value      string `json:"value"`       // full address text
	Name       string `json:"name"`        // the object itself: "ул Ленина", "д 5"
	Level      Level  `json:"level"`       // city, street or house
	GARLevel   int    `json:"gar_level"`   // ГАР level: 1 region … 8 street, 10 house
	Postcode   string `json:"postcode"`    // of the object or its nearest ancestor that has one
	Region     string `json:"region"`      // "Респ Татарстан"
	RegionCode int    `json:"region_code"` // 16
	City       string `json:"city"`        // "г Казань", "д Ивановка"
	Street     string `json:"street"`      // "ул Баумана"
	House      string `json:"house"`       // "д 19 к 1"
	GUID       string `json:"fias_id"`     // OBJECTGUID
	KLADR      string `json:"kladr_id"`    // КЛАДР code, if the dump has one
}

// row is one object as stored.
type row struct {
	id, parent           int64
	level, kind, region  int
	guid, name, typeName string
	kladr, postcode      string
}

// Suggest returns the active objects of q.Level whose name (or house
// number) starts with q.Text, within q.Parent when given.
func Suggest(ctx context.Context, d *db.DB, q Query) ([]Suggestion, error) {
	kind, ok := levelKind[q.Level]
	if !ok {
		return nil, fmt.Errorf("address: level %q: want city, street or house", q.Level)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 10
	}
	limit = min(limit, 50)
	pq := parseQuery(q.Text, q.Level == LevelHouse)
	if pq.key == "" && q.Parent == "" {
		return []Suggestion{}, nil
	}
	lo, hi := pq.key, pq.key+"\U0010FFFF"
	// Every query walks one index range in key order and stops at the
	// limit; ranking (key, then the higher level first) and merging are
	// done here, so that no query sorts all the keys a short prefix
	// matches.
	sel := `SELECT k.key, o.object_id, COALESCE(o.parent_id, 0), o.level, o.kind, o.region, o.guid, o.name, o.type_name, o.kladr, o.postcode
		FROM address_keys k JOIN address_objects o ON o.object_id = k.object_id`
	var cand []keyed
	if q.Parent != "" {
		var pid int64
		var plevel, pregion int
		err := d.Read.QueryRowContext(ctx, `SELECT object_id, level, region FROM address_objects WHERE guid = $1 AND active = 1`,
			strings.ToLower(strings.TrimSpace(q.Parent))).Scan(&pid, &plevel, &pregion)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrUnknownParent
		}
		if err != nil {
			return nil, fmt.Errorf("address: suggest: parent: %w", err)
		}
		if kind == 1 {
			// A city within a region: the region's code is enough.
			if cand, err = fetch(ctx, d, sel+` WHERE k.kind = 1 AND k.key >= $1 AND k.key < $2 AND o.region = $3
				AND o.level > $4 AND ($5 = '' OR o.type_key = $5) ORDER BY k.key LIMIT $6`,
				lo, hi, pregion, plevel, pq.typeKey, limit*3); err != nil {
				return nil, err
			}
		} else {
			// Streets lie under the city directly or under one of its
			// planning structures (level 7: микрорайон, СНТ, территория),
			// houses under the street or straight under a village: one
			// index range per parent.
			parents := []int64{pid}
			rows, err := d.Read.QueryContext(ctx, `SELECT object_id FROM address_objects WHERE parent_id = $1 AND level = 7 AND active = 1 LIMIT 500`, pid)
			if err != nil {
				return nil, fmt.Errorf("address: suggest: %w", err)
			}
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return nil, fmt.Errorf("address: suggest: %w", err)
				}
				parents = append(parents, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("address: suggest: %w", err)
			}
			// Without statistics SQLite prefers the (kind, key) index,
			// walking every street of the region that has the prefix;
			// the parent's range is the one to walk. Import ends with
			// Analyze, after which the planner picks this index itself
			// (checked on a generated region of 20 cities); the hint
			// stays for databases imported before that, or restored
			// without sqlite_stat1.
			byParent := sel
			if d.Dialect == db.SQLite {
				byParent = strings.Replace(sel, "address_keys k", "address_keys k INDEXED BY address_keys_parent", 1)
			}
			for _, p := range parents {
				c, err := fetch(ctx, d, byParent+` WHERE k.parent_id = $1 AND k.kind = $2 AND k.key >= $3 AND k.key < $4
					AND ($5 = '' OR o.type_key = $5) ORDER BY k.key LIMIT $6`,
					p, kind, lo, hi, pq.typeKey, limit*3)
				if err != nil {
					return nil, err
				}
				cand = append(cand, c...)
			}
		}
	} else {
		var err error
		if cand, err = fetch(ctx, d, sel+` WHERE k.kind = $1 AND k.key >= $2 AND k.key < $3
			AND ($4 = '' OR o.type_key = $4) ORDER BY k.key LIMIT $5`,
			kind, lo, hi, pq.typeKey, limit*3); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(cand, func(a, b keyed) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		if a.level != b.level {
			return a.level - b.level
		}
		return int(a.id - b.id)
	})
	var found []row
	seen := map[int64]bool{}
	for _, c := range cand {
		if seen[c.id] || len(found) >= limit {
			continue
		}
		seen[c.id] = true
		found = append(found, c.row)
	}
	known, err := ancestorRows(ctx, d, found)
	if err != nil {
		return nil, err
	}
	out := make([]Suggestion, 0, len(found))
	for _, r := range found {
		out = append(out, compose(q.Level, r, ancestors(r, known)))
	}
	return out, nil
}

// keyed is a row found by one of its keys.
type keyed struct {
	key string
	row
}

// fetch runs a candidate query of Suggest.
func fetch(ctx context.Context, d *db.DB, q string, args ...any) ([]keyed, error) {
	rows, err := d.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("address: suggest: %w", err)
	}
	defer rows.Close()
	var out []keyed
	for rows.Next() {
		var r keyed
		if err := rows.Scan(&r.key, &r.id, &r.parent, &r.level, &r.kind, &r.region, &r.guid, &r.name, &r.typeName, &r.kladr, &r.postcode); err != nil {
			return nil, fmt.Errorf("address: suggest: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("address: suggest: %w", err)
	}
	return out, nil
}

// maxDepth bounds the walk up an object's ancestors (ГАР has 10 levels;
// a loop in the hierarchy ends there).
const maxDepth = 12

// ancestorRows reads the ancestors of the found rows, one query per level
// for all of them (results of one query share their region, city and
// street), keyed by object id.
func ancestorRows(ctx context.Context, d *db.DB, found []row) (map[int64]row, error) {
	known := map[int64]row{}
	asked := map[int64]bool{}
	var next []int64
	want := func(p int64) {
		if p != 0 && !asked[p] {
			asked[p] = true
			next = append(next, p)
		}
	}
	for _, r := range found {
		want(r.parent)
	}
	for depth := 0; len(next) > 0 && depth < maxDepth; depth++ {
		ids := next
		next = nil
		marks := make([]string, len(ids))
		args := make([]any, len(ids))
		for i, id := range ids {
			marks[i], args[i] = fmt.Sprintf("$%d", i+1), id
		}
		rows, err := d.Read.QueryContext(ctx, `SELECT object_id, COALESCE(parent_id, 0), level, kind, region, guid, name, type_name, kladr, postcode
			FROM address_objects WHERE object_id IN (`+strings.Join(marks, ", ")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("address: suggest: ancestors: %w", err)
		}
		var got []row
		for rows.Next() {
			var a row
			if err := rows.Scan(&a.id, &a.parent, &a.level, &a.kind, &a.region, &a.guid, &a.name, &a.typeName, &a.kladr, &a.postcode); err != nil {
				rows.Close()
				return nil, fmt.Errorf("address: suggest: ancestors: %w", err)
			}
			got = append(got, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("address: suggest: ancestors: %w", err)
		}
		for _, a := range got {
			known[a.id] = a
			want(a.parent)
		}
	}
	return known, nil
}

// ancestors returns r's ancestors from the region down, as far as known
// has them.
func ancestors(r row, known map[int64]row) []row {
	var chain []row
	for p, depth := r.parent, 0; p != 0 && depth < maxDepth; depth++ {
		a, ok := known[p]
		if !ok {
			break
		}
		chain = append(chain, a)
		p = a.parent
	}
	slices.Reverse(chain) // root first
	return chain
}

// compose builds a suggestion from an object and its ancestors.
func compose(level Level, r row, chain []row) Suggestion {
	s := Suggestion{Level: level, GARLevel: r.level, RegionCode: r.region, GUID: r.guid, KLADR: r.kladr, Postcode: r.postcode,
		Name: display(r.typeName, r.name)}
	all := append(chain, r)
	parts := make([]string, 0, len(all))
	for _, a := range all {
		text := display(a.typeName, a.name)
		parts = append(parts, text)
		switch {
		case a.level == 1:
			s.Region = text
			if TypeKey(a.typeName) == "г" {
				s.City = text // Москва, Санкт-Петербург, Севастополь
			}
		case a.level >= 4 && a.level <= 6:
			s.City = text
		case a.level == 7 || a.level == 8:
			if s.Street == "" || a.level == 8 {
				s.Street = text
			}
		case a.kind == 3:
			s.House = text
		}
	}
	if s.Postcode == "" {
		for i := len(chain) - 1; i >= 0; i-- {
			if chain[i].postcode != "" {
				s.Postcode = chain[i].postcode
				break
			}
		}
	}
	s.Value = strings.Join(parts, ", ")
	return s
}
