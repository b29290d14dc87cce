package store

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// stampNew fills the meta of a record being created.
func (t *Tx) stampNew(m *crm.Meta) { stampNew(m, t.actor, t.now) }

func stampNew(m *crm.Meta, actor crm.Actor, now time.Time) {
	now = now.Truncate(time.Microsecond)
	m.CreatedByID = actor.UserID
	m.UpdatedByID = actor.UserID
	m.CreatedAt = now
	m.UpdatedAt = now
	m.DeletedAt = nil
	m.DeletedByID = 0
	if m.AssignedByID == 0 {
		m.AssignedByID = actor.UserID
	}
}

// stampUpdate fills the meta of a record being changed.
func (t *Tx) stampUpdate(m *crm.Meta) {
	m.UpdatedByID = t.actor.UserID
	m.UpdatedAt = t.now
}

// refs checks the references a record makes before it is written: the
// responsible user, dictionary codes, linked records. It reads through
// whatever t is (pool or transaction).
type refs struct {
	t   txq
	err error
}

func (r *refs) check(ok bool, field, format string, args ...any) {
	if r.err == nil && !ok {
		r.err = crm.Invalid(field, format, args...)
	}
}

func (r *refs) exists(field, query string, args ...any) bool {
	if r.err != nil {
		return true
	}
	var one int
	err := r.t.q.QueryRowContext(r.t.ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false
	}
	if err != nil {
		r.err = fmt.Errorf("store: check %s: %w", field, err)
		return true
	}
	return true
}

func (r *refs) user(field string, id int64) {
	if id == 0 {
		return
	}
	r.check(r.cachedExists(field, "SELECT 1 FROM users WHERE id = $1 AND active = TRUE", id), field, "no active user with id %d", id)
}

func (r *refs) status(field, entityID, code string) {
	if code == "" {
		return
	}
	r.check(r.cachedExists(field, "SELECT 1 FROM statuses WHERE entity_id = $1 AND status_id = $2", entityID, code), field, "%q is not in the %s dictionary", code, entityID)
}

func (r *refs) currency(field, code string) {
	r.check(r.cachedExists(field, "SELECT 1 FROM currencies WHERE code = $1 AND active = TRUE", code), field, "currency %s is not active", code)
}

// cachedExists is exists through the lookup cache: positive answers about
// dictionaries and users are remembered briefly; links to records are
// always read.
func (r *refs) cachedExists(field, query string, args ...any) bool {
	c := r.t.cache
	if c == nil {
		return r.exists(field, query, args...)
	}
	key := fmt.Sprint(query, args)
	if _, ok := c.get(key); ok {
		return true
	}
	ok := r.exists(field, query, args...)
	if ok && r.err == nil {
		c.put(key, true)
	}
	return ok
}

// record checks a link to another record: it must exist and, for a
// request limited in what it sees, be a record it may see — one it may
// not see answers as if it did not exist, so that a link neither reveals
// it nor puts the request's work into another user's timeline. Every
// reference a write makes goes through here.
func (r *refs) record(field, entity string, id int64) {
	r.linked(field, entity, id, true)
}

// anyRecord is record for a link that may point into the recycle bin (a
// deal's or a contact's lead, kept while the lead is deleted): any record
// that exists will do, if the request may see it.
func (r *refs) anyRecord(field, entity string, id int64) {
	r.linked(field, entity, id, false)
}

func (r *refs) linked(field, entity string, id int64, live bool) {
	if id == 0 || r.err != nil {
		return
	}
	table := entityTables[entity]
	where := " WHERE id = $1"
	if live {
		where += " AND deleted_at = 0"
	}
	sc, limited := scopeOf(r.t.ctx)
	if !limited || !scoped[entity] {
		r.check(r.exists(field, "SELECT 1 FROM "+table+where, id), field, "no %s with id %d", entity, id)
		return
	}
	var assigned int64
	err := r.t.q.QueryRowContext(r.t.ctx, "SELECT assigned_by_id FROM "+table+where, id).Scan(&assigned)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		r.check(false, field, "no %s with id %d", entity, id)
	case err != nil:
		r.err = fmt.Errorf("store: check %s: %w", field, err)
	default:
		r.check(sc.Sees(assigned), field, "no %s with id %d", entity, id)
	}
}

func (r *refs) custom(entity string, custom *map[string]any) {
	if r.err != nil {
		return
	}
	c, err := checkCustom(r.t, entity, *custom)
	if err != nil {
		r.err = err
		return
	}
	*custom = c
}

func (r *refs) items(field string, items []crm.LineItem) {
	if r.err != nil {
		return
	}
	r.err = resolveItems(r.t, field, items)
}

// sameJSON reports whether a and b encode identically.
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// clone deep-copies a record through JSON.
func clone[T any](v T) (T, error) {
	var out T
	b, err := json.Marshal(v)
	if err != nil {
		return out, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	err = d.Decode(&out)
	return out, err
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

func fromJSON(field, text string, dst any) error {
	if err := json.Unmarshal([]byte(text), dst); err != nil {
		return fmt.Errorf("store: decode %s: %w", field, err)
	}
	return nil
}

func normExtra(e *crm.Extra) {
	if e.Custom == nil {
		e.Custom = map[string]any{}
	}
	if e.ExternalIDs == nil {
		e.ExternalIDs = map[string]string{}
	}
}

func null() []byte { return []byte("null") }

func jsonRaw(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
