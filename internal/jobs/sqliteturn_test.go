package jobs

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/db"
)

func openTurnTestDB(t *testing.T) (*db.DB, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{SQLitePath: filepath.Join(t.TempDir(), "obmen.db"), GroupCommitMax: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	p := openSQLite(d)
	t.Cleanup(func() { p.Close() })
	return d, p
}

// finishes runs f in a goroutine and reports on the returned channel when
// it is done.
func finishes(f func() error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	return done
}

// waiting checks that done has not fired for a while: the operation waits
// for the turn.
func waiting(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s finished (err %v) while another writer had the turn", what, err)
	case <-time.After(300 * time.Millisecond):
	}
}

func finished(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s still waits after the turn was given back", what)
	}
}

// TestRiverConnectionWritesInItsTurn: River's SQLite connection writes
// only while it holds the process's write turn, which the group committer
// also takes, and gives it back when its transaction or statement ends.
func TestRiverConnectionWritesInItsTurn(t *testing.T) {
	ctx := context.Background()
	d, p := openTurnTestDB(t)
	turn := d.WriteTurn()

	// A statement outside a transaction waits for the turn.
	if err := turn.Take(ctx); err != nil {
		t.Fatal(err)
	}
	done := finishes(func() error {
		_, err := p.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ('river-1', 'x')")
		return err
	})
	waiting(t, done, "River's statement")
	turn.Give()
	finished(t, done, "River's statement")

	// So does a transaction, at BEGIN; and it holds the turn until COMMIT:
	// the committer's write waits for it.
	if err := turn.Take(ctx); err != nil {
		t.Fatal(err)
	}
	txc := make(chan *sql.Tx, 1)
	done = finishes(func() error {
		tx, err := p.BeginTx(ctx, nil)
		txc <- tx
		return err
	})
	waiting(t, done, "River's BEGIN")
	turn.Give()
	finished(t, done, "River's BEGIN")
	tx := <-txc
	if _, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ('river-2', 'x')"); err != nil {
		t.Fatal(err)
	}
	ours := finishes(func() error {
		return d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ('ours', 'x')")
			return err
		})
	})
	waiting(t, ours, "the committer's write")
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	finished(t, ours, "the committer's write")

	// A rolled-back transaction gives the turn back too.
	tx, err := p.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	ctx1, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := turn.Take(ctx1); err != nil {
		t.Fatalf("the turn was not given back after ROLLBACK: %v", err)
	}
	turn.Give()

	// A query outside a transaction (River's UPDATE … RETURNING) holds the
	// turn until its rows are closed.
	rows, err := p.QueryContext(ctx, "UPDATE settings SET value = 'y' WHERE key LIKE 'river-%' RETURNING key")
	if err != nil {
		t.Fatal(err)
	}
	taken := finishes(func() error { return turn.Take(ctx) })
	waiting(t, taken, "taking the turn while River's rows are open")
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	finished(t, taken, "taking the turn after River's rows were closed")
	turn.Give()
	if n != 2 {
		t.Fatalf("UPDATE … RETURNING returned %d rows, want 2", n)
	}

	// A caller that gives up while waiting gets its context's error.
	if err := turn.Take(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if _, err := p.ExecContext(short, "INSERT INTO settings (key, value) VALUES ('late', 'x')"); err == nil {
		t.Fatal("a statement ran without the turn")
	}
	turn.Give()
	var c int
	if err := d.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM settings WHERE key IN ('river-1', 'river-2', 'ours', 'late')").Scan(&c); err != nil {
		t.Fatal(err)
	}
	if c != 3 {
		t.Fatalf("%d of the rows river-1, river-2, ours are there (and late must not be), want 3", c)
	}
}

// TestRiverConnectionCachesStatements: River's connection prepares a text
// once and runs it again prepared (db.CachingConn, whose own test covers
// how).
func TestRiverConnectionCachesStatements(t *testing.T) {
	_, p := openTurnTestDB(t)
	p.SetMaxOpenConns(1)
	ctx := context.Background()
	cached := func() int {
		t.Helper()
		conn, err := p.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		n := -2
		if err := conn.Raw(func(dc any) error { n = db.CachedStatements(dc.(*turnConn).Inner); return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := cached()
	for k := range int64(3) {
		var v int64
		if err := p.QueryRowContext(ctx, "SELECT 1 + ?", k).Scan(&v); err != nil || v != 1+k {
			t.Fatalf("SELECT 1 + %d: %d, %v", k, v, err)
		}
		if got := cached(); got != before+1 {
			t.Fatalf("after run %d of one text: %d statements cached (were %d): River's connection does not cache", k+1, got, before)
		}
	}
}

// TestRiverConnectionSurvivesCancel: a statement whose context ends while
// it runs is not interrupted, so the connection (and its cached
// statements) stays in the pool instead of being closed as unusable.
func TestRiverConnectionSurvivesCancel(t *testing.T) {
	_, p := openTurnTestDB(t)
	ctx := context.Background()
	current := func() *turnConn {
		t.Helper()
		conn, err := p.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var tc *turnConn
		if err := conn.Raw(func(dc any) error { tc = dc.(*turnConn); return nil }); err != nil {
			t.Fatal(err)
		}
		return tc
	}
	before := current()
	for range 3 {
		// ~50 ms of SQLite work (seconds under -race), its context ending
		// after 5 ms: it ends while the statement runs.
		cctx, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
		var n int64
		_ = p.QueryRowContext(cctx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000)
			SELECT MAX(x) FROM c`).Scan(&n)
		cancel()
	}
	if after := current(); after != before {
		t.Fatal("River's connection was replaced after statements whose context ended while they ran")
	}
}
