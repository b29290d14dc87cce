package db_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// A duty's turn is taken by its first claim, not again within the
// period, again once it has passed; of claims made at once, one takes
// it. runs counts the turns taken.
func TestClaimDuty(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const every = time.Hour
		t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
		for _, c := range []struct {
			at   time.Time
			want bool
		}{
			{t0, true},                   // the row is made
			{t0.Add(time.Minute), false}, // within the period
			{t0.Add(every - 1), false},   // just before its end
			{t0.Add(every), true},        // the period has passed
			{t0.Add(every + time.Second), false},
			{t0.Add(3 * every), true},
		} {
			took, err := d.ClaimDuty(ctx, "test.duty", every, c.at)
			if err != nil || took != c.want {
				t.Fatalf("claim at %s: %v, %v; want %v", c.at.Sub(t0), took, err, c.want)
			}
		}
		var runs, last int64
		if err := d.Read.QueryRowContext(ctx, "SELECT runs, last_at FROM duties WHERE name = 'test.duty'").Scan(&runs, &last); err != nil {
			t.Fatal(err)
		}
		if runs != 3 || last != t0.Add(3*every).UnixMicro() {
			t.Fatalf("runs %d, last_at %d; want 3, %d", runs, last, t0.Add(3*every).UnixMicro())
		}
		// Instances claiming a fresh duty and a due one at once: one turn each.
		for _, name := range []string{"test.fresh", "test.duty"} {
			var took atomic.Int32
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					ok, err := d.ClaimDuty(ctx, name, every, t0.Add(5*every))
					if err != nil {
						t.Error(err)
					}
					if ok {
						took.Add(1)
					}
				})
			}
			wg.Wait()
			if took.Load() != 1 {
				t.Errorf("%s: %d of 8 claims at once took the turn, want 1", name, took.Load())
			}
		}
	})
}
