package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
)

// loader reads full records of one kind by id: the table's row, then what
// every record keeps beside it (custom fields, external ids) and what the
// kind adds (line items, contacts, catalogs, communications).
type loader[T any] struct {
	entity  string
	name    string // one record in messages: "sales order"
	table   string
	columns string
	// scan reads one row of columns into v (its Meta times included).
	scan  func(rows rowScanner, v *T) error
	meta  func(v *T) *crm.Meta
	extra func(v *T) *crm.Extra
	// parts read the kind's own side tables for the ids and return what
	// puts them into one record.
	parts []func(t txq, ids []int64) (func(id int64, v *T), error)
	// folds, when set, are all of the above parts (custom values and
	// external ids included) as foldParts: a plain page is then read in
	// one statement on PostgreSQL (fold.go).
	folds []foldPart[T]
}

// rowScanner is *sql.Rows, or a folded statement's row (foldScanner).
type rowScanner interface{ Scan(dest ...any) error }

// load reads the records, in the order of ids; missing ids are left out.
func (l loader[T]) load(t txq, ids []int64) ([]T, error) {
	if len(ids) == 0 {
		return []T{}, nil
	}
	rows, err := t.q.QueryContext(t.ctx, "SELECT "+l.columns+" FROM "+l.table+" WHERE id IN ("+placeholders(1, len(ids))+")", int64Args(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: load %s: %w", l.table, err)
	}
	defer rows.Close()
	byID := make(map[int64]*T, len(ids))
	for rows.Next() {
		v := new(T)
		if err := l.scan(rows, v); err != nil {
			return nil, fmt.Errorf("store: load %s: %w", l.table, err)
		}
		byID[l.meta(v).ID] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: load %s: %w", l.table, err)
	}
	custom, err := loadCustom(t, l.entity, ids)
	if err != nil {
		return nil, err
	}
	ext, err := loadExternal(t, l.entity, ids)
	if err != nil {
		return nil, err
	}
	puts := make([]func(int64, *T), 0, len(l.parts))
	for _, part := range l.parts {
		put, err := part(t, ids)
		if err != nil {
			return nil, err
		}
		puts = append(puts, put)
	}
	out := make([]T, 0, len(byID))
	for _, id := range ids {
		v, ok := byID[id]
		if !ok {
			continue
		}
		x := l.extra(v)
		x.Custom, x.ExternalIDs = custom[id], ext[id]
		for _, put := range puts {
			put(id, v)
		}
		out = append(out, *v)
	}
	return out, nil
}

// get reads one record, live or in the recycle bin.
func (l loader[T]) get(t txq, id int64) (T, error) {
	vs, err := l.load(t, []int64{id})
	if err != nil {
		var zero T
		return zero, err
	}
	if len(vs) == 0 {
		var zero T
		return zero, NotFound(l.name, id)
	}
	return vs[0], nil
}

// list reads a page of records.
func (l loader[T]) list(s *Store, t txq, sp spec, p ListParams) ([]T, string, error) {
	if l.folds != nil && !noFold && s.db.Dialect == db.Postgres {
		if vs, next, ok, err := l.foldList(s, t, sp, p); ok || err != nil {
			return vs, next, err
		}
	}
	page, err := s.listIDs(t, sp, p)
	if err != nil {
		return nil, "", err
	}
	vs, err := l.load(t, page.IDs)
	return vs, page.NextCursor, err
}

// itemsPart is the part of kinds with line items (their field given).
func itemsPart[T any](entity string, field func(v *T) *[]crm.LineItem) func(t txq, ids []int64) (func(int64, *T), error) {
	return func(t txq, ids []int64) (func(int64, *T), error) {
		items, err := loadItems(t, entity, ids)
		if err != nil {
			return nil, err
		}
		return func(id int64, v *T) { *field(v) = items[id] }, nil
	}
}

// catalogsPart is the part of catalogue items: the catalogs they are in.
func catalogsPart[T any](entity string, field func(v *T) *[]int64) func(t txq, ids []int64) (func(int64, *T), error) {
	return func(t txq, ids []int64) (func(int64, *T), error) {
		cats, err := loadMemberships(t, entity, ids)
		if err != nil {
			return nil, err
		}
		return func(id int64, v *T) { *field(v) = cats[id] }, nil
	}
}

// metaTimes scans into a record's Meta times: the row's created, updated
// and deleted microseconds.
type metaTimes struct{ created, updated, deleted int64 }

func (mt *metaTimes) set(m *crm.Meta) {
	m.CreatedAt, m.UpdatedAt, m.DeletedAt = fromMicro(mt.created), fromMicro(mt.updated), optTime(mt.deleted)
}

// commsPart is the part of people and companies: their phones, e-mails,
// sites and messengers.
func commsPart[T any](entity string, field func(v *T) *crm.Comms) func(t txq, ids []int64) (func(int64, *T), error) {
	return func(t txq, ids []int64) (func(int64, *T), error) {
		comms, err := loadComms(t, entity, ids)
		if err != nil {
			return nil, err
		}
		return func(id int64, v *T) { *field(v) = *comms[id] }, nil
	}
}

// idByNumber finds a numbered document (invoice, sales order) by its
// number, live or in the recycle bin (numbers are never reused).
func idByNumber[T any](ctx context.Context, s *Store, l loader[T], number string) (int64, error) {
	number = strings.TrimSpace(number)
	var id int64
	err := s.db.Read.QueryRowContext(ctx, "SELECT id FROM "+l.table+" WHERE number = $1", number).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, NotFound(l.name, number)
	}
	if err != nil {
		return 0, fmt.Errorf("store: %s %s: %w", l.name, number, err)
	}
	return id, nil
}
