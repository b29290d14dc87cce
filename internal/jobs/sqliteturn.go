package jobs

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync"

	"github.com/obmen/obmen/internal/db"
)

// turnConnector opens River's SQLite connection so that it writes only in
// its turn (db.WriteTurn), shared with the group committer: a transaction
// takes the turn at BEGIN and gives it back at COMMIT or ROLLBACK; a
// statement outside a transaction (River runs many as single UPDATE …
// RETURNING statements) holds it while it runs and, for a query, until its
// rows are closed — SQLite keeps the write lock until then.
type turnConnector struct {
	dsn  string
	drv  driver.Driver
	turn db.WriteTurn
}

func (c *turnConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &turnConn{ConnBase: db.ConnBase{Inner: db.CachingConn(dc)}, turn: c.turn}, nil
}

func (c *turnConnector) Driver() driver.Driver { return c.drv }

// turnConn is a caching connection (db.CachingConn) that takes the turn;
// db.ConnBase passes on what it does not change.
type turnConn struct {
	db.ConnBase
	turn db.WriteTurn
	tx   *turnTx // the transaction in progress, if any
}

// uninterrupted is ctx for running a statement on River's connection:
// its end still stops the wait for the turn, but not a statement under
// way. modernc.org/sqlite interrupts a running statement when its context
// ends, and an interrupted connection is not reused (conn.IsValid) — the
// pool closed it and opened a new one, losing its cached statements, about
// twice a second under load, as the waking listener (wake.go) cuts River's
// notification poll short after every commit. River's statements are
// short; the JobTimeout and shutdown still end the jobs themselves.
func uninterrupted(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

var (
	_ driver.ConnBeginTx            = (*turnConn)(nil)
	_ driver.ConnPrepareContext     = (*turnConn)(nil)
	_ driver.ExecerContext          = (*turnConn)(nil)
	_ driver.QueryerContext         = (*turnConn)(nil)
	_ driver.SessionResetter        = (*turnConn)(nil)
	_ driver.Validator              = (*turnConn)(nil)
	_ driver.Pinger                 = (*turnConn)(nil)
	_ driver.NamedValueChecker      = (*turnConn)(nil)
	_ driver.StmtExecContext        = (*turnStmt)(nil)
	_ driver.StmtQueryContext       = (*turnStmt)(nil)
	_ driver.Tx                     = (*turnTx)(nil)
	_ driver.Rows                   = (*turnRows)(nil)
	_ driver.RowsNextResultSet      = (*turnRows)(nil)
	_ driver.RowsColumnTypeScanType = (*turnRows)(nil)
)

// errNoContext is never returned: the modernc driver implements every
// context-taking interface; it guards a driver that does not.
var errNoContext = errors.New("jobs: the SQLite driver lacks a context-aware method River needs")

func (c *turnConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *turnConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	p, ok := c.Inner.(driver.ConnPrepareContext)
	if !ok {
		return nil, errNoContext
	}
	st, err := p.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &turnStmt{inner: st, conn: c}, nil
}

func (c *turnConn) Close() error { return c.Inner.Close() }

func (c *turnConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *turnConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	b, ok := c.Inner.(driver.ConnBeginTx)
	if !ok {
		return nil, errNoContext
	}
	if err := c.turn.Take(ctx); err != nil {
		return nil, err
	}
	tx, err := b.BeginTx(ctx, opts)
	if err != nil {
		c.turn.Give()
		return nil, err
	}
	c.tx = &turnTx{inner: tx, conn: c}
	return c.tx, nil
}

// outside takes the turn for one statement outside a transaction; inside
// one the transaction already holds it. The returned func gives it back.
func (c *turnConn) outside(ctx context.Context) (func(), error) {
	if c.tx != nil {
		return func() {}, nil
	}
	if err := c.turn.Take(ctx); err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(c.turn.Give) }, nil
}

func (c *turnConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Inner.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	give, err := c.outside(ctx)
	if err != nil {
		return nil, err
	}
	defer give()
	return e.ExecContext(uninterrupted(ctx), query, args)
}

func (c *turnConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Inner.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	give, err := c.outside(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(uninterrupted(ctx), query, args)
	if err != nil {
		give()
		return nil, err
	}
	return &turnRows{RowsBase: db.RowsBase{Rows: rows}, give: give}, nil
}

type turnTx struct {
	inner driver.Tx
	conn  *turnConn
}

func (t *turnTx) Commit() error {
	defer t.end()
	return t.inner.Commit()
}

func (t *turnTx) Rollback() error {
	defer t.end()
	return t.inner.Rollback()
}

func (t *turnTx) end() {
	if t.conn.tx == t {
		t.conn.tx = nil
		t.conn.turn.Give()
	}
}

type turnStmt struct {
	inner driver.Stmt
	conn  *turnConn
}

func (s *turnStmt) Close() error  { return s.inner.Close() }
func (s *turnStmt) NumInput() int { return s.inner.NumInput() }

func (s *turnStmt) Exec(args []driver.Value) (driver.Result, error) {
	return nil, errNoContext
}

func (s *turnStmt) Query(args []driver.Value) (driver.Rows, error) {
	return nil, errNoContext
}

func (s *turnStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	e, ok := s.inner.(driver.StmtExecContext)
	if !ok {
		return nil, errNoContext
	}
	give, err := s.conn.outside(ctx)
	if err != nil {
		return nil, err
	}
	defer give()
	return e.ExecContext(uninterrupted(ctx), args)
}

func (s *turnStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := s.inner.(driver.StmtQueryContext)
	if !ok {
		return nil, errNoContext
	}
	give, err := s.conn.outside(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(uninterrupted(ctx), args)
	if err != nil {
		give()
		return nil, err
	}
	return &turnRows{RowsBase: db.RowsBase{Rows: rows}, give: give}, nil
}

// turnRows gives the turn back when the rows of a statement outside a
// transaction are closed.
type turnRows struct {
	db.RowsBase
	give func()
}

func (r *turnRows) Close() error {
	defer r.give()
	return r.Rows.Close()
}
