// Package jobs is Obmen's durable job queue: River
// (github.com/riverqueue/river) on whichever engine the database is, with
// its own tables beside ours. A job is a typed args struct with Kind() and
// one worker per kind, registered explicitly by the caller of New.
//
// Jobs are enqueued with Runner.InsertTx inside the transaction of the CRM
// write that causes them (db.DB.Write, store.Store.Write), so a job exists
// exactly when its write committed: a write that rolls back leaves no job,
// and a job never runs before the data it needs is visible.
//
// # SQLite
//
// River's riversqlite driver runs over database/sql. InsertTx hands it the
// write's *sql.Tx — which on SQLite is the group committer's shared
// transaction, the caller inside its own savepoint — so the job row is
// written by our single writer like any other row, and rolled back with the
// caller's savepoint.
//
// River's own work (fetching jobs, recording results, leader election,
// maintenance, its notification outbox) needs a pool of its own: River's
// pool is a second *sql.DB on the same file, one connection as riversqlite
// recommends, opened with exactly the DSN of our writer
// (db.DB.SQLiteDSN): WAL, busy_timeout, foreign keys, IMMEDIATE
// transactions and no automatic checkpoints (db checkpoints in the
// background). SQLite has one write lock per file, and its busy handler
// is unfair: a writer waiting in it sleeps and loses the race to one that
// commits and begins again at once. So River's connection and the group
// committer take turns before SQLite's lock, in process (db.WriteTurn,
// first come first served): River's connection takes the turn for each
// transaction and each statement outside one (turnConnector). Neither side
// starves the other under a flood of writes, neither meets "database is
// locked" (TestConcurrentWritesWhileWorking), and both hold the turn only
// for a short transaction, never while a job's worker runs.
//
// # PostgreSQL
//
// River's pgx driver works on a *pgxpool.Pool (opened from the same URL)
// and takes transactions as pgx.Tx, while our writes are database/sql
// transactions over pgx's stdlib driver. InsertTx reaches the pgx
// connection under the write's transaction (db.DB.RawTx, which holds the
// connection for the duration), checks that it is inside a transaction, and
// gives River a pgx.Tx view of it (connTx) whose statements run on that
// connection and which cannot end the transaction. The job row is therefore
// in the write's transaction, committed or rolled back with it.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"modernc.org/sqlite"

	"github.com/obmen/obmen/internal/db"
)

// Workers per client on the default queue. Most jobs (deliveries) wait on
// the network and on their write's group commit, not on the CPU: with 4
// workers on SQLite a stream of 500 changes/s backed up to a 2 s p99 from
// commit to receiver; with 16 it kept up at 200/s but fell behind at ~470/s
// (p50 965 ms, p99 1.44 s); with 64, quiet, 2026-12-06: SQLite p50 19 ms,
// p99 112 ms, PostgreSQL p50 31–65 ms, p99 167–330 ms (obmen bench
// --deliveries --duration 10s). The same on both engines.
const maxWorkers = 64

// JobTimeout bounds a job's run unless its worker says otherwise (River's
// Worker.Timeout; deliveries do, by their HTTP client's timeout).
const JobTimeout = time.Minute

// RescueAfter is how long a job may stay "running" before River takes it
// for abandoned — its process crashed or was killed mid-job — and
// schedules it again. River's default is an hour, too long for a webhook
// delivery that a kill -9 interrupted; no job runs this long (JobTimeout).
const RescueAfter = 5 * time.Minute

// Option adjusts River's configuration before the client is built: tests
// use it for a fast retry policy and short poll intervals.
type Option func(*river.Config)

// Runner is River's client on the database of a db.DB.
type Runner struct {
	d *db.DB

	// Exactly one pair is set, by d.Dialect.
	lite     *river.Client[*sql.Tx]
	litePool *sql.DB
	pg       *river.Client[pgx.Tx]
	pgPool   *pgxpool.Pool

	wake *waker // announces committed jobs to this process's River (wake.go)
}

// New builds a Runner on d, whose River schema must be migrated (Migrate).
// register adds one worker per job kind (river.AddWorker); with register
// nil the Runner can only enqueue. The Runner works once Start is called.
func New(ctx context.Context, d *db.DB, log *slog.Logger, register func(*river.Workers), opts ...Option) (*Runner, error) {
	cfg := &river.Config{Logger: log, JobTimeout: JobTimeout, RescueStuckJobsAfter: RescueAfter}
	if register != nil {
		cfg.Workers = river.NewWorkers()
		register(cfg.Workers)
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}}
	}
	for _, o := range opts {
		o(cfg)
	}
	r := &Runner{d: d}
	var err error
	switch d.Dialect {
	case db.SQLite:
		r.litePool = openSQLite(d)
		r.wake = newWaker()
		r.lite, err = river.NewClient[*sql.Tx](wakingDriver{Driver: riversqlite.New(r.litePool), w: r.wake}, cfg)
	default:
		if r.pgPool, err = openPostgres(ctx, d); err != nil {
			return nil, err
		}
		r.wake = newWaker()
		r.wake.worked = slices.Collect(maps.Keys(cfg.Queues))
		r.pg, err = river.NewClient[pgx.Tx](wakingPGDriver{Driver: riverpgxv5.New(r.pgPool), w: r.wake}, cfg)
	}
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("jobs: new client: %w", err)
	}
	return r, nil
}

// openSQLite opens River's pool on d's file: one connection, as
// riversqlite recommends, with the pragmas of d's own writer, that writes
// only in its turn (turnConnector).
func openSQLite(d *db.DB) *sql.DB {
	p := sql.OpenDB(&turnConnector{dsn: d.SQLiteDSN(), drv: &sqlite.Driver{}, turn: d.WriteTurn()})
	p.SetMaxOpenConns(1)
	p.SetMaxIdleConns(1)
	p.SetConnMaxLifetime(0)
	return p
}

func openPostgres(ctx context.Context, d *db.DB) (*pgxpool.Pool, error) {
	p, err := pgxpool.New(ctx, d.PostgresURL())
	if err != nil {
		return nil, fmt.Errorf("jobs: connect to PostgreSQL: %w", err)
	}
	return p, nil
}

// Start starts fetching and working jobs. Cancelling ctx stops the Runner
// hard (running jobs' contexts are cancelled); Stop is the graceful way.
func (r *Runner) Start(ctx context.Context) error {
	var err error
	if r.lite != nil {
		err = r.lite.Start(ctx)
	} else {
		err = r.pg.Start(ctx)
	}
	if err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

// Stop stops fetching new jobs and waits for the running ones to finish,
// or for ctx to end. A stopped Runner can be started again.
func (r *Runner) Stop(ctx context.Context) error {
	var err error
	if r.lite != nil {
		err = r.lite.Stop(ctx)
	} else {
		err = r.pg.Stop(ctx)
	}
	if err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

// Close releases River's connections; call it after Stop.
func (r *Runner) Close() {
	if r.litePool != nil {
		r.litePool.Close()
	}
	if r.pgPool != nil {
		r.pgPool.Close()
	}
}

// InsertTx enqueues a job in tx, the transaction of a db.DB.Write in
// progress: the job exists if and only if that write commits, and is not
// worked before.
func (r *Runner) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	if r.lite != nil {
		res, err := r.lite.InsertTx(ctx, tx, args, opts)
		if err != nil {
			return fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
		}
		r.announce(ctx, res)
		return nil
	}
	var res *rivertype.JobInsertResult
	err := r.pgTx(tx, func(t *connTx) error {
		var err error
		res, err = r.pg.InsertTx(ctx, t, args, opts)
		return err
	})
	if err != nil {
		return fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	r.announce(ctx, res)
	return nil
}

// pgTx runs fn on the pgx connection under tx, a PostgreSQL write in
// progress.
func (r *Runner) pgTx(tx *sql.Tx, fn func(*connTx) error) error {
	return r.d.RawTx(tx, func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("driver connection is %T, not pgx's", dc)
		}
		conn := sc.Conn()
		// Outside a transaction River's insert would commit on its own:
		// refuse, whatever ended the write's transaction early.
		if s := conn.PgConn().TxStatus(); s != 'T' {
			return fmt.Errorf("connection is not in a live transaction (status %q)", s)
		}
		return fn(&connTx{conn: conn})
	})
}

// InsertManyTx enqueues several jobs in tx, as InsertTx does one, in one
// batch (a round trip or two instead of one per job).
func (r *Runner) InsertManyTx(ctx context.Context, tx *sql.Tx, params []river.InsertManyParams) error {
	_, err := r.InsertManyTxIDs(ctx, tx, params)
	return err
}

// InsertManyTxIDs is InsertManyTx that returns the jobs' ids, in the order
// of params.
func (r *Runner) InsertManyTxIDs(ctx context.Context, tx *sql.Tx, params []river.InsertManyParams) ([]int64, error) {
	if len(params) == 0 {
		return nil, nil
	}
	var res []*rivertype.JobInsertResult
	var err error
	if r.lite != nil {
		res, err = r.lite.InsertManyTx(ctx, tx, params)
	} else {
		err = r.pgTx(tx, func(t *connTx) error {
			var err error
			res, err = r.pg.InsertManyTx(ctx, t, params)
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: insert %d jobs: %w", len(params), err)
	}
	if len(res) != len(params) {
		return nil, fmt.Errorf("jobs: insert %d jobs: River answered %d", len(params), len(res))
	}
	r.announce(ctx, res...)
	ids := make([]int64, len(res))
	for i, j := range res {
		if j != nil && j.Job != nil {
			ids[i] = j.Job.ID
		}
	}
	return ids, nil
}

// DeleteScheduled removes those of the jobs ids still waiting for their
// time (River's JobDeleteMany, one statement per 10,000): jobs whose work
// is known to be done before it.
func (r *Runner) DeleteScheduled(ctx context.Context, ids []int64) error {
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 10000)]
		ids = ids[len(chunk):]
		p := river.NewJobDeleteManyParams().IDs(chunk...).States(rivertype.JobStateScheduled).First(len(chunk))
		var err error
		if r.lite != nil {
			_, err = r.lite.JobDeleteMany(ctx, p)
		} else {
			_, err = r.pg.JobDeleteMany(ctx, p)
		}
		if err != nil {
			return fmt.Errorf("jobs: delete %d scheduled jobs: %w", len(chunk), err)
		}
	}
	return nil
}

// Retry makes job id available to be worked now, whatever its state but
// running (a scheduled job goes at once; one done already goes again, so
// its worker must find nothing left to do).
func (r *Runner) Retry(ctx context.Context, id int64) error {
	var row *rivertype.JobRow
	var err error
	if r.lite != nil {
		row, err = r.lite.JobRetry(ctx, id)
	} else {
		row, err = r.pg.JobRetry(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("jobs: retry job %d: %w", id, err)
	}
	if row != nil && row.State == rivertype.JobStateAvailable {
		r.wake.committed(row.Queue)
	}
	return nil
}

// announce tells this process's River listener of the jobs' queues once
// the write holding them has committed (db.OnCommit; wake.go). A job left
// waiting for its time (scheduled, or a duplicate skipped) needs no fetch
// now.
func (r *Runner) announce(ctx context.Context, res ...*rivertype.JobInsertResult) {
	seen := map[string]bool{}
	for _, j := range res {
		if j == nil || j.Job == nil || j.UniqueSkippedAsDuplicate || j.Job.State != rivertype.JobStateAvailable || seen[j.Job.Queue] {
			continue
		}
		seen[j.Job.Queue] = true
		q := j.Job.Queue
		r.d.OnCommit(ctx, func() { r.wake.committed(q) })
	}
}

// Migrate brings River's tables up to the River version in use. It is
// idempotent; on PostgreSQL concurrent starts take turns through an
// advisory lock.
func Migrate(ctx context.Context, d *db.DB) error {
	quiet := slog.New(slog.DiscardHandler)
	switch d.Dialect {
	case db.SQLite:
		p := openSQLite(d)
		defer p.Close()
		m, err := rivermigrate.New(riversqlite.New(p), &rivermigrate.Config{Logger: quiet})
		if err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		return nil
	default:
		p, err := openPostgres(ctx, d)
		if err != nil {
			return err
		}
		defer p.Close()
		lock, err := p.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		defer lock.Release()
		if _, err := lock.Exec(ctx, "SELECT pg_advisory_lock(7310002)"); err != nil {
			return fmt.Errorf("jobs: migrate: lock: %w", err)
		}
		defer lock.Exec(context.Background(), "SELECT pg_advisory_unlock(7310002)") //nolint:errcheck
		m, err := rivermigrate.New(riverpgxv5.New(p), &rivermigrate.Config{Logger: quiet})
		if err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		return nil
	}
}

// errOuterTx is returned by connTx's Commit and Rollback: the transaction
// belongs to db.DB.Write, which commits or rolls it back.
var errOuterTx = errors.New("jobs: the write's transaction is ended by db.Write, not by River")
