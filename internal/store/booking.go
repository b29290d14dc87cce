package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
)

// Entities of resource booking in the change-event log.
const (
	EntityResource = "resource"
	EntityBooking  = "booking"
)

// Resources are shared by everyone (like products); administrators change
// them (authz.Resources). A booking follows the record access rules of an
// activity: it belongs to its responsible user (assigned_by_id); a
// request limited in what it sees reads a booking when it sees the
// responsible user's records or those of a user involved (it is on that
// user's calendar), and changes or deletes it when it changes the
// responsible user's records.

const resourceColumns = "id, kind, name, capacity, active, created_at, updated_at"

func scanResources(t txq, query string, args ...any) ([]crm.Resource, error) {
	rows, err := t.q.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: load resources: %w", err)
	}
	defer rows.Close()
	out := []crm.Resource{}
	for rows.Next() {
		var r crm.Resource
		var created, updated int64
		if err := rows.Scan(&r.ID, &r.Kind, &r.Name, &r.Capacity, &r.Active, &created, &updated); err != nil {
			return nil, fmt.Errorf("store: load resources: %w", err)
		}
		r.CreatedAt, r.UpdatedAt = fromMicro(created), fromMicro(updated)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: load resources: %w", err)
	}
	return out, nil
}

// Resources lists the resources by kind and name; all: inactive ones too.
func (s *Store) Resources(ctx context.Context, all bool) ([]crm.Resource, error) {
	q := "SELECT " + resourceColumns + " FROM resources"
	if !all {
		q += " WHERE active = TRUE"
	}
	return scanResources(s.rq(ctx), q+" ORDER BY kind, name, id")
}

func getResource(t txq, id int64) (crm.Resource, error) {
	rs, err := scanResources(t, "SELECT "+resourceColumns+" FROM resources WHERE id = $1", id)
	if err != nil {
		return crm.Resource{}, err
	}
	if len(rs) == 0 {
		return crm.Resource{}, NotFound("resource", id)
	}
	return rs[0], nil
}

// GetResource returns one resource.
func (s *Store) GetResource(ctx context.Context, id int64) (crm.Resource, error) {
	return getResource(s.rq(ctx), id)
}

// CreateResource validates and stores a new resource with its create event.
func (s *Store) CreateResource(ctx context.Context, actor crm.Actor, r crm.Resource) (crm.Resource, error) {
	if err := r.Normalize(); err != nil {
		return r, err
	}
	err := s.Write(ctx, actor, func(t *Tx) error {
		r.CreatedAt, r.UpdatedAt = t.now, t.now
		if err := t.tx.QueryRowContext(t.ctx, `INSERT INTO resources (kind, name, capacity, active, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, r.Kind, r.Name, r.Capacity, r.Active, micro(t.now), micro(t.now)).Scan(&r.ID); err != nil {
			return fmt.Errorf("store: create resource: %w", err)
		}
		return t.EmitDiff(EntityResource, r.ID, events.Create, nil, r)
	})
	return r, err
}

// UpdateResource lets mutate change a resource and stores it with an
// update event naming the changed fields.
func (s *Store) UpdateResource(ctx context.Context, actor crm.Actor, id int64, mutate func(*crm.Resource) error) (crm.Resource, error) {
	var cur crm.Resource
	err := s.Write(ctx, actor, func(t *Tx) error {
		old, err := getResource(t.rq(), id)
		if err != nil {
			return err
		}
		cur = old
		if err := mutate(&cur); err != nil {
			return err
		}
		cur.ID, cur.CreatedAt, cur.UpdatedAt = old.ID, old.CreatedAt, old.UpdatedAt
		if err := cur.Normalize(); err != nil {
			return err
		}
		if cur == old {
			return nil
		}
		cur.UpdatedAt = t.now
		if _, err := t.tx.ExecContext(t.ctx, "UPDATE resources SET kind = $1, name = $2, capacity = $3, active = $4, updated_at = $5 WHERE id = $6",
			cur.Kind, cur.Name, cur.Capacity, cur.Active, micro(t.now), id); err != nil {
			return fmt.Errorf("store: update resource %d: %w", id, err)
		}
		return t.EmitDiff(EntityResource, id, events.Update, old, cur)
	})
	return cur, err
}

// DeleteResource removes a resource that no booking takes; one that has
// bookings is made inactive instead, so that the bookings keep its name.
func (s *Store) DeleteResource(ctx context.Context, actor crm.Actor, id int64) error {
	return s.Write(ctx, actor, func(t *Tx) error {
		old, err := getResource(t.rq(), id)
		if err != nil {
			return err
		}
		var n int
		if err := t.tx.QueryRowContext(t.ctx, "SELECT COUNT(*) FROM booking_resources WHERE resource_id = $1", id).Scan(&n); err != nil {
			return fmt.Errorf("store: delete resource %d: %w", id, err)
		}
		if n > 0 {
			return crm.Invalid("id", "resource %q has %d bookings; make it inactive instead", old.Name, n)
		}
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM resources WHERE id = $1", id); err != nil {
			return fmt.Errorf("store: delete resource %d: %w", id, err)
		}
		t.Emit(EntityResource, id, events.Delete, nil)
		return nil
	})
}

const (
	bookingColumns  = `id, start_at, end_at, service, entity, record_id, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at`
	bookingColumnsB = `b.id, b.start_at, b.end_at, b.service, b.entity, b.record_id, b.assigned_by_id, b.created_by_id, b.updated_by_id,
	b.created_at, b.updated_at`
)

// loadBookings reads the bookings a query selects (its columns are
// bookingColumns) with their resources and users.
func loadBookings(t txq, query string, args ...any) ([]crm.Booking, error) {
	rows, err := t.q.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: load bookings: %w", err)
	}
	out := []crm.Booking{}
	for rows.Next() {
		var b crm.Booking
		var start, end, created, updated int64
		if err := rows.Scan(&b.ID, &start, &end, &b.Service, &b.Entity, &b.RecordID, &b.AssignedByID, &b.CreatedByID, &b.UpdatedByID,
			&created, &updated); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: load bookings: %w", err)
		}
		b.StartAt, b.EndAt, b.CreatedAt, b.UpdatedAt = fromMicro(start), fromMicro(end), fromMicro(created), fromMicro(updated)
		b.ResourceIDs, b.Resources, b.Users = []int64{}, []crm.BookedResource{}, []crm.BookingUser{}
		out = append(out, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: load bookings: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]int64, len(out))
	at := make(map[int64]int, len(out))
	for i, b := range out {
		ids[i], at[b.ID] = b.ID, i
	}
	in := placeholders(1, len(ids))
	rows, err = t.q.QueryContext(t.ctx, `SELECT br.booking_id, r.id, r.kind, r.name FROM booking_resources br
		JOIN resources r ON r.id = br.resource_id WHERE br.booking_id IN (`+in+`) ORDER BY br.booking_id, r.name, r.id`, int64Args(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: load booked resources: %w", err)
	}
	for rows.Next() {
		var bid int64
		var r crm.BookedResource
		if err := rows.Scan(&bid, &r.ID, &r.Kind, &r.Name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: load booked resources: %w", err)
		}
		b := &out[at[bid]]
		b.Resources = append(b.Resources, r)
		b.ResourceIDs = append(b.ResourceIDs, r.ID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: load booked resources: %w", err)
	}
	rows, err = t.q.QueryContext(t.ctx, `SELECT booking_id, user_id, title, description FROM booking_users
		WHERE booking_id IN (`+in+`) ORDER BY booking_id, user_id`, int64Args(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: load booking users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var bid int64
		var u crm.BookingUser
		if err := rows.Scan(&bid, &u.UserID, &u.Title, &u.Description); err != nil {
			return nil, fmt.Errorf("store: load booking users: %w", err)
		}
		b := &out[at[bid]]
		b.Users = append(b.Users, u)
	}
	return out, rows.Err()
}

func getBooking(t txq, id int64) (crm.Booking, error) {
	bs, err := loadBookings(t, "SELECT "+bookingColumns+" FROM bookings WHERE id = $1", id)
	if err != nil {
		return crm.Booking{}, err
	}
	if len(bs) == 0 {
		return crm.Booking{}, NotFound("booking", id)
	}
	return bs[0], nil
}

// bookingSeen reports whether sc (nil: not limited) reads b.
func bookingSeen(sc *Scope, b crm.Booking) bool {
	if sc == nil || sc.Sees(b.AssignedByID) {
		return true
	}
	for _, u := range b.Users {
		if sc.Sees(u.UserID) {
			return true
		}
	}
	return false
}

// GetBooking returns a booking the request may see.
func (s *Store) GetBooking(ctx context.Context, id int64) (crm.Booking, error) {
	b, err := getBooking(s.rq(ctx), id)
	if err == nil && !bookingSeen(ScopeOf(ctx), b) {
		return crm.Booking{}, NotFound("booking", id)
	}
	return b, err
}

// BookingFilter selects bookings: those overlapping [From, To) when set,
// of one resource, of one user involved, made for one record.
type BookingFilter struct {
	From, To   time.Time
	ResourceID int64
	UserID     int64
	Entity     string
	RecordID   int64
	Limit      int // 0: 500
}

// Bookings lists the bookings the request may see that match f, by start.
func (s *Store) Bookings(ctx context.Context, f BookingFilter) ([]crm.Booking, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := "1 = 1"
	if !f.To.IsZero() {
		where += " AND b.start_at < " + arg(f.To.UnixMicro())
	}
	if !f.From.IsZero() {
		where += " AND b.end_at > " + arg(f.From.UnixMicro())
	}
	if f.ResourceID != 0 {
		where += " AND b.id IN (SELECT booking_id FROM booking_resources WHERE resource_id = " + arg(f.ResourceID) + ")"
	}
	if f.UserID != 0 {
		where += " AND b.id IN (SELECT booking_id FROM booking_users WHERE user_id = " + arg(f.UserID) + ")"
	}
	if f.Entity != "" {
		where += " AND b.entity = " + arg(f.Entity) + " AND b.record_id = " + arg(f.RecordID)
	}
	if sc, ok := scopeOf(ctx); ok && !sc.SeeAll {
		c := sc.cond("b.assigned_by_id", arg, false)
		u := sc.cond("bu.user_id", arg, false)
		where += " AND (" + c + " OR EXISTS (SELECT 1 FROM booking_users bu WHERE bu.booking_id = b.id AND " + u + "))"
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	return loadBookings(s.rq(ctx), "SELECT "+bookingColumnsB+" FROM bookings b WHERE "+where+
		" ORDER BY b.start_at, b.id LIMIT "+strconv.Itoa(limit), args...)
}

// checkBooking validates what a booking refers to, inside the write that
// stores it: its resources (a new one must be active; one the booking
// already took may have been made inactive since), the users involved,
// the responsible user and the record. It fills b.Resources and the
// default titles of the users' events.
func checkBooking(t *Tx, old, b *crm.Booking) error {
	r := refs{t: t.rq()}
	r.user("assigned_by_id", b.AssignedByID)
	for _, u := range b.Users {
		if old != nil && slices.ContainsFunc(old.Users, func(o crm.BookingUser) bool { return o.UserID == u.UserID }) {
			continue
		}
		r.user("users", u.UserID)
	}
	if b.Entity != "" && (old == nil || old.Entity != b.Entity || old.RecordID != b.RecordID) {
		_, known := entityTables[b.Entity]
		r.check(known, "entity", "%q is not a CRM entity", b.Entity)
		r.record("record_id", b.Entity, b.RecordID)
	}
	if r.err != nil {
		return r.err
	}
	b.Resources = b.Resources[:0]
	for _, id := range b.ResourceIDs {
		res, err := getResource(t.rq(), id)
		if errors.Is(err, ErrNotFound) {
			return crm.Invalid("resource_ids", "no %s with id %d", "resource", id)
		}
		if err != nil {
			return err
		}
		if !res.Active && (old == nil || !slices.Contains(old.ResourceIDs, id)) {
			return crm.Invalid("resource_ids", "resource %q is not active", res.Name)
		}
		b.Resources = append(b.Resources, crm.BookedResource{ID: res.ID, Kind: res.Kind, Name: res.Name})
	}
	slices.SortFunc(b.Resources, func(x, y crm.BookedResource) int {
		if x.Name != y.Name {
			if x.Name < y.Name {
				return -1
			}
			return 1
		}
		return int(x.ID - y.ID)
	})
	b.ResourceIDs = b.ResourceIDs[:0]
	for _, res := range b.Resources {
		b.ResourceIDs = append(b.ResourceIDs, res.ID)
	}
	slices.SortFunc(b.Users, func(x, y crm.BookingUser) int { return int(x.UserID - y.UserID) })
	for i := range b.Users {
		if b.Users[i].Title == "" {
			b.Users[i].Title = b.DefaultTitle()
		}
	}
	return nil
}

// refuseOverlap refuses a booking that takes a resource another booking
// holds for part of the same time. It runs inside the write that stores
// the booking: on SQLite writes are serial; on PostgreSQL the booked
// resources' rows are locked first (in id order, so that two bookings of
// the same resources wait for each other rather than deadlock), so two
// bookings made at once cannot both find the time free.
func (t *Tx) refuseOverlap(b *crm.Booking) error {
	ids := slices.Sorted(slices.Values(b.ResourceIDs))
	if t.store.db.Dialect == db.Postgres {
		if _, err := t.tx.ExecContext(t.ctx, "SELECT id FROM resources WHERE id IN ("+placeholders(1, len(ids))+") ORDER BY id FOR UPDATE",
			int64Args(ids)...); err != nil {
			return fmt.Errorf("store: lock resources: %w", err)
		}
	}
	for _, res := range b.Resources {
		var other, start, end int64
		err := t.tx.QueryRowContext(t.ctx, `SELECT booking_id, start_at, end_at FROM booking_resources
			WHERE resource_id = $1 AND start_at < $2 AND end_at > $3 AND booking_id <> $4 ORDER BY start_at LIMIT 1`,
			res.ID, b.EndAt.UnixMicro(), b.StartAt.UnixMicro(), b.ID).Scan(&other, &start, &end)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: check the time of resource %d: %w", res.ID, err)
		}
		return crm.Invalid("resource_ids", "resource %q is already booked from %s to %s (booking %d)", res.Name,
			fromMicro(start).Format(time.RFC3339), fromMicro(end).Format(time.RFC3339), other)
	}
	return nil
}

// saveBookingRows writes the booking's resources and users (replacing
// what was there).
func (t *Tx) saveBookingRows(b *crm.Booking, creating bool) error {
	if !creating {
		for _, q := range []string{"DELETE FROM booking_resources WHERE booking_id = $1", "DELETE FROM booking_users WHERE booking_id = $1"} {
			if _, err := t.tx.ExecContext(t.ctx, q, b.ID); err != nil {
				return fmt.Errorf("store: booking %d: %w", b.ID, err)
			}
		}
	}
	for _, id := range b.ResourceIDs {
		if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO booking_resources (booking_id, resource_id, start_at, end_at) VALUES ($1, $2, $3, $4)",
			b.ID, id, b.StartAt.UnixMicro(), b.EndAt.UnixMicro()); err != nil {
			return fmt.Errorf("store: booking %d: resource %d: %w", b.ID, id, err)
		}
	}
	for _, u := range b.Users {
		if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO booking_users (booking_id, user_id, title, description) VALUES ($1, $2, $3, $4)",
			b.ID, u.UserID, u.Title, u.Description); err != nil {
			return fmt.Errorf("store: booking %d: user %d: %w", b.ID, u.UserID, err)
		}
	}
	return nil
}

// CreateBooking validates and stores a new booking with its create event;
// a booking that overlaps another of one of its resources is refused
// with an error naming the resource and the other booking's time.
func (s *Store) CreateBooking(ctx context.Context, actor crm.Actor, b crm.Booking) (crm.Booking, error) {
	err := s.Write(ctx, actor, func(t *Tx) error {
		var err error
		b, err = t.CreateBooking(b)
		return err
	})
	return b, err
}

// CreateBooking is Store.CreateBooking inside t.
func (t *Tx) CreateBooking(b crm.Booking) (crm.Booking, error) {
	b.ID = 0
	if b.AssignedByID == 0 {
		b.AssignedByID = t.actor.UserID
	}
	if err := b.Normalize(); err != nil {
		return b, err
	}
	if sc, ok := scopeOf(t.ctx); ok && !sc.Edits(b.AssignedByID) {
		return b, crm.Invalid("assigned_by_id", "no active user with id %d", b.AssignedByID)
	}
	if err := checkBooking(t, nil, &b); err != nil {
		return b, err
	}
	if err := t.refuseOverlap(&b); err != nil {
		return b, err
	}
	b.CreatedByID, b.UpdatedByID, b.CreatedAt, b.UpdatedAt = t.actor.UserID, t.actor.UserID, t.now, t.now
	if err := t.tx.QueryRowContext(t.ctx, `INSERT INTO bookings (start_at, end_at, service, entity, record_id, assigned_by_id,
		created_by_id, updated_by_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		b.StartAt.UnixMicro(), b.EndAt.UnixMicro(), b.Service, b.Entity, b.RecordID, b.AssignedByID,
		b.CreatedByID, b.UpdatedByID, micro(t.now), micro(t.now)).Scan(&b.ID); err != nil {
		return b, fmt.Errorf("store: create booking: %w", err)
	}
	if err := t.saveBookingRows(&b, true); err != nil {
		return b, err
	}
	return b, t.EmitDiff(EntityBooking, b.ID, events.Create, nil, b)
}

// lockedBooking loads a booking to change inside t: it must be one the
// request sees and may change.
func (t *Tx) lockedBooking(id int64) (crm.Booking, error) {
	if t.store.db.Dialect == db.Postgres {
		if _, err := t.tx.ExecContext(t.ctx, "SELECT id FROM bookings WHERE id = $1 FOR UPDATE", id); err != nil {
			return crm.Booking{}, fmt.Errorf("store: lock booking %d: %w", id, err)
		}
	}
	b, err := getBooking(t.rq(), id)
	if err != nil {
		return b, err
	}
	sc := ScopeOf(t.ctx)
	if !bookingSeen(sc, b) {
		return crm.Booking{}, NotFound("booking", id)
	}
	if sc != nil && !sc.Edits(b.AssignedByID) {
		return crm.Booking{}, fmt.Errorf("store: booking %d: %w", id, ErrForbidden)
	}
	return b, nil
}

// UpdateBooking lets mutate change a booking and stores it with an update
// event naming the changed fields; the new time is checked against the
// other bookings of its resources as on create.
func (s *Store) UpdateBooking(ctx context.Context, actor crm.Actor, id int64, mutate func(*crm.Booking) error) (crm.Booking, error) {
	var cur crm.Booking
	err := s.Write(ctx, actor, func(t *Tx) error {
		old, err := t.lockedBooking(id)
		if err != nil {
			return err
		}
		cur = old
		cur.ResourceIDs = slices.Clone(old.ResourceIDs)
		cur.Resources = slices.Clone(old.Resources)
		cur.Users = slices.Clone(old.Users)
		if err := mutate(&cur); err != nil {
			return err
		}
		cur.ID, cur.CreatedByID, cur.CreatedAt, cur.UpdatedByID, cur.UpdatedAt = old.ID, old.CreatedByID, old.CreatedAt, old.UpdatedByID, old.UpdatedAt
		if cur.AssignedByID == 0 {
			cur.AssignedByID = old.AssignedByID
		}
		if err := cur.Normalize(); err != nil {
			return err
		}
		if sc, ok := scopeOf(t.ctx); ok && !sc.Edits(cur.AssignedByID) {
			return crm.Invalid("assigned_by_id", "no active user with id %d", cur.AssignedByID)
		}
		if err := checkBooking(t, &old, &cur); err != nil {
			return err
		}
		if err := t.refuseOverlap(&cur); err != nil {
			return err
		}
		ch, err := events.Diff(old, cur)
		if err != nil {
			return err
		}
		if len(ch) == 0 {
			return nil
		}
		cur.UpdatedByID, cur.UpdatedAt = t.actor.UserID, t.now
		if _, err := t.tx.ExecContext(t.ctx, `UPDATE bookings SET start_at = $1, end_at = $2, service = $3, entity = $4, record_id = $5,
			assigned_by_id = $6, updated_by_id = $7, updated_at = $8 WHERE id = $9`,
			cur.StartAt.UnixMicro(), cur.EndAt.UnixMicro(), cur.Service, cur.Entity, cur.RecordID, cur.AssignedByID,
			cur.UpdatedByID, micro(t.now), id); err != nil {
			return fmt.Errorf("store: update booking %d: %w", id, err)
		}
		if err := t.saveBookingRows(&cur, false); err != nil {
			return err
		}
		return t.EmitDiff(EntityBooking, id, events.Update, old, cur)
	})
	return cur, err
}

// DeleteBooking removes a booking: its resources are free again.
func (s *Store) DeleteBooking(ctx context.Context, actor crm.Actor, id int64) error {
	return s.Write(ctx, actor, func(t *Tx) error {
		old, err := t.lockedBooking(id)
		if err != nil {
			return err
		}
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM bookings WHERE id = $1", id); err != nil {
			return fmt.Errorf("store: delete booking %d: %w", id, err)
		}
		// The assigned_by_id in the event lets the audience of the log
		// judge it after the row is gone.
		return t.EmitDiff(EntityBooking, id, events.Delete, old, crm.Booking{AssignedByID: old.AssignedByID})
	})
}

// RenameBooking gives the booking's event in the calendar of every user
// involved the title and description (seed 003 "Переименовать событие
// бронирования ресурсов"). A calendar is changed by whoever may change
// that user's records: administrators (and a request not limited) change
// every calendar, a manager their own and those of the users an
// administrator granted them to change. The rename is all or nothing: a
// user whose calendar the request may not change refuses it with
// ErrForbidden naming the user, and nothing is renamed.
func (s *Store) RenameBooking(ctx context.Context, actor crm.Actor, id int64, title, description string) (crm.Booking, error) {
	var cur crm.Booking
	err := s.Write(ctx, actor, func(t *Tx) error {
		var err error
		cur, err = t.RenameBooking(id, title, description)
		return err
	})
	return cur, err
}

// RenameBooking is Store.RenameBooking inside t.
func (t *Tx) RenameBooking(id int64, title, description string) (crm.Booking, error) {
	if n := len([]rune(title)); n > crm.BookingTitleMax {
		return crm.Booking{}, crm.Invalid("title", "longer than %d characters", crm.BookingTitleMax)
	}
	if t.store.db.Dialect == db.Postgres {
		if _, err := t.tx.ExecContext(t.ctx, "SELECT id FROM bookings WHERE id = $1 FOR UPDATE", id); err != nil {
			return crm.Booking{}, fmt.Errorf("store: lock booking %d: %w", id, err)
		}
	}
	old, err := getBooking(t.rq(), id)
	if err != nil {
		return old, err
	}
	sc := ScopeOf(t.ctx)
	if !bookingSeen(sc, old) {
		return crm.Booking{}, NotFound("booking", id)
	}
	if sc != nil {
		for _, u := range old.Users {
			if !sc.Edits(u.UserID) {
				return crm.Booking{}, fmt.Errorf("store: the calendar of user %d: %w", u.UserID, ErrForbidden)
			}
		}
	}
	cur := old
	cur.Users = slices.Clone(old.Users)
	for i := range cur.Users {
		cur.Users[i].Title, cur.Users[i].Description = title, description
	}
	ch, err := events.Diff(old, cur)
	if err != nil || len(ch) == 0 {
		return cur, err
	}
	cur.UpdatedByID, cur.UpdatedAt = t.actor.UserID, t.now
	if _, err := t.tx.ExecContext(t.ctx, "UPDATE booking_users SET title = $1, description = $2 WHERE booking_id = $3", title, description, id); err != nil {
		return cur, fmt.Errorf("store: rename booking %d: %w", id, err)
	}
	if _, err := t.tx.ExecContext(t.ctx, "UPDATE bookings SET updated_by_id = $1, updated_at = $2 WHERE id = $3", cur.UpdatedByID, micro(t.now), id); err != nil {
		return cur, fmt.Errorf("store: rename booking %d: %w", id, err)
	}
	return cur, t.EmitDiff(EntityBooking, id, events.Update, old, cur)
}

// CalendarBooking is a booking's event in one user's calendar.
type CalendarBooking struct {
	crm.Booking
	UserID      int64
	Title       string
	Description string
}

// CalendarBookings are the events of bookings in the calendar of a user
// (0: of every user the request sees) overlapping [from, to), by start:
// one per user involved, with that user's title.
func (s *Store) CalendarBookings(ctx context.Context, userID int64, from, to time.Time) ([]CalendarBooking, error) {
	bs, err := s.Bookings(ctx, BookingFilter{From: from, To: to, UserID: userID})
	if err != nil {
		return nil, fmt.Errorf("store: calendar bookings of user %d: %w", userID, err)
	}
	sc := ScopeOf(ctx)
	var out []CalendarBooking
	for _, b := range bs {
		for _, u := range b.Users {
			if (userID != 0 && u.UserID != userID) || (sc != nil && !sc.Sees(u.UserID)) {
				continue
			}
			out = append(out, CalendarBooking{Booking: b, UserID: u.UserID, Title: u.Title, Description: u.Description})
		}
	}
	return out, nil
}
