package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("db: closed")

// BatchSize observes how many writes shared one SQLite commit.
var BatchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
	Name:    "obmen_db_group_commit_size",
	Help:    "Writes committed together in one SQLite transaction.",
	Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
})

// WritesWaitingGauge reports d.WritesWaiting for a registry.
func WritesWaitingGauge(d *DB) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "obmen_db_writes_waiting",
		Help: "Writes handed to the SQLite group committer and not yet committed (0 on PostgreSQL).",
	}, func() float64 { return float64(d.WritesWaiting()) })
}

type writeReq struct {
	ctx        context.Context
	fn         WriteFunc
	done       chan error
	background bool
}

// groupCommitter owns SQLite's single write connection. Writers queue their
// work; the committer takes everything queued at that moment, runs each in
// a savepoint of one transaction and commits once. Under load this turns N
// fsyncs into one; alone, a write costs the same as a plain transaction.
type groupCommitter struct {
	conn *sql.DB
	turn WriteTurn
	max  int
	reqs chan writeReq
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	commits atomic.Int64
	// handed counts the writes handed to the loop and not yet answered
	// (queued, or taken into a batch that waits for its turn or is being
	// committed): DB.WritesWaiting.
	handed atomic.Int64
	// after are the functions to call once the batch being run commits
	// (AfterGroupCommit).
	afterMu sync.Mutex
	after   []func()
	// deferredSearch: the schema notes new rows' search text in
	// fts_pending (migration 0057) for run to index before each commit.
	deferredSearch atomic.Bool
}

func newGroupCommitter(conn *sql.DB, turn WriteTurn, max int) *groupCommitter {
	g := &groupCommitter{conn: conn, turn: turn, max: max, reqs: make(chan writeReq, 4*max), quit: make(chan struct{})}
	g.wg.Add(1)
	go g.loop()
	return g
}

func (g *groupCommitter) do(ctx context.Context, fn WriteFunc) error {
	r := writeReq{ctx: ctx, fn: fn, done: make(chan error, 1), background: IsBackground(ctx)}
	select {
	case g.reqs <- r:
	case <-g.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	g.handed.Add(1)
	defer g.handed.Add(-1)
	// Once queued, wait for the outcome even if the caller goes away: the
	// answer "committed or not" must be known before we return.
	return <-r.done
}

func (g *groupCommitter) stop() {
	g.once.Do(func() { close(g.quit) })
	g.wg.Wait()
}

func (g *groupCommitter) loop() {
	defer g.wg.Done()
	batch := make([]writeReq, 0, g.max)
	var held []writeReq // background writes not yet taken
	for {
		batch = batch[:0]
		var fg []writeReq
		if len(held) == 0 {
			select {
			case r := <-g.reqs:
				if r.background {
					held = append(held, r)
				} else {
					fg = append(fg, r)
				}
			case <-g.quit:
				// Finish what is queued, then refuse.
				for {
					select {
					case r := <-g.reqs:
						g.run([]writeReq{r})
					default:
						return
					}
				}
			}
		}
	drain:
		for len(fg) < g.max {
			select {
			case r := <-g.reqs:
				if r.background {
					held = append(held, r)
				} else {
					fg = append(fg, r)
				}
			default:
				break drain
			}
		}
		// Requests first, background work beside them: while requests
		// wait, a batch takes one background write for every eight of
		// theirs (at least one, so that it goes on); alone, it takes as
		// many as fit.
		batch = append(batch, fg...)
		quota := g.max - len(batch)
		if len(fg) > 0 {
			quota = min(quota, max(1, len(fg)/8))
		}
		n := min(quota, len(held))
		batch = append(batch, held[:n]...)
		held = append(held[:0], held[n:]...)
		g.run(batch)
	}
}

// run commits one batch and reports to every writer in it.
func (g *groupCommitter) run(batch []writeReq) {
	BatchSize.Observe(float64(len(batch)))
	results := make([]error, len(batch))
	// The writers' functions run under a context that marks them as such
	// (OnCommit).
	ctx := context.WithValue(context.Background(), commitHooksKey{}, &commitHooks{group: g})
	fail := func(err error) {
		for i := range batch {
			if results[i] == nil {
				results[i] = err
			}
		}
	}
	defer func() {
		for i, r := range batch {
			r.done <- results[i]
		}
	}()

	// What an earlier batch that did not commit registered is dropped.
	g.afterMu.Lock()
	g.after = g.after[:0]
	g.afterMu.Unlock()

	// Our turn at SQLite's write lock, shared fairly with the other writers
	// of this process (River's connection); held until commit or rollback.
	_ = g.turn.Take(ctx)
	defer g.turn.Give()
	tx, err := g.begin(ctx)
	if err != nil {
		fail(fmt.Errorf("db: begin: %w", err))
		return
	}
	if len(batch) == 1 {
		if err := call(ctx, tx, batch[0]); err != nil {
			_ = tx.Rollback()
			results[0] = err
			return
		}
	} else {
		for i, r := range batch {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				_ = tx.Rollback()
				fail(fmt.Errorf("db: savepoint: %w", err))
				return
			}
			if err := call(ctx, tx, r); err != nil {
				results[i] = err
				if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO w"); rerr != nil {
					_ = tx.Rollback()
					fail(fmt.Errorf("db: rollback to savepoint: %w", rerr))
					return
				}
			}
			if _, err := tx.ExecContext(ctx, "RELEASE w"); err != nil {
				_ = tx.Rollback()
				fail(fmt.Errorf("db: release savepoint: %w", err))
				return
			}
		}
	}
	if g.deferredSearch.Load() {
		if err := g.indexPending(ctx, tx); err != nil {
			_ = tx.Rollback()
			fail(fmt.Errorf("db: search index: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("db: commit: %w", err))
		return
	}
	g.commits.Add(1)
	g.afterMu.Lock()
	after := g.after
	g.after = nil
	g.afterMu.Unlock()
	for _, fn := range after {
		fn()
	}
}

// searchTables are the tables with an FTS5 index T_fts whose new rows
// migration 0057 notes in fts_pending.
var searchTables = []string{"leads", "contacts", "accounts", "deals", "sales_orders", "invoices", "products"}

// indexPending indexes the rows the batch (or a writer outside the group
// committer before it) noted in fts_pending, in one statement per table,
// inside the batch's transaction: FTS5 writes what a transaction indexed
// as one segment at commit, where a savepoint per write made it write a
// segment per record (see migration 0057). A failure here rolls the
// indexing back alone — the rows stay noted for the next commit, and
// search finds them then — unless the rollback itself fails.
func (g *groupCommitter) indexPending(ctx context.Context, tx *sql.Tx) error {
	var tables []string
	err := func() error {
		rows, err := tx.QueryContext(ctx, "SELECT DISTINCT tbl FROM fts_pending")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t string
			if err := rows.Scan(&t); err != nil {
				return err
			}
			tables = append(tables, t)
		}
		return rows.Err()
	}()
	if err != nil || len(tables) == 0 {
		return nil // nothing to index (or the probe failed: try next time)
	}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT fts"); err != nil {
		return err
	}
	err = func() error {
		for _, t := range tables {
			if !slices.Contains(searchTables, t) {
				continue // not ours; dropped below
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO "+t+"_fts (rowid, search) SELECT r.id, r.search FROM fts_pending p JOIN "+t+
				" r ON r.id = p.id WHERE p.tbl = '"+t+"'"); err != nil {
				return fmt.Errorf("%s: %w", t, err)
			}
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM fts_pending")
		return err
	}()
	if err != nil {
		slog.Warn("db: indexing new rows' search text failed; they stay noted for the next commit", "err", err)
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO fts"); rerr != nil {
			return rerr
		}
	}
	_, err = tx.ExecContext(ctx, "RELEASE fts")
	return err
}

// beginPatience is how long a write waits for another process (the CLI,
// a backup) to release SQLite's write lock. busy_timeout already waits
// inside SQLite, but its handler can lose every race against a busy
// writer in the other process; retrying here bounds that starvation.
const beginPatience = 2 * time.Minute

func (g *groupCommitter) begin(ctx context.Context) (*sql.Tx, error) {
	deadline := time.Now().Add(beginPatience)
	for {
		tx, err := g.conn.BeginTx(ctx, nil)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return tx, err
		}
		time.Sleep(time.Duration(1+rand.IntN(10)) * time.Millisecond)
	}
}

func isBusy(err error) bool {
	s := err.Error()
	return strings.Contains(s, "SQLITE_BUSY") || strings.Contains(s, "database is locked")
}

// call runs one writer's function, turning a panic into an error so that a
// bug in one request cannot take down the committer.
func call(ctx context.Context, tx *sql.Tx, r writeReq) (err error) {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("db: write panicked: %v", p)
		}
	}()
	return r.fn(ctx, tx)
}

// AfterGroupCommit (SQLite) calls fn once the group commit that holds the
// write in progress has committed — from inside a Write's function — and
// drops it if that commit fails. fn runs on the committer's goroutine
// before the writers hear of the commit: it must be quick and must not
// write. A write rolled back alone (its savepoint) still has fn called
// with its batch: use it for hints (a wake-up), not for facts. Elsewhere
// (PostgreSQL) fn is not called.
func (d *DB) AfterGroupCommit(fn func()) {
	g := d.commit
	if g == nil {
		return
	}
	g.afterMu.Lock()
	g.after = append(g.after, fn)
	g.afterMu.Unlock()
}

type backgroundKey struct{}

// Background marks ctx's writes as background work (automation runs):
// on SQLite, whose one writer they share with the requests people and
// systems are waiting on, they yield to those (see groupCommitter.loop).
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// IsBackground reports whether ctx's writes are background work.
func IsBackground(ctx context.Context) bool {
	v, _ := ctx.Value(backgroundKey{}).(bool)
	return v
}
