package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/crm"
)

// DupGroup is a set of live records of one entity sharing a key.
type DupGroup struct {
	By    string // phone, email, inn, name
	Value string
	IDs   []int64
}

// maxDupGroups bounds one listing.
const maxDupGroups = 100

// DuplicateGroups lists the live records of entity (lead, contact,
// account) that share a phone or e-mail (normalized), an INN, or a name
// typed the same, oldest record first in each group; at most 100 groups.
func (s *Store) DuplicateGroups(ctx context.Context, entity string) ([]DupGroup, error) {
	table, ok := entityTables[entity]
	if !ok || (entity != EntityLead && entity != EntityContact && entity != EntityAccount) {
		return nil, fmt.Errorf("store: duplicates of %q: not a lead, contact or account", entity)
	}
	q := s.rq(Unscoped(ctx))
	var out []DupGroup
	groups := func(by, query string, args ...any) error {
		if len(out) >= maxDupGroups {
			return nil
		}
		rows, err := q.q.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("store: duplicates of %s by %s: %w", entity, by, err)
		}
		defer rows.Close()
		var keys [][2]string
		for rows.Next() {
			var kind, v string
			if err := rows.Scan(&kind, &v); err != nil {
				return err
			}
			keys = append(keys, [2]string{kind, v})
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		for _, k := range keys {
			if len(out) >= maxDupGroups {
				break
			}
			g := DupGroup{By: by, Value: k[1]}
			var idq string
			var idArgs []any
			switch by {
			case "phone", "email":
				g.By = map[string]string{"PHONE": "phone", "EMAIL": "email"}[k[0]]
				kind, err := commKindSQL(k[0])
				if err != nil {
					return err
				}
				idq = "SELECT DISTINCT c.record_id FROM comms c JOIN " + table + " r ON r.id = c.record_id AND r.deleted_at = 0 WHERE c.entity = $1 AND c.kind = " + kind + " AND c.normalized = $2 ORDER BY c.record_id"
				idArgs = []any{entity, k[1]}
			case "inn":
				idq = "SELECT id FROM accounts WHERE deleted_at = 0 AND inn = $1 ORDER BY id"
				idArgs = []any{k[1]}
			default:
				idq = "SELECT id FROM " + table + " WHERE deleted_at = 0 AND " + nameExpr(entity) + " = $1 ORDER BY id"
				idArgs = []any{k[1]}
			}
			ids, err := queryIDs(ctx, q, idq, idArgs...)
			if err != nil {
				return fmt.Errorf("store: duplicates of %s by %s: %w", entity, by, err)
			}
			if len(ids) > 1 {
				g.IDs = ids
				out = append(out, g)
			}
		}
		return nil
	}
	err := groups("phone", `SELECT c.kind, c.normalized FROM comms c JOIN `+table+` r ON r.id = c.record_id AND r.deleted_at = 0
		WHERE c.entity = $1 AND c.kind IN ('PHONE', 'EMAIL') AND c.normalized <> ''
		GROUP BY c.kind, c.normalized HAVING COUNT(DISTINCT c.record_id) > 1 ORDER BY c.kind DESC, c.normalized LIMIT 100`, entity)
	if err == nil && entity == EntityAccount {
		err = groups("inn", `SELECT 'INN', inn FROM accounts WHERE deleted_at = 0 AND inn <> '' GROUP BY inn HAVING COUNT(*) > 1 ORDER BY inn LIMIT 100`)
	}
	if err == nil {
		n := nameExpr(entity)
		err = groups("name", `SELECT 'NAME', `+n+` FROM `+table+` WHERE deleted_at = 0 AND `+n+` <> ' ' AND `+n+` <> '' GROUP BY `+n+` HAVING COUNT(*) > 1 ORDER BY 2 LIMIT 100`)
	}
	return out, err
}

// nameExpr is the name a record is known by, as typed: a person's with
// the company for a lead.
func nameExpr(entity string) string {
	switch entity {
	case EntityLead:
		return "(name || ' ' || last_name || ' ' || company_title)"
	case EntityContact:
		return "(name || ' ' || last_name)"
	}
	return "title"
}

func queryIDs(ctx context.Context, q txq, query string, args ...any) ([]int64, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// commKindSQL is the SQL literal of a comm kind. Queries on comms name
// the kind as a literal, never as a parameter: the partial indexes on
// comms (phone tails, e-mail domains: WHERE kind = 'PHONE' …) make
// SQLite's planner read a bound kind to judge them, and a statement
// whose plan read a bound value is compiled again at every new binding
// — on the lead-create path that recompiling was a fifth of the CPU.
func commKindSQL(kind string) (string, error) {
	switch kind {
	case crm.KindPhone:
		return "'PHONE'", nil
	case crm.KindEmail:
		return "'EMAIL'", nil
	}
	return "", fmt.Errorf("store: comms: unknown kind %q", kind)
}

// CommProbe is one phone or e-mail (kind PHONE or EMAIL, the value as
// typed) looked for among the live records of Entity.
type CommProbe struct {
	Entity, Kind, Value string
}

// CommsPresent reports, for each probe, whether a live record of its
// entity has that phone or e-mail: one statement and one snapshot for
// all of them — a duplicate check of a new lead asks four (its phone and
// e-mail among leads and contacts), and on SQLite each separate read
// starts a read transaction that re-reads the pages a writer changed.
func (s *Store) CommsPresent(ctx context.Context, probes []CommProbe) ([]bool, error) {
	out := make([]bool, len(probes))
	if len(probes) == 0 {
		return out, nil
	}
	q, args, err := commsPresentSQL(probes, 0)
	if err != nil {
		return nil, err
	}
	ids, err := queryIDs(ctx, s.rq(Unscoped(ctx)), q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: comms present: %w", err)
	}
	for _, i := range ids {
		out[i] = true
	}
	return out, nil
}

// commsPresentSQL is CommsPresent's statement, its parameters numbered
// after the first n: a row holding i for each probe i found.
func commsPresentSQL(probes []CommProbe, n int) (string, []any, error) {
	var b strings.Builder
	args := make([]any, 0, len(probes))
	// A value is probed in several entities (a lead's phone among leads
	// and contacts): its key is parsed once.
	keys := make(map[CommProbe]string, len(probes))
	for i, p := range probes {
		table, ok := entityTables[p.Entity]
		if !ok {
			return "", nil, fmt.Errorf("store: comms of %q: unknown entity", p.Entity)
		}
		kindSQL, err := commKindSQL(p.Kind)
		if err != nil {
			return "", nil, err
		}
		vk := CommProbe{Kind: p.Kind, Value: p.Value}
		norm, ok := keys[vk]
		if !ok {
			norm = crm.PhoneKey(p.Value)
			if p.Kind == crm.KindEmail {
				norm, _ = crm.NormalizeEmail(p.Value)
			}
			keys[vk] = norm
		}
		args = append(args, norm)
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		// entity is one of entityTables' keys: a literal, like the kind.
		fmt.Fprintf(&b, "SELECT %d WHERE EXISTS (SELECT 1 FROM comms c JOIN %s r ON r.id = c.record_id AND r.deleted_at = 0 WHERE c.kind = %s AND c.normalized = $%d AND c.entity = '%s')",
			i, table, kindSQL, n+len(args), p.Entity)
	}
	return b.String(), args, nil
}

// CommsCheck asks CreateLead for CommsPresent of its probes as the
// database was before the new lead (WithCommsCheck): a duplicate rule
// that only warns looks with the create instead of a read before it. On
// PostgreSQL a plain lead's one statement carries the probes (a CTE, in
// the statement's snapshot: the new lead's own comms are not seen — a
// round trip fewer on every create); otherwise CreateLead probes before
// it writes. Found has one answer per probe once Done.
type CommsCheck struct {
	Probes []CommProbe
	Found  []bool
	Done   bool
}

type commsCheckKey struct{}

// WithCommsCheck has the CreateLead called with ctx answer c.
func WithCommsCheck(ctx context.Context, c *CommsCheck) context.Context {
	return context.WithValue(ctx, commsCheckKey{}, c)
}

// commsCheckOf is ctx's CommsCheck still to be answered, or nil.
func commsCheckOf(ctx context.Context) *CommsCheck {
	c, _ := ctx.Value(commsCheckKey{}).(*CommsCheck)
	if c == nil || c.Done {
		return nil
	}
	return c
}
