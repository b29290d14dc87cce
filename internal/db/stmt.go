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

// stmtCache keeps prepared statements of SQLite's read pool. SQLite parses
// and plans every statement it is given, so the queries the server runs
// over and over are prepared once per connection. (The write pool's
// connections cache theirs in the driver, CachingConn; pgx caches
// statements itself.)
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
