package db

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// TestWALRestartsInTheTurn: once the WAL is longer than restartAfter the
// checkpoint loop starts it again from the beginning — which no writer
// would do while readers hold snapshots in it — and does that in the
// write turn: not while another writer of this process holds the turn,
// and as soon as it is free.
func TestWALRestartsInTheTurn(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, Options{SQLitePath: filepath.Join(t.TempDir(), "w.db"), GroupCommitMax: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	write := func(q string, args ...any) {
		t.Helper()
		if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, q, args...)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	// frames is the WAL's length in frames (a PASSIVE checkpoint, which
	// never starts it again, reports it).
	frames := func() int {
		t.Helper()
		var busy, log, done int
		if err := d.write.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done); err != nil {
			t.Fatal(err)
		}
		return log
	}
	write("CREATE TABLE t (b BLOB)")
	// A reader keeps a snapshot in the WAL while the rows go in.
	rtx, err := d.Read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := rtx.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	// The turn is ours: the checkpoint loop must wait for it.
	if err := d.turn.Take(ctx); err != nil {
		t.Fatal(err)
	}
	given := false
	defer func() {
		if !given {
			d.turn.Give()
		}
	}()
	// Written past the turn, as the group committer would not: the
	// rows of restartAfter frames and more.
	fillWAL(t, d)
	rtx.Rollback()
	if f := frames(); f <= restartAfter {
		t.Fatalf("the WAL has %d frames after the rows, want more than %d", f, restartAfter)
	}
	time.Sleep(4 * checkpointEvery)
	if n := d.walRestarts.Load(); n != 0 {
		t.Fatalf("the WAL was restarted %d times while another writer held the turn", n)
	}
	d.turn.Give()
	given = true
	deadline := time.Now().Add(10 * time.Second)
	for d.walRestarts.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the WAL of %d frames was not restarted %s after the turn was given back", frames(), 10*time.Second)
		}
		time.Sleep(checkpointEvery / 2)
	}
	write("INSERT INTO t VALUES (x'00')") // the next write starts at the beginning
	if f := frames(); f > 10 {
		t.Errorf("the write after the restart left %d frames in the WAL", f)
	}
}

// TestWALRestartLeavesLongReaders: a reader that keeps its snapshot (an
// export walking a catalog) makes the restart give up after a short wait
// and leave the WAL for a while, instead of holding every writer for the
// connection's whole busy timeout (15 s).
func TestWALRestartLeavesLongReaders(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, Options{SQLitePath: filepath.Join(t.TempDir(), "w.db"), GroupCommitMax: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	write := func(q string) {
		t.Helper()
		if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, q)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	write("CREATE TABLE t (b BLOB)")
	write("INSERT INTO t VALUES (x'00')")
	// The turn is held while the rows go in and the reader starts: its
	// snapshot then holds every frame, all of which a checkpoint may copy,
	// so the restart is tried while the reader goes on.
	if err := d.turn.Take(ctx); err != nil {
		t.Fatal(err)
	}
	fillWAL(t, d)
	rtx, err := d.Read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rtx.Rollback()
	var n int
	if err := rtx.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	d.turn.Give()
	deadline := time.Now().Add(10 * time.Second)
	for d.restartNotBefore.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no restart gave up within %s of the long reader (restarts: %d)", 10*time.Second, d.walRestarts.Load())
		}
		time.Sleep(checkpointEvery / 2)
	}
	if n := d.walRestarts.Load(); n != 0 {
		t.Errorf("the WAL was restarted %d times under a reader that kept its snapshot", n)
	}
	write("INSERT INTO t VALUES (x'01')") // the writers go on
}

// fillWAL writes rows of more than restartAfter frames into t, on a
// connection of the write pool and past the turn (the caller holds it).
func fillWAL(t *testing.T, d *DB) {
	t.Helper()
	ctx := context.Background()
	conn, err := d.write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := 0; i < restartAfter/50+20; i++ {
		if _, err := conn.ExecContext(ctx, "INSERT INTO t SELECT randomblob(3500) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50) SELECT x FROM c)"); err != nil {
			t.Fatal(err)
		}
	}
}
