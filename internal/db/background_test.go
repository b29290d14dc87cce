package db_test

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// Background writes yield to requests in SQLite's group commit but are
// not starved: under a steady stream of requests they still commit.
func TestBackgroundWritesGoOn(t *testing.T) {
	d := storetest.OpenSQLite(t)
	ctx := context.Background()
	if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "CREATE TABLE bg_test (id INTEGER PRIMARY KEY, kind TEXT)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var fg atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, "INSERT INTO bg_test (kind) VALUES ('fg')")
					return err
				})
				fg.Add(1)
			}
		}()
	}
	bctx := db.Background(ctx)
	if !db.IsBackground(bctx) || db.IsBackground(ctx) {
		t.Fatal("Background does not mark the context")
	}
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; i < 50; i++ {
		if err := d.Write(bctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO bg_test (kind) VALUES ('bg')")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d background writes in 20 s beside the requests", i)
		}
	}
	// On a loaded machine the 50 background writes may all land before
	// the request goroutines run: give them the time to write once.
	for wait := time.Now().Add(20 * time.Second); fg.Load() == 0 && time.Now().Before(wait); {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if fg.Load() == 0 {
		t.Fatal("no requests were written")
	}
}
