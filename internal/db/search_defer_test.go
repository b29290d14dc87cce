package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestDeferredSearchIndex: on SQLite new rows' search text is indexed at
// the end of each group commit (migration 0057) instead of by a segment
// per write. One batch holds creates, creates rolled back with their
// write, creates updated and deleted by the same write, and updates and
// deletes of another write's still unindexed row; afterwards the FTS5
// index equals its content table (FTS5's integrity-check compares them),
// finds exactly the committed rows under their current text, and nothing
// is left noted. A row written past the group committer (another
// process) is indexed at the next commit.
func TestDeferredSearchIndex(t *testing.T) {
	d := storetest.OpenSQLite(t)
	ctx := context.Background()
	insert := func(ctx context.Context, tx *sql.Tx, id int, search string) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO leads (id, title, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
			VALUES ($1, $2, $2, 1, 1, 1, 0, 0)`, id, search)
		return err
	}
	errRefused := errors.New("refused")
	// The committer waits for the write turn: everything queued meanwhile
	// goes into one batch.
	if err := d.WriteTurn().Take(ctx); err != nil {
		t.Fatal(err)
	}
	given := false
	defer func() {
		if !given { // a failure before the Give below: the committer must not wait for good
			d.WriteTurn().Give()
		}
	}()
	var wg sync.WaitGroup
	results := make([]error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := 1000 + i
			results[i] = d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				switch {
				case i == 39: // another write's row, whichever runs first
					if _, err := tx.ExecContext(ctx, "UPDATE leads SET search = 'переименован зебра' WHERE id = 1001"); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, "DELETE FROM leads WHERE id = 1002")
					return err
				case i%5 == 0:
					if err := insert(ctx, tx, id, fmt.Sprintf("откат%03d зебра", i)); err != nil {
						return err
					}
					return errRefused
				case i%7 == 3:
					if err := insert(ctx, tx, id, fmt.Sprintf("старое%03d зебра", i)); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, "UPDATE leads SET search = $1 WHERE id = $2", fmt.Sprintf("новое%03d зебра", i), id)
					return err
				case i%11 == 4:
					if err := insert(ctx, tx, id, fmt.Sprintf("удалён%03d зебра", i)); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, "DELETE FROM leads WHERE id = $1", id)
					return err
				}
				return insert(ctx, tx, id, fmt.Sprintf("лид%03d зебра", i))
			})
		}()
	}
	waitHanded(t, d, 40)
	given = true
	d.WriteTurn().Give()
	wg.Wait()
	for i, err := range results {
		if (i%5 == 0 && i != 39) != errors.Is(err, errRefused) {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	checkIndex(t, d)

	// A row inserted past the group committer stays noted until the next
	// commit, which indexes it.
	raw, err := sql.Open("sqlite", d.SQLiteDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(ctx, `INSERT INTO leads (id, title, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
		VALUES (5000, 'x', 'снаружи зебра', 1, 1, 1, 0, 0)`); err != nil {
		t.Fatal(err)
	}
	if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ('h21d', 'v')")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, d)
	if n := count(t, d, `SELECT count(*) FROM leads_fts WHERE leads_fts MATCH '"снаружи"'`); n != 1 {
		t.Fatalf("the row written outside the committer: found %d times", n)
	}
}

// waitHanded waits until the committer has been handed at least n writes
// (queued, or taken into the batch that waits for the turn: how many it
// takes before it waits depends on how fast the writers start).
func waitHanded(t *testing.T, d *db.DB, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for d.WritesWaiting() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d writes handed to the committer (%d queued)", d.WritesWaiting(), d.QueuedWrites())
		}
		time.Sleep(time.Millisecond)
	}
}

// checkIndex: the leads' FTS5 index equals its content, every committed
// lead is found by its own word, and nothing is left noted.
func checkIndex(t *testing.T, d *db.DB) {
	t.Helper()
	ctx := context.Background()
	if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO leads_fts (leads_fts) VALUES ('integrity-check')")
		return err
	}); err != nil {
		t.Fatalf("FTS5 index differs from the leads: %v", err)
	}
	if n := count(t, d, "SELECT count(*) FROM fts_pending"); n != 0 {
		t.Fatalf("%d rows left unindexed", n)
	}
	if n, want := count(t, d, `SELECT count(*) FROM leads_fts WHERE leads_fts MATCH '"зебра"'`), count(t, d, "SELECT count(*) FROM leads WHERE search LIKE '%зебра%'"); n != want {
		t.Fatalf("index finds %d leads, the table has %d", n, want)
	}
	rows, err := d.Read.QueryContext(ctx, "SELECT id, search FROM leads WHERE search LIKE '%зебра%'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var search string
		if err := rows.Scan(&id, &search); err != nil {
			t.Fatal(err)
		}
		word, _, _ := strings.Cut(search, " ")
		var got int64
		if err := d.Read.QueryRowContext(ctx, "SELECT rowid FROM leads_fts WHERE leads_fts MATCH $1", `"`+word+`"`).Scan(&got); err != nil || got != id {
			t.Fatalf("%q (lead %d): found %d, %v", word, id, got, err)
		}
	}
	for _, gone := range []string{"откат", "удалён", "старое"} {
		if n := count(t, d, `SELECT count(*) FROM leads_fts WHERE leads_fts MATCH '"`+gone+`"'`); n != 0 {
			t.Fatalf("%q: %d stale index rows", gone, n)
		}
	}
}

func count(t *testing.T, d *db.DB, q string) int {
	t.Helper()
	var n int
	if err := d.Read.QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// BenchmarkGroupCommitLeads: 64 writers each creating a lead with a phone
// and an e-mail (one multi-row insert, as the store does) and its event,
// group-committed; "immediate" puts back migration 0025's triggers that
// index each row in its own statement. cpu-µs/op is the process's CPU
// time per create (getrusage), which holds on a loaded machine.
//
//	go test -run '^$' -bench GroupCommitLeads -benchtime 5000x ./internal/db/
func BenchmarkGroupCommitLeads(b *testing.B) {
	for _, mode := range []string{"deferred", "immediate"} {
		b.Run(mode, func(b *testing.B) {
			d := storetest.OpenSQLite(b)
			ctx := context.Background()
			if mode == "immediate" {
				immediateSearch(b, d)
			}
			var next atomic.Int64
			b.SetParallelism(32)
			cpu0 := cpuTime()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := next.Add(1)
					err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
						var id int64
						search := fmt.Sprintf("заявка %d иван петров", n)
						if err := tx.QueryRowContext(ctx, `INSERT INTO leads (title, name, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
							VALUES ($1, 'Иван', $1, 1, 1, 1, 0, 0) RETURNING id`, search).Scan(&id); err != nil {
							return err
						}
						rows, err := tx.QueryContext(ctx, `INSERT INTO comms (entity, record_id, kind, value, value_type, normalized, sort)
							VALUES ('lead', $1, 'PHONE', $2, 'WORK', $2, 1), ('lead', $1, 'EMAIL', $3, 'WORK', $3, 2) RETURNING id`,
							id, fmt.Sprintf("+7900%07d", n), fmt.Sprintf("l%d@example.com", n))
						if err != nil {
							return err
						}
						for rows.Next() {
						}
						rows.Close()
						_, err = tx.ExecContext(ctx, `INSERT INTO events (id, entity, record_id, action, changes, actor, actor_user_id, integration, created_at, run_id)
							VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM events), 'lead', $1, 'create', '{}', 'user:1', 1, '', 0, 0)`, id)
						return err
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// immediateSearch puts back migration 0025's search triggers (as the
// bench's bare server does) and tells the committer.
func immediateSearch(b *testing.B, d *db.DB) {
	err := d.Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		for _, t := range []string{"leads", "contacts", "accounts", "deals", "sales_orders", "invoices", "products"} {
			for _, q := range []string{
				"DROP TRIGGER " + t + "_fts_insert",
				"DROP TRIGGER " + t + "_fts_delete",
				"DROP TRIGGER " + t + "_fts_update",
				"CREATE TRIGGER " + t + "_fts_insert AFTER INSERT ON " + t + " BEGIN INSERT INTO " + t + "_fts (rowid, search) VALUES (new.id, new.search); END",
				"CREATE TRIGGER " + t + "_fts_delete AFTER DELETE ON " + t + " BEGIN INSERT INTO " + t + "_fts (" + t + "_fts, rowid, search) VALUES ('delete', old.id, old.search); END",
				"CREATE TRIGGER " + t + "_fts_update AFTER UPDATE OF search ON " + t + " WHEN old.search IS NOT new.search BEGIN INSERT INTO " + t + "_fts (" + t +
					"_fts, rowid, search) VALUES ('delete', old.id, old.search); INSERT INTO " + t + "_fts (rowid, search) VALUES (new.id, new.search); END",
			} {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		err = d.Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "DROP TABLE fts_pending")
			return err
		})
	}
	if err == nil {
		_, err = d.Migrate(context.Background())
	}
	if err != nil {
		b.Fatal(err)
	}
}
