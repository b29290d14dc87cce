package jobs

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// connTx is a pgx.Tx over a connection that is already inside a
// transaction begun through database/sql (db.DB.Write's on PostgreSQL), so
// that River's pgx driver can insert jobs in it. Its statements run on the
// connection; it never ends the outer transaction (Commit and Rollback
// refuse), and Begin nests a savepoint as pgx's own transactions do.
//
// It is only valid inside the db.DB.RawTx callback that yielded conn.
type connTx struct {
	conn  *pgx.Conn
	depth int // 0: the outer transaction; n: savepoint n
	done  bool
}

var _ pgx.Tx = (*connTx)(nil)

func (t *connTx) savepoint() string { return fmt.Sprintf("obmen_jobs_sp%d", t.depth) }

// Begin starts a savepoint.
func (t *connTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if t.done {
		return nil, pgx.ErrTxClosed
	}
	sub := &connTx{conn: t.conn, depth: t.depth + 1}
	if _, err := t.conn.Exec(ctx, "SAVEPOINT "+sub.savepoint()); err != nil {
		return nil, err
	}
	return sub, nil
}

// Commit releases a savepoint; the outer transaction is not River's to end.
func (t *connTx) Commit(ctx context.Context) error {
	if t.depth == 0 {
		return errOuterTx
	}
	if t.done {
		return pgx.ErrTxClosed
	}
	t.done = true
	_, err := t.conn.Exec(ctx, "RELEASE SAVEPOINT "+t.savepoint())
	return err
}

// Rollback rolls back to a savepoint; the outer transaction is not River's
// to end.
func (t *connTx) Rollback(ctx context.Context) error {
	if t.depth == 0 {
		return errOuterTx
	}
	if t.done {
		return pgx.ErrTxClosed
	}
	t.done = true
	_, err := t.conn.Exec(ctx, "ROLLBACK TO SAVEPOINT "+t.savepoint())
	return err
}

func (t *connTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return t.conn.CopyFrom(ctx, table, cols, src)
}

func (t *connTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return t.conn.SendBatch(ctx, b)
}

// LargeObjects is not supported (River does not use them): pgx's
// LargeObjects can only be made by pgx's own transactions.
func (t *connTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }

func (t *connTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.conn.Prepare(ctx, name, sql)
}

func (t *connTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.conn.Exec(ctx, sql, args...)
}

func (t *connTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.conn.Query(ctx, sql, args...)
}

func (t *connTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.conn.QueryRow(ctx, sql, args...)
}

func (t *connTx) Conn() *pgx.Conn { return t.conn }
