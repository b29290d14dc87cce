package db_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestOnCommit: a function registered from inside a write's function runs
// once that write has committed — what it wrote is then visible to
// another connection — and, on PostgreSQL, never for a write that is
// rolled back; on
// PostgreSQL one registered under a joined transaction waits for the
// joiner's RunAfter; outside a write it runs at once.
func TestOnCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		var ran []string
		seen := map[string]bool{} // at its run, the key was committed
		hook := func(key string) func() {
			return func() {
				var n int
				// Another connection (the read pool) must see the write.
				err := d.Reader().QueryRowContext(context.Background(), "SELECT COUNT(*) FROM settings WHERE key = $1", key).Scan(&n)
				mu.Lock()
				defer mu.Unlock()
				ran = append(ran, key)
				seen[key] = err == nil && n == 1
			}
		}
		write := func(ctx context.Context, key string, fail error) error {
			return d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ($1, 'x')", key); err != nil {
					return err
				}
				d.OnCommit(ctx, hook(key))
				mu.Lock()
				early := slices.Contains(ran, key)
				mu.Unlock()
				if early {
					t.Errorf("%s: its hook ran before its write committed", key)
				}
				return fail
			})
		}
		if err := write(ctx, "oncommit-ok", nil); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		if err := write(ctx, "oncommit-rolled-back", boom); !errors.Is(err, boom) {
			t.Fatalf("rolled-back write: %v", err)
		}
		mu.Lock()
		if d.Dialect == db.SQLite && len(ran) == 2 && ran[1] == "oncommit-rolled-back" {
			// On SQLite a write rolled back alone (its savepoint) has its
			// hooks called with its batch's commit: hints, not facts.
			ran = ran[:1]
		}
		if len(ran) != 1 || ran[0] != "oncommit-ok" || !seen["oncommit-ok"] {
			t.Fatalf("hooks ran %v (committed write seen: %v); want only oncommit-ok's, after its commit", ran, seen)
		}
		ran = nil
		mu.Unlock()

		if d.Dialect == db.Postgres {
			// A joined transaction: its writes' hooks wait for RunAfter.
			var jctx context.Context
			err := d.Write(ctx, func(wctx context.Context, tx *sql.Tx) error {
				jctx = d.Join(ctx, tx)
				return write(jctx, "oncommit-joined", nil)
			})
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			before := len(ran)
			mu.Unlock()
			if before != 0 {
				t.Fatalf("a joined write's hook ran before RunAfter")
			}
			db.RunAfter(jctx)
			mu.Lock()
			if len(ran) != 1 || !seen["oncommit-joined"] {
				t.Fatalf("after RunAfter hooks ran %v (seen %v)", ran, seen)
			}
			ran = nil
			mu.Unlock()
		}

		called := false
		d.OnCommit(ctx, func() { called = true })
		if !called {
			t.Fatal("outside a write the hook did not run at once")
		}
	})
}
