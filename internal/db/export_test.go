package db

// QueuedWrites is how many writes wait in the SQLite group committer's
// queue (tests).
func (d *DB) QueuedWrites() int { return len(d.commit.reqs) }

// HandedWrites is how many writes the group committer has been handed and
// not yet answered: queued, or in a batch waiting for its turn (tests).
func (d *DB) HandedWrites() int { return int(d.commit.handed.Load()) }
