package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
)

// Audience decides whether a user may be told of a logged change: the
// event deliveries of a user's event.bind handlers (issue 25, finding 5)
// carry only what the user could read. It is made for one pass over the
// log (a dispatch, a delivery) and remembers users and owners it has
// looked up; it is not safe for concurrent use.
//
// The rule:
//   - a disabled or missing user is told of nothing;
//   - a change of a record that belongs to no one (a product) is told to
//     every active user;
//   - otherwise the user must see (Scope.Sees, grants included, as they
//     are now) the record's responsible user at the change: the one the
//     log names last at or before the event. A change that reassigns a
//     record is told to whom may see either side — the old responsible
//     user learns the record left, the new one that it came — and a
//     deletion, to whom could see the record before it.
//     A record the log has no owner for (written before the log, or its
//     owner's events pruned) is judged by its row, which a deletion to the
//     recycle bin keeps; a record gone for good is told to no one limited.
type Audience struct {
	q      querier
	users  map[int64]audienceUser
	owners map[int64][]int64 // event id → responsible users at it
}

type audienceUser struct {
	active bool
	scope  *Scope // nil: sees everything
}

// Audience starts a pass that reads what is committed (the read pool).
func (s *Store) Audience() *Audience { return AudienceIn(s.db.Reader()) }

// AudienceIn starts a pass that reads through q: a write transaction
// judging the events it read must see the users, grants, records and
// events as that transaction does. On SQLite a dispatch shares its
// transaction with the writes committed in the same group, and the
// events it reads may be theirs — not yet committed, so the read pool
// knows neither them nor the record rows, users and grants they wrote
// with them.
func AudienceIn(q db.Querier) *Audience {
	return &Audience{q: q, users: map[int64]audienceUser{}, owners: map[int64][]int64{}}
}

// Tells reports whether userID may be told of ev.
func (a *Audience) Tells(ctx context.Context, userID int64, ev *events.Event) (bool, error) {
	u, err := a.user(ctx, userID)
	if err != nil || !u.active {
		return false, err
	}
	if u.scope == nil || u.scope.SeeAll || (!scoped[ev.Entity] && ev.Entity != EntityBooking) {
		return true, nil
	}
	owners, err := a.ownersAt(ctx, ev)
	if err != nil {
		return false, err
	}
	for _, o := range owners {
		if u.scope.Sees(o) {
			return true, nil
		}
	}
	return false, nil
}

func (a *Audience) user(ctx context.Context, id int64) (audienceUser, error) {
	if u, ok := a.users[id]; ok {
		return u, nil
	}
	var u crm.User
	err := a.q.QueryRowContext(ctx, "SELECT id, role, active FROM users WHERE id = $1", id).Scan(&u.ID, &u.Role, &u.Active)
	if errors.Is(err, sql.ErrNoRows) {
		a.users[id] = audienceUser{}
		return audienceUser{}, nil
	}
	if err != nil {
		return audienceUser{}, fmt.Errorf("store: audience: user %d: %w", id, err)
	}
	sc, err := scopeOfUserIn(ctx, a.q, u)
	if err != nil {
		return audienceUser{}, err
	}
	au := audienceUser{active: u.Active, scope: sc}
	a.users[id] = au
	return au, nil
}

// ownersAt are the record's responsible users at ev: the last
// assigned_by_id the log gives at or before it (both sides when ev itself
// changes it), else the row's.
func (a *Audience) ownersAt(ctx context.Context, ev *events.Event) ([]int64, error) {
	if o, ok := a.owners[ev.ID]; ok {
		return o, nil
	}
	table := entityTables[ev.Entity]
	if ev.Entity == EntityBooking {
		table = "bookings"
	}
	var owners []int64
	var id int64
	var changes string
	// The events of one record are found by events_record (entity,
	// record_id, id), newest first; the LIKE only skips those that do not
	// name the field.
	err := a.q.QueryRowContext(ctx, `SELECT id, changes FROM events
		WHERE entity = $1 AND record_id = $2 AND id <= $3 AND changes LIKE '%"assigned_by_id"%'
		ORDER BY id DESC LIMIT 1`, ev.Entity, ev.RecordID, ev.ID).Scan(&id, &changes)
	switch {
	case err == nil:
		var m map[string]events.Change
		if err := json.Unmarshal([]byte(changes), &m); err != nil {
			return nil, fmt.Errorf("store: audience: event %d: %w", id, err)
		}
		c := m["assigned_by_id"]
		if n, ok := userIDOf(c.New); ok {
			owners = append(owners, n)
		}
		if n, ok := userIDOf(c.Old); ok && id == ev.ID {
			owners = append(owners, n)
		}
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("store: audience: owner of %s %d: %w", ev.Entity, ev.RecordID, err)
	}
	if len(owners) == 0 {
		var o int64
		err := a.q.QueryRowContext(ctx, "SELECT assigned_by_id FROM "+table+" WHERE id = $1", ev.RecordID).Scan(&o)
		switch {
		case err == nil:
			owners = append(owners, o)
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("store: audience: owner of %s %d: %w", ev.Entity, ev.RecordID, err)
		}
	}
	a.owners[ev.ID] = owners
	return owners, nil
}

// userIDOf reads a user id from a change's JSON value (a number, or a
// numeric string).
func userIDOf(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		n = json.Number(s)
	}
	v, err := strconv.ParseInt(n.String(), 10, 64)
	return v, err == nil
}
