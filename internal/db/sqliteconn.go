package db

import (
	"container/list"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"reflect"
)

// maxConnStatements bounds one connection's cached statements: the
// statements written in the code are a few hundred texts, but those with
// a list of parameters vary with its length, and a connection that ran
// the migrations has seen hundreds of texts it will never run again. The
// least recently used one makes room for a new one.
const maxConnStatements = 256

// cachingConnector opens SQLite connections that prepare each statement
// text once (CachingConn).
type cachingConnector struct {
	dsn string
	drv driver.Driver
}

func (c *cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return CachingConn(dc), nil
}

func (c *cachingConnector) Driver() driver.Driver { return c.drv }

// openCaching opens a pool of SQLite connections on dsn that prepare each
// statement text once. They come from the driver registered as "sqlite"
// (a new sqlite.Driver would lack the functions registered with it, such
// as obmen_fold).
func openCaching(dsn string) *cachingConnector {
	p, _ := sql.Open("sqlite", "") // opens nothing: only finds the driver
	defer p.Close()
	return &cachingConnector{dsn: dsn, drv: p.Driver()}
}

// CachingConn wraps a modernc.org/sqlite connection so that a statement
// run by its text (ExecContext, QueryContext: every call through a
// *sql.Tx or *sql.DB that is not an explicit Prepare) is prepared on the
// first call and run prepared after: SQLite parses and plans every text
// it is handed, and for the short statements of a write that was a third
// of the work — River's statements, and every write a caller runs on the
// plain transaction of DB.Write, inside the group committer's one
// goroutine. A text whose earlier rows are still open runs unprepared, as
// it did before.
//
// database/sql never uses a connection from two goroutines at once, so
// the cache needs no lock.
func CachingConn(dc driver.Conn) driver.Conn {
	return &cachingConn{ConnBase: ConnBase{Inner: dc}, stmts: map[string]*list.Element{}, lru: list.New()}
}

// CachedStatements is how many statements c (a connection from
// CachingConn) holds prepared; -1 when c does not cache.
func CachedStatements(c driver.Conn) int {
	if cc, ok := c.(*cachingConn); ok {
		return len(cc.stmts)
	}
	return -1
}

type cachingConn struct {
	ConnBase
	stmts map[string]*list.Element // of lru
	lru   *list.List               // *connStmt, the most recently used first
}

// connStmt is a cached statement; busy while its rows are open.
type connStmt struct {
	query string
	st    driver.Stmt
	busy  bool
}

var (
	_ driver.ConnBeginTx            = (*cachingConn)(nil)
	_ driver.ConnPrepareContext     = (*cachingConn)(nil)
	_ driver.ExecerContext          = (*cachingConn)(nil)
	_ driver.QueryerContext         = (*cachingConn)(nil)
	_ driver.SessionResetter        = (*cachingConn)(nil)
	_ driver.Validator              = (*cachingConn)(nil)
	_ driver.Pinger                 = (*cachingConn)(nil)
	_ driver.NamedValueChecker      = (*cachingConn)(nil)
	_ driver.RowsNextResultSet      = (*cachedRows)(nil)
	_ driver.RowsColumnTypeScanType = (*cachedRows)(nil)
)

// errNoContext guards a driver without the context-aware methods; the
// modernc driver has them all.
var errNoContext = errors.New("db: the SQLite driver lacks a context-aware method")

// cached is the statement for query, prepared on first use; nil when it
// is busy, the cache is full of busy ones, or it does not prepare (the plain call then
// reports why).
func (c *cachingConn) cached(ctx context.Context, query string) *connStmt {
	if e, ok := c.stmts[query]; ok {
		cs := e.Value.(*connStmt)
		if cs.busy {
			return nil
		}
		c.lru.MoveToFront(e)
		return cs
	}
	p, ok := c.Inner.(driver.ConnPrepareContext)
	if !ok || !c.makeRoom() {
		return nil
	}
	st, err := p.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	_, qok := st.(driver.StmtQueryContext)
	_, eok := st.(driver.StmtExecContext)
	if !qok || !eok {
		st.Close()
		return nil
	}
	cs := &connStmt{query: query, st: st}
	c.stmts[query] = c.lru.PushFront(cs)
	return cs
}

// makeRoom closes the least recently used statement whose rows are not
// open when the cache is full; false when every one is busy.
func (c *cachingConn) makeRoom() bool {
	if c.lru.Len() < maxConnStatements {
		return true
	}
	for e := c.lru.Back(); e != nil; e = e.Prev() {
		cs := e.Value.(*connStmt)
		if cs.busy {
			continue
		}
		cs.st.Close()
		c.lru.Remove(e)
		delete(c.stmts, cs.query)
		return true
	}
	return false
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if cs := c.cached(ctx, query); cs != nil {
		return cs.st.(driver.StmtExecContext).ExecContext(ctx, args)
	}
	e, ok := c.Inner.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	return e.ExecContext(ctx, query, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if cs := c.cached(ctx, query); cs != nil {
		rows, err := cs.st.(driver.StmtQueryContext).QueryContext(ctx, args)
		if err != nil {
			return nil, err
		}
		cs.busy = true
		return &cachedRows{RowsBase: RowsBase{rows}, stmt: cs}, nil
	}
	q, ok := c.Inner.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	return q.QueryContext(ctx, query, args)
}

func (c *cachingConn) Close() error {
	for q, e := range c.stmts {
		e.Value.(*connStmt).st.Close()
		delete(c.stmts, q)
	}
	c.lru.Init()
	return c.Inner.Close()
}

// ConnBase passes a driver connection's methods and optional interfaces
// on to Inner, as database/sql would find them on Inner itself; a
// connection that wraps another embeds it and overrides what it changes.
// (Prepare and Begin call ConnBase's own PrepareContext and BeginTx: a
// wrapper that overrides those overrides these too.)
type ConnBase struct{ Inner driver.Conn }

func (c ConnBase) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c ConnBase) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	p, ok := c.Inner.(driver.ConnPrepareContext)
	if !ok {
		return nil, errNoContext
	}
	return p.PrepareContext(ctx, query)
}

func (c ConnBase) Close() error { return c.Inner.Close() }

func (c ConnBase) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c ConnBase) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	b, ok := c.Inner.(driver.ConnBeginTx)
	if !ok {
		return nil, errNoContext
	}
	return b.BeginTx(ctx, opts)
}

func (c ConnBase) ResetSession(ctx context.Context) error {
	if r, ok := c.Inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c ConnBase) IsValid() bool {
	if v, ok := c.Inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c ConnBase) Ping(ctx context.Context) error {
	if p, ok := c.Inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c ConnBase) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Inner.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// RowsBase passes the optional interfaces of a driver's rows on to Rows;
// rows that wrap others embed it and override Close.
type RowsBase struct{ driver.Rows }

func (r RowsBase) HasNextResultSet() bool {
	n, ok := r.Rows.(driver.RowsNextResultSet)
	return ok && n.HasNextResultSet()
}

func (r RowsBase) NextResultSet() error {
	if n, ok := r.Rows.(driver.RowsNextResultSet); ok {
		return n.NextResultSet()
	}
	return errors.New("db: no next result set")
}

func (r RowsBase) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

// cachedRows frees its statement for the next call when closed.
type cachedRows struct {
	RowsBase
	stmt *connStmt
}

func (r *cachedRows) Close() error {
	defer func() { r.stmt.busy = false }()
	return r.Rows.Close()
}
