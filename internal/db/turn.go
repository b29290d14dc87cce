package db

import "context"

// WriteTurn is this process's turn at SQLite's single write lock.
//
// SQLite lets one connection write at a time and makes the others wait in
// its busy handler, which sleeps (1, 2, 5, 10 … ms) between attempts and so
// loses almost every race against a writer that commits and begins again
// at once. Inside one process the writers instead take turns here before
// they begin: the group committer for each batch, River's connection
// (internal/jobs) for each of its transactions and statements. A turn is a
// slot in a one-element channel, and Go hands a freed slot to the
// longest-waiting sender, so turns are first come, first served: neither
// side starves the other, and neither sleeps in SQLite's busy handler
// behind the other. Other processes (the CLI, a backup) still meet the
// busy handler.
type WriteTurn chan struct{}

// Take waits for the turn, or for ctx to end.
func (t WriteTurn) Take(ctx context.Context) error {
	select {
	case t <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Give ends a turn taken by Take.
func (t WriteTurn) Give() { <-t }

// WriteTurn returns the turn every in-process writer of the SQLite file
// takes before it writes; nil on PostgreSQL.
func (d *DB) WriteTurn() WriteTurn { return d.turn }
