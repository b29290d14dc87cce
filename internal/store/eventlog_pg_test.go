package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestPostgresInFlightTransactionIsNotSkipped is the case a sequence gets
// wrong: transaction A writes its event first but commits last. A reader
// that pages while A is still open must not step over A's event.
func TestPostgresInFlightTransactionIsNotSkipped(t *testing.T) {
	var ran bool
	for _, e := range storetest.Engines(t) {
		if e.Name != "postgres" {
			continue // on SQLite a second writer waits for the first: no such interleaving exists
		}
		ran = true
		s := store.New(e.Open(t))
		admin := storetest.Admin(t, s)
		ctx := context.Background()
		start := lastEventID(t, s)

		inserted := make(chan struct{})
		release := make(chan struct{})
		aDone := make(chan error, 1)
		// Stretch A between its event insert and its commit: the first
		// write to reach the hook (A) waits there; later ones pass.
		s.SetAfterAppendHook(func() {
			select {
			case <-inserted:
			default:
				close(inserted)
				<-release
			}
		})
		go func() {
			aDone <- s.Write(ctx, admin, func(tx *store.Tx) error {
				tx.Emit(store.EntityLead, 1001, events.Create, nil)
				return nil
			})
		}()
		<-inserted
		// B writes and commits while A is in flight.
		if _, err := s.CreateLead(ctx, admin, crm.Lead{Name: "B"}); err != nil {
			t.Fatal(err)
		}
		seen, err := s.Events(ctx, events.Query{After: start})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != 1 || seen[0].RecordID == 1001 {
			t.Fatalf("while A is open the reader should see B only, got %+v", seen)
		}
		cursor := seen[0].ID
		close(release)
		select {
		case err := <-aDone:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("A did not commit")
		}
		next, err := s.Events(ctx, events.Query{After: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(next) != 1 || next[0].RecordID != 1001 || next[0].ID != cursor+1 {
			t.Fatalf("after A committed, a reader past B's event must find A's next: %+v", next)
		}
	}
	if !ran {
		t.Skip("needs PostgreSQL (OBMEN_TEST_DATABASE_URL)")
	}
}
