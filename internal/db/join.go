package db

import (
	"context"
	"database/sql"
	"fmt"
)

// joined is a write transaction that later writes under the same ctx
// join instead of committing on their own.
type joined struct {
	d     *DB
	tx    *sql.Tx
	after []func()
}

type joinKey struct{}

// Join returns ctx under which this database's Write runs its function
// inside tx (in a savepoint of its own, so that a failed write undoes
// only itself) instead of a transaction of its own, and Reader's queries
// read through tx, seeing what the joined writes wrote. The caller
// commits tx: the work of many writes — the steps of an automation run
// and their journal — then costs one commit. Only PostgreSQL joins: on
// SQLite, where the group committer already shares one commit among
// concurrent writers, a joined transaction would run all of its work
// inside the single writer.
//
// tx is used by one goroutine at a time: the work under ctx runs in
// sequence. AfterCommit functions registered under ctx run when RunAfter
// is called, after the caller's commit.
func (d *DB) Join(ctx context.Context, tx *sql.Tx) context.Context {
	if d.Dialect != Postgres {
		return ctx
	}
	return context.WithValue(ctx, joinKey{}, &joined{d: d, tx: tx})
}

// joinedOf is the transaction ctx joins for d, if any.
func (d *DB) joinedOf(ctx context.Context) *joined {
	j, _ := ctx.Value(joinKey{}).(*joined)
	if j == nil || j.d != d {
		return nil
	}
	return j
}

// Joined reports whether ctx joins a transaction of d.
func (d *DB) Joined(ctx context.Context) bool { return d.joinedOf(ctx) != nil }

// AfterCommit runs fn once what was written under ctx is committed: at
// once outside a joined transaction, at RunAfter inside one.
func (d *DB) AfterCommit(ctx context.Context, fn func()) {
	if j := d.joinedOf(ctx); j != nil {
		j.after = append(j.after, fn)
		return
	}
	fn()
}

// RunAfter runs the AfterCommit functions gathered under ctx; the joiner
// calls it after its commit.
func RunAfter(ctx context.Context) {
	j, _ := ctx.Value(joinKey{}).(*joined)
	if j == nil {
		return
	}
	after := j.after
	j.after = nil
	for _, fn := range after {
		fn()
	}
}

// Savepoint runs fn in a savepoint of tx: an error of fn rolls back what
// fn did and leaves tx usable (on PostgreSQL a failed statement aborts
// the whole transaction otherwise).
func Savepoint(ctx context.Context, tx *sql.Tx, name string, fn func() error) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("db: savepoint: %w", err)
	}
	if err := fn(); err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+name); rerr != nil {
			return fmt.Errorf("db: rollback to savepoint: %w (after %w)", rerr, err)
		}
		if _, rerr := tx.ExecContext(ctx, "RELEASE SAVEPOINT "+name); rerr != nil {
			return fmt.Errorf("db: release savepoint: %w (after %w)", rerr, err)
		}
		return err
	}
	if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT "+name); err != nil {
		return fmt.Errorf("db: release savepoint: %w", err)
	}
	return nil
}

// writeJoined runs fn inside the joined transaction j.
func (j *joined) write(ctx context.Context, fn WriteFunc) error {
	return Savepoint(ctx, j.tx, "joined_write", func() error { return fn(ctx, j.tx) })
}
