// Package store reads and writes the CRM in SQL that runs unchanged on
// SQLite and PostgreSQL. Every write goes through Store.write, which runs
// it in a transaction together with its change events.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
)

// Errors callers check with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// NotFound wraps ErrNotFound naming what is missing.
func NotFound(what string, id any) error {
	return fmt.Errorf("store: %s %v: %w", what, id, ErrNotFound)
}

// Store is the CRM's storage.
type Store struct {
	db  *db.DB
	now func() time.Time
	// afterAppend, set only by tests, runs after a write's events are
	// appended and before its commit: it stretches the window in which a
	// reader could see a later event before an earlier one.
	afterAppend func()
	// beforeWrite, set only by tests, runs when a write is called, before
	// its transaction begins: a change made there races the write.
	beforeWrite func()
	cache       lookupCache
	keys        keyCache     // PostgreSQL: CheckAPIKey's reads
	keyReads    atomic.Int64 // CheckAPIKey's reads of the database (tests)
	onCommit    func()       // after a write that logged events has committed
	seen        sync.Map     // user id → when NoteSeen last wrote (time.Time)
}

// OnCommit sets a function called after every committed write that logged
// events (the delivery dispatcher uses it to wake up at once). It must not
// block.
func (s *Store) OnCommit(f func()) { s.onCommit = f }

// New returns a Store over an open, migrated database.
func New(d *db.DB) *Store {
	return &Store{db: d, now: func() time.Time { return time.Now().UTC() }}
}

// DB is the underlying database.
func (s *Store) DB() *db.DB { return s.db }

// querier is a pool or a transaction.
type querier = db.Querier

// Tx is one write: its SQL transaction, who makes it, when, and the change
// events it will append at the end.
type Tx struct {
	ctx    context.Context
	tx     *sql.Tx
	actor  crm.Actor
	now    time.Time
	events []*events.Event
	store  *Store
	// flushed counts events already appended by FlushEvents.
	flushed int
	// unscoped is the view of Unscoped, parent the write it views.
	unscoped, parent *Tx
	// made is a record the write created that no create event of its
	// own announces (a comment), for saveIdempotency.
	made *madeRecord
}

// Scope is what the write's caller may see and change, nil when it is
// not limited.
func (t *Tx) Scope() *Scope { return ScopeOf(t.ctx) }

// Unscoped is the write for the system's own lookups (intake's match of
// an account by INN, 1C's match by external id, conversion's duplicate
// search): they see every record, whoever's request caused the write.
// Its events are the write's own.
func (t *Tx) Unscoped() *Tx {
	if _, ok := scopeOf(t.ctx); !ok {
		return t
	}
	if t.unscoped == nil {
		t.unscoped = &Tx{ctx: Unscoped(t.ctx), tx: t.tx, actor: t.actor, now: t.now, store: t.store, parent: t}
	}
	return t.unscoped
}

// root is the Tx that holds the write's events.
func (t *Tx) root() *Tx {
	if t.parent != nil {
		return t.parent
	}
	return t
}

// Emit records a change event, appended when the write's work is done.
func (t *Tx) Emit(entity string, id int64, action string, changes map[string]events.Change) {
	t = t.root()
	if changes == nil {
		changes = map[string]events.Change{}
	}
	t.events = append(t.events, &events.Event{
		Entity: entity, RecordID: id, Action: action, Changes: changes,
		Actor: t.actor.String(), ActorUserID: t.actor.UserID, Integration: t.actor.Integration,
		RunID: t.actor.RunID, CreatedAt: t.now,
	})
}

// EmitEncoded records an event whose changes are already JSON.
func (t *Tx) EmitEncoded(entity string, id int64, action string, changes []byte) {
	t = t.root()
	t.Emit(entity, id, action, nil)
	t.events[len(t.events)-1].Encoded = changes
}

// EmitDiff records an event with the fields that differ between old and cur.
// An update that changes nothing records nothing.
func (t *Tx) EmitDiff(entity string, id int64, action string, old, cur any) error {
	ch, err := events.Diff(old, cur)
	if err != nil {
		return err
	}
	if action == events.Update && len(ch) == 0 {
		return nil
	}
	t.Emit(entity, id, action, ch)
	return nil
}

// Write runs fn as one transaction with its events. The events are
// appended last, which keeps the event log's ids in commit order.
func (s *Store) Write(ctx context.Context, actor crm.Actor, fn func(*Tx) error) error {
	var n int
	idem, hasIdem := ctx.Value(idemKey{}).(Idempotency)
	// The write runs on the group committer's ctx, not the caller's: the
	// caller's scope goes with it, so that what the write reads and
	// changes is judged inside its transaction.
	sc, hasScope := scopeOf(ctx)
	in, hasIntake := intakeOf(ctx)
	if s.beforeWrite != nil {
		s.beforeWrite()
	}
	// What this request's reads learnt of photos may change now.
	photoMemoOf(ctx).forget()
	defer photoMemoOf(ctx).forget()
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if hasScope {
			ctx = WithScopeOf(ctx, sc)
		}
		if hasIntake {
			ctx = WithIntake(ctx, in)
		}
		t := &Tx{ctx: ctx, tx: tx, actor: actor, now: s.now().Truncate(time.Microsecond), store: s}
		if err := fn(t); err != nil {
			return err
		}
		if hasIdem {
			if err := t.saveIdempotency(idem); err != nil {
				return err
			}
		}
		n = len(t.events) + t.flushed
		if err := events.Append(ctx, t.tx, s.db.Dialect == db.SQLite, t.events); err != nil {
			return err
		}
		if s.afterAppend != nil && n > 0 {
			s.afterAppend()
		}
		return nil
	})
	if err == nil && n > 0 {
		// Inside a joined transaction (an automation run's steps, see
		// db.Join) the commit comes later.
		s.db.AfterCommit(ctx, func() { s.logged(n) })
	}
	if err == nil && n == 0 {
		// Writes of CRM records always log events; the writes that log
		// none change dictionaries, users, keys or custom fields — what
		// the lookup cache holds — so they clear it (again after a joined
		// transaction's commit: a read meanwhile may have cached the old).
		s.cache.clear()
		s.db.CredentialsChanged()
		s.db.AfterCommit(ctx, func() {
			s.cache.clear()
			s.db.CredentialsChanged()
		})
	}
	return err
}

// logged counts n events committed and calls the commit hook.
func (s *Store) logged(n int) {
	events.Written.Add(float64(n))
	if s.onCommit != nil {
		s.onCommit()
	}
}

// Events reads the change-event log.
func (s *Store) Events(ctx context.Context, q events.Query) ([]events.Event, error) {
	return events.Read(ctx, s.db.Reader(), q)
}

// micro converts a time to the stored form; zero time is 0.
func micro(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicro converts a stored time; 0 is the zero time.
func fromMicro(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// optTime is nil for 0.
func optTime(v int64) *time.Time {
	if v == 0 {
		return nil
	}
	t := time.UnixMicro(v).UTC()
	return &t
}

func optMicro(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixMicro()
}

// placeholders returns "$start, $start+1, …" for n values.
func placeholders(start, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", start+i)
	}
	return b.String()
}

func int64Args(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
