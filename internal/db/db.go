// Package db opens Obmen's database — an embedded SQLite file by default,
// PostgreSQL when a URL is given — applies the embedded migrations and
// runs every write through one place, so that SQLite writes can be
// committed in groups.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// Dialect names the SQL engine behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Options say how to open a database.
type Options struct {
	// SQLitePath is the database file; used when PostgresURL is empty.
	SQLitePath string
	// PostgresURL, when set, selects PostgreSQL.
	PostgresURL string
	// SQLiteSync is NORMAL or FULL.
	SQLiteSync string
	// GroupCommitMax bounds how many writes share one SQLite commit.
	GroupCommitMax int
	// ReadConns is the size of the read pool (0: a default by CPU count).
	ReadConns int
	// PostgresConns caps the PostgreSQL pool (0: max(4, 3 × cores)).
	PostgresConns int
}

// DB is an open database. Reads go through Read; every write goes through
// Write.
type DB struct {
	Dialect Dialect
	// Read is the pool for queries. On PostgreSQL it is also the write pool.
	Read *sql.DB
	// Bulk is the pool for reads that walk whole tables in the background
	// (the 1C exchange's staging). On SQLite its two connections neither
	// map the file nor keep a large page cache, so that such a walk does
	// not grow the server's resident memory by the size of what it read;
	// Read maps the file, which keeps lookups fast. On PostgreSQL it is
	// Read.
	Bulk *sql.DB

	write  *sql.DB // SQLite: a single connection owned by the group committer
	commit *groupCommitter
	path   string

	readStmts *stmtCache // SQLite only
	turn      WriteTurn  // SQLite only
	keyLocks  keyLocks   // SQLite only (LockKeys)
	lockOnce  sync.Once  // PostgreSQL only: locks, its pool
	locks     *sql.DB
	lockErr   error

	stopCheckpoint, checkpointDone chan struct{}
	pgURL                          string
	sqliteDSN                      string // the write pool's, pragmas included

	// pgTxConns maps each PostgreSQL write transaction in progress to the
	// connection it runs on, for RawTx.
	pgTxConns sync.Map // *sql.Tx → *sql.Conn

	commits     atomic.Int64 // transactions Write committed (see Commits)
	walRestarts atomic.Int64 // SQLite: restartWAL's completed checkpoints (tests)

	restartNotBefore atomic.Int64 // SQLite: restartWAL backs off until then (Unix nanoseconds)

	// credEpoch counts the changes of credentials this process has heard
	// of (CredentialsChanged); credHeard is true while a ChangeBus listens
	// to CredentialsChannel, so that every change in the database reaches
	// it (see CredentialsEpoch).
	credEpoch atomic.Uint64
	credHeard atomic.Bool
}

// CredentialsEpoch is for caching what an API key check reads (PostgreSQL,
// issue 21: one statement less per request). heard is true only while
// this process's ChangeBus listens to CredentialsChannel, which the
// triggers of migration 0061 notify at the commit of any change of a key
// or a user — made by any instance, the CLI or plain SQL. A cached answer
// is good while the epoch it was read under is the current one: every
// notification, every local change (CredentialsChanged) and every loss
// or return of the listening connection moves the epoch on. Read the
// epoch before the query and cache its answer only if it is unchanged
// after: a change committed meanwhile is then either seen by the query
// or heard after it, and so never cached past its notification.
func (d *DB) CredentialsEpoch() (epoch uint64, heard bool) {
	heard = d.credHeard.Load()
	return d.credEpoch.Load(), heard
}

// CredentialsChanged moves the credentials epoch on: a change of a key or
// a user was committed (through this process, or heard of).
func (d *DB) CredentialsChanged() { d.credEpoch.Add(1) }

// Commits counts the transactions Write has committed since Open: on
// SQLite one per group commit, on PostgreSQL one per Write outside a
// joined transaction. Benchmarks and tests read it to count what a piece
// of work costs the database.
func (d *DB) Commits() int64 {
	if d.commit != nil {
		return d.commit.commits.Load()
	}
	return d.commits.Load()
}

// busyTimeoutMS is how long a SQLite connection waits for another's lock.
const busyTimeoutMS = 15000

// Open opens (creating if needed) the database described by o. It does not
// migrate; call Migrate.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.PostgresURL != "" {
		return openPostgres(ctx, o)
	}
	return openSQLite(ctx, o)
}

// privateFile makes the database file readable by its owner only before
// SQLite opens it: it holds customers' data and sealed secrets. SQLite
// gives the -wal and -shm files the database file's mode. A file made by
// an older version with wider rights is narrowed.
func privateFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("db: open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("db: stat %s: %w", path, err)
	}
	if st.Mode().Perm()&0o077 == 0 {
		return nil
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("db: make %s private: %w", p, err)
		}
	}
	return nil
}

func openSQLite(ctx context.Context, o Options) (*DB, error) {
	if o.SQLitePath == "" {
		return nil, errors.New("db: no SQLite path given")
	}
	if err := os.MkdirAll(filepath.Dir(o.SQLitePath), 0o750); err != nil {
		return nil, fmt.Errorf("db: create data directory: %w", err)
	}
	if err := privateFile(o.SQLitePath); err != nil {
		return nil, err
	}
	registerFold()
	sync := o.SQLiteSync
	if sync == "" {
		sync = "NORMAL"
	}
	q := url.Values{}
	for _, p := range []string{
		"journal_mode(WAL)",
		"synchronous(" + sync + ")",
		"busy_timeout(" + strconv.Itoa(busyTimeoutMS) + ")",
		"foreign_keys(ON)",
		"temp_store(MEMORY)",
	} {
		q.Add("_pragma", p)
	}
	readQ := url.Values{}
	for k, v := range q {
		readQ[k] = slices.Clone(v)
	}
	readQ.Add("_pragma", "query_only(ON)")
	// Readers map the file (below), so their page caches hold only pages
	// newer than the database file (in the WAL) and sorts: 8 MB each.
	// With 32 MB the site receiving a 100,000-product catalog peaked
	// ~15 MiB higher (VmHWM 196 → 179 MiB, obmen bench --site-products,
	// 2026-12-06) — and a server has 2 × CPUs readers, each page costing
	// twice its size in modernc's allocator (power-of-two slots).
	readQ.Add("_pragma", "cache_size(-8000)")
	// The write connections keep a small page cache: each of the three
	// filled 32 MB during a 1C catalog switch of 100,000 products (peak
	// anonymous RSS 202 → 113 MiB with 8 MB), and lead creates at 1M
	// contacts were no slower (obmen bench, 2026-11-23).
	q.Add("_pragma", "cache_size(-8000)")
	// Readers map the file: pages come straight from the OS cache instead of
	// being copied into each connection's page cache (event log pages read
	// once by a sync went from ~45,000 to ~70,000 events/s).
	readQ.Add("_pragma", "mmap_size(1073741824)")
	q.Set("_txlock", "immediate")
	// Checkpoints copy the WAL into the database file and fsync it; left
	// automatic they run inside a commit and stall every writer of the
	// group. A background goroutine does them instead (checkpointLoop).
	q.Add("_pragma", "wal_autocheckpoint(0)")
	base := "file:" + o.SQLitePath

	dsn := base + "?" + q.Encode()
	// The writer's connections prepare each statement text once
	// (CachingConn): every write runs in the group committer's one
	// goroutine, where SQLite's parsing of the same texts over and over
	// held up the writes queued behind.
	w := sql.OpenDB(openCaching(dsn))
	// One writer: SQLite allows one writer at a time anyway, and only the
	// group committer's goroutine begins write transactions here, so our
	// own writes never meet "database is locked"; other processes (the
	// CLI) wait on busy_timeout. The pool has more connections for what
	// runs beside the committer's transaction: the checkpoints
	// (checkpointLoop), a backup's VACUUM INTO, the migrations.
	w.SetMaxOpenConns(3)
	w.SetMaxIdleConns(3)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("db: open %s: %w", o.SQLitePath, err)
	}
	r, err := sql.Open("sqlite", base+"?"+readQ.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("db: open %s for reading: %w", o.SQLitePath, err)
	}
	n := o.ReadConns
	if n <= 0 {
		n = max(4, 2*runtime.NumCPU())
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	bulkQ := url.Values{}
	for _, p := range readQ["_pragma"] {
		if !strings.HasPrefix(p, "mmap_size(") && !strings.HasPrefix(p, "cache_size(") {
			bulkQ.Add("_pragma", p)
		}
	}
	bulkQ.Add("_pragma", "cache_size(-2000)")
	bulk, err := sql.Open("sqlite", base+"?"+bulkQ.Encode())
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("db: open %s for bulk reading: %w", o.SQLitePath, err)
	}
	bulk.SetMaxOpenConns(2)
	bulk.SetMaxIdleConns(2)
	d := &DB{Dialect: SQLite, Read: r, Bulk: bulk, write: w, path: o.SQLitePath, sqliteDSN: dsn,
		readStmts: &stmtCache{pool: r}}
	d.turn = make(WriteTurn, 1)
	d.commit = newGroupCommitter(w, d.turn, max(1, o.GroupCommitMax))
	d.noteDeferredSearch(ctx)
	d.stopCheckpoint = make(chan struct{})
	d.checkpointDone = make(chan struct{})
	go d.checkpointLoop()
	return d, nil
}

func openPostgres(ctx context.Context, o Options) (*DB, error) {
	p, err := sql.Open("pgx", o.PostgresURL)
	if err != nil {
		return nil, fmt.Errorf("db: open PostgreSQL: %w", err)
	}
	// Every write numbers its events at commit under one advisory lock
	// (migration 0002), so the writers of all instances queue there, and
	// more backends than PostgreSQL has cores only take turns: on the
	// 2-core test machine one instance made 0.62 of pgbench's creates with
	// 16 connections, 0.69 with 8, 0.81 with 6 (obmen bench
	// --pgbench-compare, after a warm-up and ANALYZE), and three instances
	// 900/s together with 16 each, 1,118/s with 6 each. Three per core of
	// this machine — PostgreSQL's own rule of thumb is about two per core
	// plus the disks; OBMEN_DATABASE_POOL sets it per instance.
	n := o.PostgresConns
	if n <= 0 {
		n = max(4, 3*runtime.NumCPU())
	}
	p.SetMaxOpenConns(n)
	p.SetMaxIdleConns(n)
	p.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := p.PingContext(pctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("db: connect to PostgreSQL: %w", err)
	}
	return &DB{Dialect: Postgres, Read: p, Bulk: p, write: p, pgURL: o.PostgresURL}, nil
}

// Close stops the group committer and closes the pools.
func (d *DB) Close() error {
	if d.commit != nil {
		d.commit.stop()
	}
	if d.stopCheckpoint != nil {
		close(d.stopCheckpoint)
		<-d.checkpointDone
		// A last full checkpoint leaves a short WAL behind.
		_, _ = d.write.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	}
	if d.readStmts != nil {
		d.readStmts.close()
	}
	var errs []error
	if d.write != nil && d.write != d.Read {
		errs = append(errs, d.write.Close())
	}
	if d.Bulk != nil && d.Bulk != d.Read {
		errs = append(errs, d.Bulk.Close())
	}
	if d.locks != nil {
		errs = append(errs, d.locks.Close())
	}
	errs = append(errs, d.Read.Close())
	return errors.Join(errs...)
}

// WriteFunc is one unit of work done inside a write transaction. ctx is the
// transaction's context, not the caller's: on SQLite several callers share
// one transaction, and one caller going away must not abort the others.
type WriteFunc func(ctx context.Context, tx *sql.Tx) error

// WritesWaiting is how many writes the SQLite group committer has been
// handed and not yet answered: queued, or in a batch waiting for its turn
// or being committed (the obmen_db_writes_waiting gauge). Zero on
// PostgreSQL, whose writes wait in the pool instead.
func (d *DB) WritesWaiting() int {
	if d.commit == nil {
		return 0
	}
	return int(d.commit.handed.Load())
}

// Write runs fn in a transaction and commits it. It returns fn's error (the
// work is then rolled back) or the commit's. When Write returns nil the
// work is durable to the degree the engine is configured for.
//
// On SQLite concurrent calls are committed together (group commit): each
// call runs inside its own savepoint of a shared transaction, so one
// call's failure rolls back only its own work.
func (d *DB) Write(ctx context.Context, fn WriteFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.commit != nil {
		return d.commit.do(ctx, fn)
	}
	if j := d.joinedOf(ctx); j != nil {
		return j.write(ctx, fn)
	}
	// PostgreSQL: the transaction is begun on a connection of its own so
	// that RawTx can reach the driver connection under it.
	conn, err := d.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("db: begin: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: begin: %w", err)
	}
	d.pgTxConns.Store(tx, conn)
	defer d.pgTxConns.Delete(tx)
	hooks := &commitHooks{d: d}
	if err := fn(context.WithValue(ctx, commitHooksKey{}, hooks), tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("db: commit: %w", err)
	}
	d.commits.Add(1)
	for _, f := range hooks.fns {
		f()
	}
	return nil
}

// commitHooks are the OnCommit functions of one PostgreSQL Write; on
// SQLite it only names the group committer whose batch runs the write.
type commitHooks struct {
	d     *DB
	group *groupCommitter
	fns   []func()
}

type commitHooksKey struct{}

// OnCommit calls fn once the write whose function is running under ctx
// has committed: on SQLite once the group commit holding it has committed
// (AfterGroupCommit, with its rules: quick, no writes, and a hint only —
// a write rolled back alone still has fn called with its batch); on
// PostgreSQL after Write's commit, or at RunAfter for a joined
// transaction, and never for a write rolled back. Called outside a
// write's function, fn runs at once.
func (d *DB) OnCommit(ctx context.Context, fn func()) {
	h, _ := ctx.Value(commitHooksKey{}).(*commitHooks)
	switch {
	case d.commit != nil && h != nil && h.group == d.commit:
		d.AfterGroupCommit(fn)
	case d.joinedOf(ctx) != nil:
		d.AfterCommit(ctx, fn)
	case h != nil && h.d == d:
		h.fns = append(h.fns, fn)
	default:
		fn()
	}
}

// Backup writes a consistent copy of the live database to path. SQLite is
// copied with VACUUM INTO, which reads one snapshot while writers go on;
// PostgreSQL is dumped with pg_dump (custom format, for pg_restore).
func (d *DB) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("db: backup: %s already exists", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("db: backup: %w", err)
	}
	// The copy is as private as the database: an empty file of the
	// owner's only, which VACUUM INTO and pg_dump then fill.
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("db: backup: %w", err)
	}
	f.Close()
	switch d.Dialect {
	case SQLite:
		// VACUUM INTO is a write-free read of one snapshot; run it on a
		// connection without query_only.
		if _, err := d.write.ExecContext(ctx, "VACUUM INTO $1", abs); err != nil {
			os.Remove(abs)
			return fmt.Errorf("db: backup to %s: %w", abs, err)
		}
		return nil
	default:
		if err := d.pgDump(ctx, abs); err != nil {
			os.Remove(abs)
			return err
		}
		return nil
	}
}

// pgDump writes a custom-format dump (restore with pg_restore) of the
// database — one consistent snapshot, taken while writers go on.
func (d *DB) pgDump(ctx context.Context, path string) error {
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		return errors.New("db: backup of PostgreSQL needs pg_dump (Debian: apt-get install postgresql-client)")
	}
	u, err := url.Parse(d.pgURL)
	if err != nil {
		return fmt.Errorf("db: backup: %w", err)
	}
	args := []string{"--format=custom", "--no-owner", "--file=" + path}
	// search_path is a pgx connection parameter that libpq does not know:
	// turn it into --schema.
	q := u.Query()
	if sp := q.Get("search_path"); sp != "" {
		args = append(args, "--schema="+sp)
		q.Del("search_path")
		u.RawQuery = q.Encode()
	}
	args = append(args, u.String())
	cmd := exec.CommandContext(ctx, bin, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(path)
		return fmt.Errorf("db: pg_dump: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Path is the SQLite file, or "" on PostgreSQL.
func (d *DB) Path() string { return d.path }

// SQLiteDSN is the data source name of the SQLite write pool, pragmas
// included, or "" on PostgreSQL. Another pool that writes to the same file
// (the job queue's) opens it with this, so that it waits on busy_timeout,
// begins IMMEDIATE transactions and leaves checkpoints to us as our own
// writer does.
func (d *DB) SQLiteDSN() string { return d.sqliteDSN }

// PostgresURL is the PostgreSQL URL the database was opened with, or "" on
// SQLite.
func (d *DB) PostgresURL() string { return d.pgURL }

// ErrNotWriteTx is returned by RawTx for a transaction that is not a
// PostgreSQL write in progress.
var ErrNotWriteTx = errors.New("db: not a PostgreSQL write transaction in progress")

// RawTx runs fn with the driver connection under tx, which must be the
// transaction of a Write in progress on PostgreSQL (fn gets a
// *stdlib.Conn of pgx). It lets a library that speaks the driver's own API
// — River's pgx driver — work inside the write's transaction. Nothing else
// uses the connection while fn runs, a cancelled context's rollback
// included; fn must not end the transaction, and should check that the
// connection is still inside one (the transaction may have been rolled
// back by a cancelled context before fn was called).
func (d *DB) RawTx(tx *sql.Tx, fn func(driverConn any) error) error {
	c, ok := d.pgTxConns.Load(tx)
	if !ok {
		return ErrNotWriteTx
	}
	return c.(*sql.Conn).Raw(fn)
}

// IsUniqueViolation reports whether err is a unique-constraint failure on
// either engine.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505")
}

// IsForeignKeyViolation reports whether err is a foreign-key failure.
func IsForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "FOREIGN KEY constraint failed") || strings.Contains(s, "SQLSTATE 23503")
}
