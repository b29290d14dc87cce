package db

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// maxCachedStatements bounds the statement caches: queries built from
// filters vary, and a cache must not grow with them.
const maxCachedStatements = 2000

// stmtCache keeps prepared statements of a pool. SQLite parses and plans
// every statement it is given; for the short statements of a CRM write
// that is a third of the work, so the queries the server runs over and
// over are prepared once per connection. (pgx caches statements itself.)
type stmtCache struct {
	pool *sql.DB
	m    sync.Map // query → *sql.Stmt
	n    atomic.Int64
}

func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, bool) {
	if c == nil {
		return nil, false
	}
	if v, ok := c.m.Load(q); ok {
		return v.(*sql.Stmt), true
	}
	if c.n.Load() >= maxCachedStatements {
		return nil, false
	}
	st, err := c.pool.PrepareContext(ctx, q)
	if err != nil {
		return nil, false // let the plain call report the error
	}
	if v, loaded := c.m.LoadOrStore(q, st); loaded {
		st.Close()
		return v.(*sql.Stmt), true
	}
	c.n.Add(1)
	return st, true
}

func (c *stmtCache) close() {
	c.m.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
}

// Querier is what the store runs SQL through: a transaction or a pool.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx is a write transaction whose statements come from the cache.
type Tx struct {
	*sql.Tx
	cache *stmtCache
	// bound are the statements already bound to this transaction:
	// database/sql keeps every Tx.StmtContext until the transaction ends,
	// so a long write (a 1C catalog of 100,000 products) that bound one
	// per call would grow by a statement per call.
	bound map[string]*sql.Stmt
}

// WrapTx returns tx with cached statements (a no-op wrapper on PostgreSQL).
func (d *DB) WrapTx(tx *sql.Tx) *Tx {
	return &Tx{Tx: tx, cache: d.writeStmts}
}

func (t *Tx) stmt(ctx context.Context, q string) *sql.Stmt {
	if t.cache == nil {
		return nil
	}
	if st, ok := t.bound[q]; ok {
		return st
	}
	st, ok := t.cache.get(ctx, q)
	if !ok {
		return nil
	}
	bst := t.Tx.StmtContext(ctx, st)
	if t.bound == nil {
		t.bound = map[string]*sql.Stmt{}
	}
	if len(t.bound) < 256 {
		t.bound[q] = bst
	}
	return bst
}

// ExecContext runs q in the transaction.
func (t *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, q, args...)
}

// QueryContext runs q in the transaction.
func (t *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, q, args...)
}

// QueryRowContext runs q in the transaction.
func (t *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}

// reader runs queries on the read pool with cached statements (SQLite),
// or through the transaction its ctx joins (PostgreSQL, see Join).
type reader struct {
	d     *DB
	pool  *sql.DB
	cache *stmtCache
}

// Reader returns the read pool as a Querier using cached statements;
// under a ctx that joins a transaction (Join) its queries read through
// that transaction.
func (d *DB) Reader() Querier {
	return reader{d: d, pool: d.Read, cache: d.readStmts}
}

func (r reader) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if j := r.d.joinedOf(ctx); j != nil {
		return j.tx.ExecContext(ctx, q, args...)
	}
	if st, ok := r.cache.get(ctx, q); ok {
		return st.ExecContext(ctx, args...)
	}
	return r.pool.ExecContext(ctx, q, args...)
}

func (r reader) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if j := r.d.joinedOf(ctx); j != nil {
		return j.tx.QueryContext(ctx, q, args...)
	}
	if st, ok := r.cache.get(ctx, q); ok {
		return st.QueryContext(ctx, args...)
	}
	return r.pool.QueryContext(ctx, q, args...)
}

func (r reader) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if j := r.d.joinedOf(ctx); j != nil {
		return j.tx.QueryRowContext(ctx, q, args...)
	}
	if st, ok := r.cache.get(ctx, q); ok {
		return st.QueryRowContext(ctx, args...)
	}
	return r.pool.QueryRowContext(ctx, q, args...)
}
