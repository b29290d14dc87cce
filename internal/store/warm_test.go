package store_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestWarmPool: after db.WarmPool with Store.Warm every connection of the
// PostgreSQL pool has the find-by-phone read prepared and planned past
// its first five custom plans, so no request is the first on a cold
// connection (issue 21).
func TestWarmPool(t *testing.T) {
	d := storetest.OpenPostgres(t)
	s := store.New(d)
	ctx := context.Background()
	n, err := d.WarmPool(ctx, s.Warm)
	if err != nil {
		t.Fatal(err)
	}
	if want := d.Read.Stats().MaxOpenConnections; n != want || n < 2 {
		t.Fatalf("warmed %d connections, the pool has %d", n, want)
	}
	// Hold every connection of the pool at once and ask each what it has.
	var txs []*sql.Tx
	defer func() {
		for _, tx := range txs {
			_ = tx.Rollback()
		}
	}()
	pids := map[int]bool{}
	for i := range n {
		tx, err := d.Read.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
		var pid int
		if err := tx.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids[pid] = true
		for _, table := range []string{"contacts", "leads"} {
			// The folded list by phone, as GET /api/v1/contacts?phone= runs it.
			var runs int
			err := tx.QueryRowContext(ctx, `SELECT COALESCE(max(generic_plans + custom_plans), 0) FROM pg_prepared_statements
				WHERE statement LIKE $1`, "WITH m AS (SELECT r.id FROM "+table+" r WHERE r.deleted_at = 0 AND r.id IN (SELECT record_id FROM comms WHERE kind = 'PHONE'%").Scan(&runs)
			if err != nil {
				t.Fatal(err)
			}
			if runs < 6 {
				t.Errorf("connection %d of %d: %s by phone ran %d times, want 6 (past the custom plans)", i+1, n, table, runs)
			}
		}
	}
	if len(pids) != n {
		t.Fatalf("%d backends for %d connections", len(pids), n)
	}
}
