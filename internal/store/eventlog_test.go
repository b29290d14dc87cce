package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func lastEventID(t *testing.T, s *store.Store) int64 {
	t.Helper()
	var last int64
	for {
		evs, err := s.Events(context.Background(), events.Query{After: last, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return last
		}
		last = evs[len(evs)-1].ID
	}
}

func TestRolledBackWriteLeavesNoEvent(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		before := lastEventID(t, s)
		boom := errors.New("boom")
		// A write that creates a lead (with its event) and then fails.
		err := s.Write(ctx, admin, func(tx *store.Tx) error {
			tx.Emit(store.EntityLead, 999, events.Create, nil)
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("write error: %v", err)
		}
		// A create that fails validation inside the store.
		if _, err := s.CreateLead(ctx, admin, crm.Lead{Name: "x", StatusID: "NO_SUCH"}); err == nil {
			t.Fatal("invalid lead accepted")
		}
		// A create that fails on a unique constraint after its lead row was
		// inserted: the external id is taken.
		if _, err := s.CreateLead(ctx, admin, crm.Lead{Name: "a", Extra: crm.Extra{ExternalIDs: map[string]string{"site": "1"}}}); err != nil {
			t.Fatal(err)
		}
		mid := lastEventID(t, s)
		if mid != before+1 {
			t.Fatalf("expected exactly one event after the failed writes, got %d", mid-before)
		}
		if _, err := s.CreateLead(ctx, admin, crm.Lead{Name: "b", Extra: crm.Extra{ExternalIDs: map[string]string{"site": "1"}}}); err == nil {
			t.Fatal("duplicate external id accepted")
		}
		if got := lastEventID(t, s); got != mid {
			t.Fatalf("failed create left events: last %d, want %d", got, mid)
		}
		ls, _, err := s.ListLeads(ctx, store.ListParams{Filters: []store.Filter{{Field: "title", Value: "b"}}})
		if err != nil || len(ls) != 0 {
			t.Fatalf("failed create left a lead: %v %d", err, len(ls))
		}
		// The next event takes the next id: no id was burnt.
		l, err := s.CreateLead(ctx, admin, crm.Lead{Name: "c"})
		if err != nil {
			t.Fatal(err)
		}
		evs, _ := s.Events(ctx, events.Query{After: mid})
		if len(evs) != 1 || evs[0].ID != mid+1 || evs[0].RecordID != l.ID {
			t.Fatalf("next event: %+v", evs)
		}
	})
}

// TestEventPagingWithConcurrentWriters pages through the log while 16
// writers append, with commits slowed down at random between taking event
// ids and committing. Every event must be seen exactly once, in id order,
// with no holes.
func TestEventPagingWithConcurrentWriters(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		s.SetAfterAppendHook(func() {
			if rand.IntN(4) == 0 {
				time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
			}
		})
		const writers, perWriter = 16, 40
		var wg sync.WaitGroup
		var done atomic.Bool
		created := make(chan int64, writers*perWriter)
		errs := make(chan error, writers)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < perWriter; i++ {
					l, err := s.CreateLead(ctx, admin, crm.Lead{Name: fmt.Sprintf("w%d-%d", w, i)})
					if err != nil {
						errs <- err
						return
					}
					created <- l.ID
				}
			}(w)
		}
		go func() { wg.Wait(); done.Store(true) }()

		seen := map[int64]bool{}
		leads := map[int64]bool{}
		var after int64
		for {
			finished := done.Load()
			evs, err := s.Events(ctx, events.Query{After: after, Limit: 7})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				if ev.ID != after+1 {
					t.Fatalf("after %d the reader got %d: an event was skipped or reordered", after, ev.ID)
				}
				if seen[ev.ID] {
					t.Fatalf("event %d seen twice", ev.ID)
				}
				seen[ev.ID] = true
				after = ev.ID
				if ev.Entity == store.EntityLead && ev.Action == events.Create {
					leads[ev.RecordID] = true
				}
			}
			if finished && len(evs) == 0 {
				break
			}
		}
		close(created)
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
		n := 0
		for id := range created {
			n++
			if !leads[id] {
				t.Fatalf("lead %d was created but its event never seen", id)
			}
		}
		if n != writers*perWriter || len(leads) != n {
			t.Fatalf("created %d leads, saw %d create events", n, len(leads))
		}
	})
}

// TestSQLiteManyWritersNeverLocked runs 64 concurrent writers through one
// server's store and a second handle on the same file (as the CLI would
// be), and expects no error at all — in particular no "database is locked".
func TestSQLiteManyWritersNeverLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "obmen.db")
	d1 := storetest.OpenSQLiteAt(t, path, "NORMAL")
	d2 := storetest.OpenSQLiteAt(t, path, "NORMAL")
	s1, s2 := store.New(d1), store.New(d2)
	admin := storetest.Admin(t, s1)
	ctx := context.Background()
	// 64 writers at once, one in eight through a second pool (as a second
	// process would): the contention is the point, not the count of writes
	// each makes (30 each took 2½ minutes under -race on two cores; 12
	// keep every writer busy through the others' writes, and the page of
	// 500 below full).
	const writers, perWriter = 64, 12
	var wg sync.WaitGroup
	var failures atomic.Int64
	var firstErr atomic.Value
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s := s1
			if w%8 == 0 {
				s = s2 // some writers come from another connection pool
			}
			for i := 0; i < perWriter; i++ {
				l, err := s.CreateLead(ctx, admin, crm.Lead{Name: fmt.Sprintf("w%d-%d", w, i),
					Comms: crm.Comms{Phones: []crm.Comm{{Value: fmt.Sprintf("+7 900 %03d %04d", w, i)}}}})
				if err == nil {
					_, err = s.UpdateLead(ctx, admin, l.ID, func(x *crm.Lead) error { x.StatusID = "IN_PROCESS"; return nil })
				}
				if err == nil && i%5 == 0 {
					_, _, err = s.ListLeads(ctx, store.ListParams{Phone: fmt.Sprintf("8900%03d%04d", w, i)})
				}
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}(w)
	}
	wg.Wait()
	if n := failures.Load(); n > 0 {
		err := firstErr.Load().(error)
		if strings.Contains(err.Error(), "locked") || strings.Contains(err.Error(), "busy") {
			t.Fatalf("%d writes failed, first with a lock error: %v", n, err)
		}
		t.Fatalf("%d writes failed, first: %v", n, err)
	}
	ls, _, err := s1.ListLeads(ctx, store.ListParams{Limit: 500, Filters: []store.Filter{{Field: "status_id", Value: "IN_PROCESS"}}})
	if err != nil {
		t.Fatal(err)
	}
	total := len(ls)
	if total != 500 {
		t.Fatalf("expected a full page of updated leads, got %d", total)
	}
	if last := lastEventID(t, s1); last != int64(writers*perWriter*2) {
		t.Fatalf("expected %d events, the log ends at %d", writers*perWriter*2, last)
	}
}

func TestEventsNewestFirst(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		l, err := s.CreateLead(ctx, admin, crm.Lead{Title: "история"})
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []string{"IN_PROCESS", "PROCESSED", "NEW"} {
			if _, err := s.UpdateLead(ctx, admin, l.ID, func(x *crm.Lead) error { x.StatusID = st; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		evs, err := s.Events(ctx, events.Query{Entity: store.EntityLead, RecordID: l.ID, Newest: true, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[0].ID <= evs[1].ID || string(evs[0].Changes["status_id"].New) != `"NEW"` {
			t.Fatalf("newest two: %+v", evs)
		}
		older, err := s.Events(ctx, events.Query{Entity: store.EntityLead, RecordID: l.ID, Newest: true, Before: evs[1].ID, SkipAction: events.Create})
		if err != nil {
			t.Fatal(err)
		}
		if len(older) != 1 || older[0].Action != events.Update || string(older[0].Changes["status_id"].New) != `"IN_PROCESS"` {
			t.Fatalf("before %d without the create: %+v", evs[1].ID, older)
		}
	})
}
