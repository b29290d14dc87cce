package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/obmen/obmen/internal/crm"
)

// scoped are the entities whose records belong to a responsible user.
// Products, services and catalogs are shared by everyone.
var scoped = map[string]bool{
	EntityLead: true, EntityContact: true, EntityAccount: true, EntityDeal: true, EntitySalesOrder: true,
	EntityInvoice: true, EntityTicket: true, EntityActivity: true,
}

type scopeKey struct{}

// WithScope limits what the store shows and changes through ctx to the
// records userID is responsible for: lists leave the others out, reads,
// changes, deletes and timelines of them answer ErrNotFound. The surfaces
// (REST API, Bitrix24 REST, web UI) scope each request with ScopeFor.
func WithScope(ctx context.Context, userID int64) context.Context {
	return context.WithValue(ctx, scopeKey{}, userID)
}

// scopeOf is the user a request is limited to, if any.
func scopeOf(ctx context.Context) (int64, bool) {
	id, ok := ctx.Value(scopeKey{}).(int64)
	return id, ok
}

// IsScoped reports whether ctx is limited to one user's records.
func IsScoped(ctx context.Context) bool {
	_, ok := scopeOf(ctx)
	return ok
}

// ScopeCondition is the SQL condition that limits a query over entity's
// table (aliased alias) to the request's records, or "" when the request
// is not limited; arg binds a value and returns its placeholder. Packages
// with their own list SQL (the Bitrix24 REST) add it to their WHERE.
func ScopeCondition(ctx context.Context, entity, alias string, arg func(any) string) string {
	uid, ok := scopeOf(ctx)
	if !ok {
		return ""
	}
	switch entity {
	case "requisite":
		// A requisite goes with its owner, an account or a contact.
		return requisiteScope(alias, arg, uid)
	case "bank_detail":
		return alias + ".requisite_id IN (SELECT rq.id FROM requisites rq WHERE " + requisiteScope("rq", arg, uid) + ")"
	}
	if !scoped[entity] {
		return ""
	}
	return alias + ".assigned_by_id = " + arg(uid)
}

func requisiteScope(alias string, arg func(any) string, uid int64) string {
	return "((" + alias + ".entity = 'account' AND " + alias + ".record_id IN (SELECT id FROM accounts WHERE assigned_by_id = " + arg(uid) + ")) OR (" +
		alias + ".entity = 'contact' AND " + alias + ".record_id IN (SELECT id FROM contacts WHERE assigned_by_id = " + arg(uid) + ")))"
}

// SeesAll reports whether a user sees every record: administrators do,
// managers when an administrator granted it.
func (s *Store) SeesAll(ctx context.Context, u crm.User) (bool, error) {
	if u.Role == crm.RoleAdmin {
		return true, nil
	}
	var all bool
	err := s.db.Reader().QueryRowContext(ctx, "SELECT see_all FROM user_access WHERE user_id = $1", u.ID).Scan(&all)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: access of user %d: %w", u.ID, err)
	}
	return all, nil
}

// ScopeFor returns ctx limited to u's records unless u sees all.
func (s *Store) ScopeFor(ctx context.Context, u crm.User) (context.Context, error) {
	all, err := s.SeesAll(ctx, u)
	if err != nil || all {
		return ctx, err
	}
	return WithScope(ctx, u.ID), nil
}

// SetSeesAll grants a manager the sight of every record, or takes it back.
func (s *Store) SetSeesAll(ctx context.Context, actor crm.Actor, userID int64, all bool) error {
	return s.Write(ctx, actor, func(t *Tx) error {
		_, err := t.tx.ExecContext(t.ctx, `INSERT INTO user_access (user_id, see_all) VALUES ($1, $2)
			ON CONFLICT (user_id) DO UPDATE SET see_all = EXCLUDED.see_all`, userID, all)
		if err != nil {
			return fmt.Errorf("store: set access of user %d: %w", userID, err)
		}
		return nil
	})
}

// allowed answers ErrNotFound when a scoped request touches a record of
// entity that another user is responsible for: to such a request, the
// record does not exist.
func allowed(ctx context.Context, entity string, id, assignedTo int64) error {
	if uid, ok := scopeOf(ctx); ok && scoped[entity] && assignedTo != uid {
		return NotFound(entity, id)
	}
	return nil
}

// allowedID is allowed for a record known by id only.
func allowedID(t txq, entity string, id int64) error {
	uid, ok := scopeOf(t.ctx)
	if !ok || !scoped[entity] {
		return nil
	}
	var assigned int64
	err := t.q.QueryRowContext(t.ctx, "SELECT assigned_by_id FROM "+entityTables[entity]+" WHERE id = $1", id).Scan(&assigned)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && assigned != uid) {
		return NotFound(entity, id)
	}
	if err != nil {
		return fmt.Errorf("store: %s %d: %w", entity, id, err)
	}
	return nil
}

// scoped1 returns v, or ErrNotFound when the request may not see it.
func scoped1[T any, P record[T]](ctx context.Context, entity string, v T, err error) (T, error) {
	if err != nil {
		return v, err
	}
	m := P(&v).RecordMeta()
	if err := allowed(ctx, entity, m.ID, m.AssignedByID); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}
