package db

import (
	"context"
	"time"
)

// checkpointEvery is how often the WAL is copied into the database file.
const checkpointEvery = 250 * time.Millisecond

// truncateAfter is the WAL size (in frames, 4 KiB each) past which a
// checkpoint also truncates the file, keeping the WAL from growing when
// readers kept PASSIVE checkpoints from resetting it.
const truncateAfter = 16384

// checkpointLoop runs SQLite checkpoints off the write path. PASSIVE
// checkpoints never block the writer or readers; when the WAL has grown
// large a TRUNCATE checkpoint (which waits briefly for readers) resets it.
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
		if err == nil && logFrames > truncateAfter && done == logFrames {
			_ = d.write.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done)
		}
		cancel()
	}
}
