package db

import (
	"context"
	"os"
	"strconv"
	"time"
)

// checkpointEvery is how often the WAL is copied into the database file.
const checkpointEvery = 250 * time.Millisecond

// restartAfter is the WAL's length (in frames, 4 KiB each) past which a
// checkpoint starts it again from the beginning (restartWAL).
const restartAfter = 8192

// truncateBeyond is the size of the WAL file past which restartWAL also
// truncates it: a burst (a long read holding its snapshot while a 1C
// catalog loads) can grow it far beyond restartAfter, and a restart alone
// keeps the file at its largest.
const truncateBeyond = 256 << 20

// checkpointLoop runs SQLite checkpoints off the write path. PASSIVE
// checkpoints never block the writer or readers; when the WAL has grown
// long, restartWAL starts it again.
func (d *DB) checkpointLoop() {
	defer close(d.checkpointDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-d.stopCheckpoint:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var busy, logFrames, done int
		err := d.write.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &done)
		if err == nil && logFrames > restartAfter && done == logFrames {
			d.restartWAL(ctx)
		}
		cancel()
	}
}

// restartWAL makes the next write start the WAL from the beginning. The
// writer does that by itself only at a moment no reader holds a snapshot
// in the WAL, which under load never comes, so the WAL grows (and every
// read's lookup in its index with it). A RESTART checkpoint waits for the
// readers instead, holding SQLite's write lock meanwhile — so it first
// takes this process's write turn: a writer meeting SQLite's lock sleeps
// in its busy handler in steps of 1, 2, 5, 10 … ms and wakes well after
// the lock is free, one waiting for the turn goes on the moment it is
// given back. Measured (obmen bench --deliveries, 500 changes/s): the
// TRUNCATE checkpoint this replaced stalled every writer for 55–113 ms
// every two seconds (it also truncates and syncs the file: ~45 ms of its
// own); a RESTART in the turn holds it 0.1–8 ms.
func (d *DB) restartWAL(ctx context.Context) {
	if time.Now().UnixNano() < d.restartNotBefore.Load() {
		return
	}
	mode := "RESTART"
	if st, err := os.Stat(d.path + "-wal"); err == nil && st.Size() > truncateBeyond {
		mode = "TRUNCATE"
	}
	conn, err := d.write.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	// A reader in a long read (an export walking a catalog) would hold
	// every writer for the whole busy timeout: the restart waits a little
	// and, if the readers are not done, leaves it for a while.
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = "+strconv.Itoa(int(restartPatience.Milliseconds()))); err != nil {
		return
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA busy_timeout = "+strconv.Itoa(busyTimeoutMS))
	if err := d.turn.Take(ctx); err != nil {
		return
	}
	defer d.turn.Give()
	var busy, logFrames, done int
	err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logFrames, &done)
	switch {
	case err == nil && busy == 0:
		d.walRestarts.Add(1)
	case err == nil || isBusy(err):
		d.restartNotBefore.Store(time.Now().Add(restartBackoff).UnixNano())
	}
}

// restartPatience is how long restartWAL waits for readers (holding every
// writer meanwhile); restartBackoff how long it then leaves the WAL be.
const (
	restartPatience = 100 * time.Millisecond
	restartBackoff  = 5 * time.Second
)
