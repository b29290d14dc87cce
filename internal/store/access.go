package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
)

// ErrForbidden is a change a request may see but not make: a record of a
// user whose records an administrator granted it to read only.
var ErrForbidden = errors.New("forbidden")

// scoped are the entities whose records belong to a responsible user.
// Products, services and catalogs are shared by everyone.
var scoped = map[string]bool{
	EntityLead: true, EntityContact: true, EntityAccount: true, EntityDeal: true, EntitySalesOrder: true,
	EntityInvoice: true, EntityTicket: true, EntityActivity: true,
	EntityMessage: true,
}

// Scope is what one request may see and change: the records of the users
// in See, and change those of the users in Edit (a subset of See), or all
// when SeeAll/EditAll. A manager's own id is always in both.
type Scope struct {
	UserID  int64
	SeeAll  bool
	EditAll bool
	See     []int64
	Edit    []int64
}

// Sees reports whether the scope shows records owner is responsible for.
func (sc *Scope) Sees(owner int64) bool { return sc.SeeAll || slices.Contains(sc.See, owner) }

// Edits reports whether the scope changes records owner is responsible for.
func (sc *Scope) Edits(owner int64) bool { return sc.EditAll || slices.Contains(sc.Edit, owner) }

// cond is the SQL condition "column IN (owners)" of the scope's reads
// (edit: its changes), or "" when it is not limited.
func (sc *Scope) cond(column string, arg func(any) string, edit bool) string {
	all, ids := sc.SeeAll, sc.See
	if edit {
		all, ids = sc.EditAll, sc.Edit
	}
	if all {
		return ""
	}
	if len(ids) == 0 {
		return "1 = 0"
	}
	ph := make([]string, len(ids))
	for i, id := range ids {
		ph[i] = arg(id)
	}
	return column + " IN (" + strings.Join(ph, ", ") + ")"
}

type scopeKey struct{}

// WithScope limits what the store shows and changes through ctx to the
// records userID is responsible for: lists leave the others out, reads,
// changes, deletes and timelines of them answer ErrNotFound. The surfaces
// (REST API, Bitrix24 REST, web UI) scope each request with ScopeFor,
// which adds what an administrator granted.
func WithScope(ctx context.Context, userID int64) context.Context {
	return WithScopeOf(ctx, &Scope{UserID: userID, See: []int64{userID}, Edit: []int64{userID}})
}

// WithScopeOf limits ctx to sc.
func WithScopeOf(ctx context.Context, sc *Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, sc)
}

// scopeOf is the scope a request is limited to, if any.
func scopeOf(ctx context.Context) (*Scope, bool) {
	sc, ok := ctx.Value(scopeKey{}).(*Scope)
	return sc, ok && sc != nil
}

// ScopeOf is the scope ctx is limited to, nil when it is not.
func ScopeOf(ctx context.Context) *Scope {
	sc, _ := scopeOf(ctx)
	return sc
}

// Unscoped is ctx without a scope: for the system's own lookups, which
// must see every record whoever triggered them.
func Unscoped(ctx context.Context) context.Context {
	return context.WithValue(ctx, scopeKey{}, (*Scope)(nil))
}

// IsScoped reports whether ctx is limited in what it sees.
func IsScoped(ctx context.Context) bool {
	sc, ok := scopeOf(ctx)
	return ok && !sc.SeeAll
}

// ScopeCondition is the SQL condition that limits a query over entity's
// table (aliased alias) to the records the request may see, or "" when
// the request is not limited; arg binds a value and returns its
// placeholder. Packages with their own list SQL (the Bitrix24 REST) add
// it to their WHERE.
func ScopeCondition(ctx context.Context, entity, alias string, arg func(any) string) string {
	sc, ok := scopeOf(ctx)
	if !ok {
		return ""
	}
	return sc.entityCond(entity, alias, arg, false)
}

func (sc *Scope) entityCond(entity, alias string, arg func(any) string, edit bool) string {
	switch entity {
	case "requisite":
		// A requisite goes with its owner, an account or a contact.
		return sc.requisiteCond(alias, arg, edit)
	case "bank_detail", "requisite_address":
		// Rows of a requisite (bank_details, requisite_addresses).
		c := sc.requisiteCond("rq", arg, edit)
		if c == "" {
			return ""
		}
		return alias + ".requisite_id IN (SELECT rq.id FROM requisites rq WHERE " + c + ")"
	}
	if !scoped[entity] {
		return ""
	}
	return sc.cond(alias+".assigned_by_id", arg, edit)
}

func (sc *Scope) requisiteCond(alias string, arg func(any) string, edit bool) string {
	a, c := sc.cond("assigned_by_id", arg, edit), sc.cond("assigned_by_id", arg, edit)
	if a == "" {
		return ""
	}
	return "((" + alias + ".entity = 'account' AND " + alias + ".record_id IN (SELECT id FROM accounts WHERE " + a + ")) OR (" +
		alias + ".entity = 'contact' AND " + alias + ".record_id IN (SELECT id FROM contacts WHERE " + c + ")))"
}

// Grant lets a manager see the records of another user (OwnerID), or of
// every user (OwnerID 0), and change them too when Edit.
type Grant struct {
	OwnerID int64 `json:"owner_id"`
	Edit    bool  `json:"edit"`
}

// Grants returns what an administrator granted a user, by owner.
func (s *Store) Grants(ctx context.Context, userID int64) ([]Grant, error) {
	return grantsIn(ctx, s.db.Reader(), userID)
}

// grantsIn is Grants read through q.
func grantsIn(ctx context.Context, q querier, userID int64) ([]Grant, error) {
	rows, err := q.QueryContext(ctx, "SELECT owner_id, can_edit FROM access_grants WHERE user_id = $1 ORDER BY owner_id", userID)
	if err != nil {
		return nil, fmt.Errorf("store: grants of user %d: %w", userID, err)
	}
	defer rows.Close()
	out := []Grant{}
	for rows.Next() {
		var g Grant
		if err := rows.Scan(&g.OwnerID, &g.Edit); err != nil {
			return nil, fmt.Errorf("store: grants of user %d: %w", userID, err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: grants of user %d: %w", userID, err)
	}
	return out, nil
}

// SetGrants replaces what a user is granted. Each owner must be another
// existing user (or 0 for all); a grant of all with edit makes the user
// see and change every record, as an administrator does.
func (s *Store) SetGrants(ctx context.Context, actor crm.Actor, userID int64, gs []Grant) error {
	seen := map[int64]bool{}
	for i, g := range gs {
		field := "grants[" + strconv.Itoa(i) + "].owner_id"
		switch {
		case g.OwnerID < 0:
			return crm.Invalid(field, "%d is not a user id", g.OwnerID)
		case g.OwnerID == userID:
			return crm.Invalid(field, "a user always sees their own records")
		case seen[g.OwnerID]:
			return crm.Invalid(field, "user %d is granted twice", g.OwnerID)
		}
		seen[g.OwnerID] = true
	}
	return s.Write(ctx, actor, func(t *Tx) error {
		var one int
		if err := t.tx.QueryRowContext(t.ctx, "SELECT 1 FROM users WHERE id = $1", userID).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return NotFound("user", userID)
			}
			return fmt.Errorf("store: grants of user %d: %w", userID, err)
		}
		for i, g := range gs {
			if g.OwnerID == 0 {
				continue
			}
			if err := t.tx.QueryRowContext(t.ctx, "SELECT 1 FROM users WHERE id = $1", g.OwnerID).Scan(&one); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return crm.Invalid("grants["+strconv.Itoa(i)+"].owner_id", "no user with id %d", g.OwnerID)
				}
				return fmt.Errorf("store: grants of user %d: %w", userID, err)
			}
		}
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM access_grants WHERE user_id = $1", userID); err != nil {
			return fmt.Errorf("store: grants of user %d: %w", userID, err)
		}
		for _, g := range gs {
			if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO access_grants (user_id, owner_id, can_edit) VALUES ($1, $2, $3)",
				userID, g.OwnerID, g.Edit); err != nil {
				return fmt.Errorf("store: grants of user %d: %w", userID, err)
			}
		}
		return nil
	})
}

// ScopeOfUser is what u may see and change: everything for an
// administrator (nil), else their own records and what was granted.
func (s *Store) ScopeOfUser(ctx context.Context, u crm.User) (*Scope, error) {
	return scopeOfUserIn(ctx, s.db.Reader(), u)
}

// scopeOfUserIn is ScopeOfUser with the grants read through q.
func scopeOfUserIn(ctx context.Context, q querier, u crm.User) (*Scope, error) {
	if u.Role == crm.RoleAdmin {
		return nil, nil
	}
	gs, err := grantsIn(ctx, q, u.ID)
	if err != nil {
		return nil, err
	}
	sc := &Scope{UserID: u.ID, See: []int64{u.ID}, Edit: []int64{u.ID}}
	for _, g := range gs {
		if g.OwnerID == 0 {
			sc.SeeAll = true
			sc.EditAll = sc.EditAll || g.Edit
			continue
		}
		sc.See = append(sc.See, g.OwnerID)
		if g.Edit {
			sc.Edit = append(sc.Edit, g.OwnerID)
		}
	}
	if sc.SeeAll && sc.EditAll {
		return nil, nil
	}
	return sc, nil
}

// SeesAll reports whether a user sees and changes every record:
// administrators do, managers when an administrator granted it.
func (s *Store) SeesAll(ctx context.Context, u crm.User) (bool, error) {
	sc, err := s.ScopeOfUser(ctx, u)
	return sc == nil && err == nil, err
}

// ScopeFor returns ctx limited to what u may see and change.
func (s *Store) ScopeFor(ctx context.Context, u crm.User) (context.Context, error) {
	sc, err := s.ScopeOfUser(ctx, u)
	if err != nil || sc == nil {
		return ctx, err
	}
	return WithScopeOf(ctx, sc), nil
}

// SetSeesAll grants a manager the sight and change of every record, or
// takes it back (other grants stay).
func (s *Store) SetSeesAll(ctx context.Context, actor crm.Actor, userID int64, all bool) error {
	gs, err := s.Grants(ctx, userID)
	if err != nil {
		return err
	}
	gs = slices.DeleteFunc(gs, func(g Grant) bool { return g.OwnerID == 0 })
	if all {
		gs = append(gs, Grant{OwnerID: 0, Edit: true})
	}
	return s.SetGrants(ctx, actor, userID, gs)
}

// allowed answers ErrNotFound when a scoped request reads a record of
// entity that it may not see: to such a request, the record does not
// exist.
func allowed(ctx context.Context, entity string, id, assignedTo int64) error {
	if sc, ok := scopeOf(ctx); ok && scoped[entity] && !sc.Sees(assignedTo) {
		return NotFound(entity, id)
	}
	return nil
}

// editable is allowed for a change: ErrNotFound for a record the request
// may not see, ErrForbidden for one it may only read.
func editable(ctx context.Context, entity string, id, assignedTo int64) error {
	if err := allowed(ctx, entity, id, assignedTo); err != nil {
		return err
	}
	if sc, ok := scopeOf(ctx); ok && scoped[entity] && !sc.Edits(assignedTo) {
		return fmt.Errorf("store: %s %d is read-only to user %d: %w", entity, id, sc.UserID, ErrForbidden)
	}
	return nil
}

// CanChange reports whether the request may change a record of entity
// that assignedTo is responsible for (false: it may at most view it), so
// that a page shows edit controls only where a save would be accepted.
func CanChange(ctx context.Context, entity string, assignedTo int64) bool {
	return editable(ctx, entity, 0, assignedTo) == nil
}

// recordState is who is responsible for a record of entity and whether
// it is in the recycle bin, with no access rule applied; ErrNotFound when
// it does not exist.
func recordState(t txq, entity string, id int64) (assigned int64, deleted bool, err error) {
	var deletedAt int64
	err = t.q.QueryRowContext(t.ctx, "SELECT assigned_by_id, deleted_at FROM "+entityTables[entity]+" WHERE id = $1", id).Scan(&assigned, &deletedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, NotFound(entity, id)
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: %s %d: %w", entity, id, err)
	}
	return assigned, deletedAt != 0, nil
}

// assignedOf is who is responsible for a record known by id only; ok is
// false when the record does not exist or the request is not limited.
func assignedOf(t txq, entity string, id int64) (int64, bool, error) {
	if _, ok := scopeOf(t.ctx); !ok || !scoped[entity] {
		return 0, false, nil
	}
	var assigned int64
	err := t.q.QueryRowContext(t.ctx, "SELECT assigned_by_id FROM "+entityTables[entity]+" WHERE id = $1", id).Scan(&assigned)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, NotFound(entity, id)
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: %s %d: %w", entity, id, err)
	}
	return assigned, true, nil
}

// allowedID is allowed for a record known by id only.
func allowedID(t txq, entity string, id int64) error {
	assigned, ok, err := assignedOf(t, entity, id)
	if err != nil || !ok {
		return err
	}
	return allowed(t.ctx, entity, id, assigned)
}

// editableID is editable for a record known by id only. Inside a write
// (t from Tx.rq) it reads the row in the write's transaction, so a record
// reassigned by a concurrent write is judged as it is when changed.
func editableID(t txq, entity string, id int64) error {
	assigned, ok, err := assignedOf(t, entity, id)
	if err != nil || !ok {
		return err
	}
	return editable(t.ctx, entity, id, assigned)
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
