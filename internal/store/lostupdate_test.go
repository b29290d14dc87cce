package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestConcurrentUpdatesLoseNothing: many writers change one record at
// once, each reading it and adding one; none may undo another's change
// (on PostgreSQL each write reads the record under its row lock).
func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		l, err := s.CreateLead(ctx, admin, crm.Lead{Title: "счётчик"})
		if err != nil {
			t.Fatal(err)
		}
		const n = 24
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.UpdateLead(ctx, admin, l.ID, func(l *crm.Lead) error {
					l.Opportunity += 100
					return nil
				})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.GetLead(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Opportunity != n*100 {
			t.Fatalf("opportunity %v after %d concurrent additions of 1.00: updates were lost", got.Opportunity, n)
		}
	})
}
