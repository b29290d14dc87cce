package db

// QueuedWrites is how many writes wait in the SQLite group committer's
// queue (tests).
func (d *DB) QueuedWrites() int { return len(d.commit.reqs) }
