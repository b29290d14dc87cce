package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/jobs"
	"github.com/obmen/obmen/internal/store/storetest"
)

// pingArgs is a job kind for tests only. Fail makes its worker return an
// error; Write makes it write a settings row through db.Write, as a job
// that updates the CRM would.
type pingArgs struct {
	N     int  `json:"n"`
	Fail  bool `json:"fail,omitempty"`
	Write bool `json:"write,omitempty"`
}

func (pingArgs) Kind() string { return "ping" }

// recorder remembers every run of a ping job: when, by its N.
type recorder struct {
	mu   sync.Mutex
	runs map[int][]time.Time
}

func (r *recorder) add(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runs == nil {
		r.runs = map[int][]time.Time{}
	}
	r.runs[n] = append(r.runs[n], time.Now())
}

func (r *recorder) times(n int) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.runs[n]...)
}

func (r *recorder) count(n int) int { return len(r.times(n)) }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	rec *recorder
	d   *db.DB
}

func (w *pingWorker) Work(ctx context.Context, job *river.Job[pingArgs]) error {
	if job.Args.Write {
		err := w.d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ($1, 'done')", fmt.Sprintf("job-%d", job.Args.N))
			return err
		})
		if err != nil {
			return err
		}
	}
	w.rec.add(job.Args.N)
	if job.Args.Fail {
		return fmt.Errorf("ping %d fails on attempt %d", job.Args.N, job.Attempt)
	}
	return nil
}

// logCapture keeps River's warnings and errors, and shows them in the test
// log.
type logCapture struct {
	t    testing.TB
	mu   *sync.Mutex
	msgs *[]string
}

func newLogCapture(t testing.TB) logCapture {
	return logCapture{t: t, mu: &sync.Mutex{}, msgs: &[]string{}}
}

func (c logCapture) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (c logCapture) WithAttrs([]slog.Attr) slog.Handler           { return c }
func (c logCapture) WithGroup(string) slog.Handler                { return c }
func (c logCapture) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	c.mu.Lock()
	*c.msgs = append(*c.msgs, b.String())
	c.mu.Unlock()
	c.t.Log(b.String())
	return nil
}

func (c logCapture) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), *c.msgs...)
}

// fastRetry retries after 100 ms × errors², a backoff short enough for
// tests.
type fastRetry struct{}

func (fastRetry) NextRetry(job *rivertype.JobRow) time.Time {
	n := len(job.Errors) + 1
	return time.Now().Add(time.Duration(n*n) * 100 * time.Millisecond)
}

func fast(c *river.Config) {
	c.FetchCooldown = 10 * time.Millisecond
	c.FetchPollInterval = 50 * time.Millisecond
	c.RetryPolicy = fastRetry{}
}

// newRunner migrates River's schema on d and builds a Runner with the ping
// worker; it is stopped and closed when the test ends.
func newRunner(t *testing.T, d *db.DB, rec *recorder, logs logCapture, opts ...jobs.Option) *jobs.Runner {
	t.Helper()
	ctx := context.Background()
	if err := jobs.Migrate(ctx, d); err != nil {
		t.Fatal(err)
	}
	r, err := jobs.New(ctx, d, slog.New(logs), func(w *river.Workers) {
		river.AddWorker(w, &pingWorker{rec: rec, d: d})
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		r.Close()
	})
	return r
}

func start(t *testing.T, r *jobs.Runner) {
	t.Helper()
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// enqueue runs one db.Write that enqueues args and then returns failWith.
func enqueue(ctx context.Context, d *db.DB, r *jobs.Runner, args pingArgs, failWith error) error {
	return d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := r.InsertTx(ctx, tx, args, nil); err != nil {
			return err
		}
		return failWith
	})
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// jobRows counts River's rows of the ping kind, by state.
func jobRows(t *testing.T, d *db.DB) map[string]int {
	t.Helper()
	rows, err := d.Read.Query("SELECT state, COUNT(*) FROM river_job WHERE kind = 'ping' GROUP BY state")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[s] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMigrateIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		for range 2 {
			if err := jobs.Migrate(context.Background(), d); err != nil {
				t.Fatal(err)
			}
		}
		if n := jobRows(t, d); len(n) != 0 {
			t.Fatalf("fresh river_job has rows: %v", n)
		}
	})
}

func TestInsertTxFollowsTheWrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		rec := &recorder{}
		logs := newLogCapture(t)
		r := newRunner(t, d, rec, logs, fast)
		start(t, r)

		// Committed: the job runs, but not before the commit.
		err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if err := r.InsertTx(ctx, tx, pingArgs{N: 1}, nil); err != nil {
				return err
			}
			time.Sleep(300 * time.Millisecond)
			if rec.count(1) != 0 {
				return errors.New("job ran before its write committed")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the committed job", func() bool { return rec.count(1) == 1 })

		// Rolled back: no job.
		boom := errors.New("boom")
		if err := enqueue(ctx, d, r, pingArgs{N: 2}, boom); !errors.Is(err, boom) {
			t.Fatalf("write returned %v, want boom", err)
		}

		// Concurrent writes, every other one failing after its insert: on
		// SQLite these share a group commit and the failures roll back to
		// their savepoints.
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range 20 {
			wg.Go(func() {
				var fail error
				if i%2 == 1 {
					fail = boom
				}
				errs[i] = enqueue(ctx, d, r, pingArgs{N: 100 + i}, fail)
			})
		}
		wg.Wait()
		for i, err := range errs {
			if want := i%2 == 1; errors.Is(err, boom) != want || (!want && err != nil) {
				t.Fatalf("write %d: %v", i, err)
			}
		}
		waitFor(t, 10*time.Second, "the committed concurrent jobs", func() bool {
			for i := 0; i < 20; i += 2 {
				if rec.count(100+i) != 1 {
					return false
				}
			}
			return true
		})
		time.Sleep(300 * time.Millisecond) // a rolled-back job, had it existed, would have run by now
		if rec.count(2) != 0 {
			t.Fatal("the job of a rolled-back write ran")
		}
		for i := 1; i < 20; i += 2 {
			if rec.count(100+i) != 0 {
				t.Fatalf("the job of rolled-back write %d ran", i)
			}
		}
		// River records completions in batches, after the work.
		waitFor(t, 10*time.Second, "11 jobs completed", func() bool { return jobRows(t, d)["completed"] == 11 })
		if got := jobRows(t, d); len(got) != 1 {
			t.Fatalf("river_job states %v, want 11 completed", got)
		}
	})
}

// TestInsertTxOutsideALiveWrite covers the PostgreSQL path's guards: a
// transaction not begun by db.Write, and a write whose transaction a
// cancelled context already rolled back (where River's insert would
// otherwise run outside any transaction and commit on its own).
func TestInsertTxOutsideALiveWrite(t *testing.T) {
	if os.Getenv(storetest.EnvPostgres) == "" {
		t.Skip("needs PostgreSQL (OBMEN_TEST_DATABASE_URL)")
	}
	d := storetest.OpenPostgres(t)
	r := newRunner(t, d, &recorder{}, newLogCapture(t))
	tx, err := d.Read.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	if err := r.InsertTx(context.Background(), tx, pingArgs{N: 1}, nil); !errors.Is(err, db.ErrNotWriteTx) {
		t.Fatalf("InsertTx outside db.Write: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	err = d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		cancel()
		// database/sql rolls the transaction back when its context ends.
		waitFor(t, 5*time.Second, "the rollback", func() bool {
			_, err := tx.Exec("SELECT 1")
			return errors.Is(err, sql.ErrTxDone)
		})
		return r.InsertTx(context.Background(), tx, pingArgs{N: 2}, nil)
	})
	// Depending on whether database/sql keeps the connection after such a
	// rollback, RawTx finds it closed or InsertTx finds it idle; or, when
	// database/sql has marked the transaction done but its ROLLBACK has not
	// reached the server yet, the insert lands in that transaction and the
	// write fails at its commit. Every way the write fails and there is no
	// insert (checked below).
	if err == nil || !(strings.HasPrefix(err.Error(), "jobs: insert ping:") || errors.Is(err, sql.ErrTxDone)) {
		t.Fatalf("InsertTx after the rollback: %v", err)
	}

	// A transaction ended behind database/sql's back: the connection is
	// idle, and InsertTx refuses rather than insert on its own.
	err = d.Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "COMMIT"); err != nil {
			return err
		}
		return r.InsertTx(ctx, tx, pingArgs{N: 3}, nil)
	})
	if err == nil || !strings.Contains(err.Error(), "not in a live transaction") {
		t.Fatalf("InsertTx after COMMIT: %v", err)
	}
	if got := jobRows(t, d); len(got) != 0 {
		t.Fatalf("river_job states %v, want none", got)
	}
}

func TestFailingJobRetriesThenIsDiscarded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		rec := &recorder{}
		r := newRunner(t, d, rec, newLogCapture(t), fast)
		start(t, r)
		err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			return r.InsertTx(ctx, tx, pingArgs{N: 7, Fail: true}, &river.InsertOpts{MaxAttempts: 3})
		})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 15*time.Second, "the job to be discarded", func() bool { return jobRows(t, d)["discarded"] == 1 })
		runs := rec.times(7)
		if len(runs) != 3 {
			t.Fatalf("the job ran %d times, want 3 (MaxAttempts)", len(runs))
		}
		// The policy waits 100 ms, then 400 ms: no retry comes earlier
		// (a busy machine may make either later, so only the lower bounds
		// are certain).
		gap1, gap2 := runs[1].Sub(runs[0]), runs[2].Sub(runs[1])
		if gap1 < 100*time.Millisecond || gap2 < 400*time.Millisecond {
			t.Fatalf("retries after %s and %s; want backoff of 100 ms then 400 ms", gap1, gap2)
		}
		var attempt, nerrs int
		var errs string
		if err := d.Read.QueryRow("SELECT attempt, errors FROM river_job WHERE kind = 'ping'").Scan(&attempt, &errs); err != nil {
			// errors is an array on PostgreSQL: read its text.
			if err := d.Read.QueryRow("SELECT attempt, errors::text FROM river_job WHERE kind = 'ping'").Scan(&attempt, &errs); err != nil {
				t.Fatal(err)
			}
		}
		nerrs = strings.Count(errs, "fails on attempt")
		if attempt != 3 || nerrs != 3 {
			t.Fatalf("attempt %d with %d errors recorded; want 3 and 3: %s", attempt, nerrs, errs)
		}
	})
}

func TestDefaultRetryPolicyBacksOff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		rec := &recorder{}
		r := newRunner(t, d, rec, newLogCapture(t), func(c *river.Config) {
			c.FetchCooldown = 10 * time.Millisecond
			c.FetchPollInterval = 50 * time.Millisecond
		})
		start(t, r)
		err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			return r.InsertTx(ctx, tx, pingArgs{N: 8, Fail: true}, &river.InsertOpts{MaxAttempts: 2})
		})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 15*time.Second, "the job to be discarded", func() bool { return jobRows(t, d)["discarded"] == 1 })
		runs := rec.times(8)
		if len(runs) != 2 {
			t.Fatalf("the job ran %d times, want 2", len(runs))
		}
		// River's default waits attempt⁴ seconds ± 10 %: 1 s after the first.
		if gap := runs[1].Sub(runs[0]); gap < 850*time.Millisecond || gap > 3*time.Second {
			t.Fatalf("retried after %s; River's default policy waits about 1 s", gap)
		}
	})
}

func TestJobSurvivesRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		rec := &recorder{}

		// Enqueued by a Runner that never works, which then goes away.
		if err := jobs.Migrate(ctx, d); err != nil {
			t.Fatal(err)
		}
		before, err := jobs.New(ctx, d, slog.New(newLogCapture(t)), func(w *river.Workers) {
			river.AddWorker(w, &pingWorker{rec: rec, d: d})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := enqueue(ctx, d, before, pingArgs{N: 1}, nil); err != nil {
			t.Fatal(err)
		}
		before.Close()
		if got := jobRows(t, d); got["available"] != 1 {
			t.Fatalf("river_job states %v, want 1 available", got)
		}

		r := newRunner(t, d, rec, newLogCapture(t), fast)
		start(t, r)
		waitFor(t, 10*time.Second, "the job enqueued before start", func() bool { return rec.count(1) == 1 })

		// Stopped and started again, the same Runner works what was
		// enqueued meanwhile.
		if err := r.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := enqueue(ctx, d, r, pingArgs{N: 2}, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		if rec.count(2) != 0 {
			t.Fatal("a stopped Runner worked a job")
		}
		start(t, r)
		waitFor(t, 10*time.Second, "the job enqueued while stopped", func() bool { return rec.count(2) == 1 })
		if rec.count(1) != 1 {
			t.Fatalf("the first job ran %d times", rec.count(1))
		}
	})
}

// TestConcurrentWritesWhileWorking is the SQLite locking story in
// practice: River's own connection and the group committer share the
// file's write lock while workers write back through db.Write.
func TestConcurrentWritesWhileWorking(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		rec := &recorder{}
		logs := newLogCapture(t)
		r := newRunner(t, d, rec, logs, fast)
		start(t, r)

		// Keep River busy: fetching, working (each job writes a row through
		// the committer) and completing, while 32 writers each make a
		// series of writes that enqueue a job.
		const background, writers, rounds = 200, 32, 8
		err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			for i := range background {
				if err := r.InsertTx(ctx, tx, pingArgs{N: 10000 + i, Write: true}, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		all := make([]int, 0, background+writers*rounds)
		for i := range background {
			all = append(all, 10000+i)
		}
		for i := range writers * rounds {
			all = append(all, i)
		}
		ran := func() (n int) {
			for _, k := range all {
				n += min(1, rec.count(k))
			}
			return n
		}
		waitFor(t, 10*time.Second, "River to start working", func() bool { return ran() > 0 })
		ranBefore := ran()
		if ranBefore >= background {
			t.Fatal("River finished its backlog before the writes began")
		}
		var wg sync.WaitGroup
		errs := make(chan error, writers*rounds)
		for w := range writers {
			wg.Go(func() {
				for k := range rounds {
					n := w*rounds + k
					errs <- d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
						if _, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ($1, 'w')", fmt.Sprintf("write-%d", n)); err != nil {
							return err
						}
						return r.InsertTx(ctx, tx, pingArgs{N: n, Write: true}, nil)
					})
					time.Sleep(time.Duration(rand.IntN(10)) * time.Millisecond)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("write: %v", err)
			}
		}
		// River had work in hand throughout; under a saturating writer it
		// may make little progress (its BEGIN waits on busy_timeout while
		// the committer takes the lock back to back), but it must not fail.
		t.Logf("jobs run: %d when the writes began, %d when they ended, of %d", ranBefore, ran(), len(all))

		waitFor(t, 60*time.Second, "every job to run", func() bool { return ran() == len(all) })
		waitFor(t, 10*time.Second, "every job to be completed", func() bool {
			return jobRows(t, d)["completed"] == len(all)
		})
		time.Sleep(200 * time.Millisecond)
		for _, n := range all {
			if c := rec.count(n); c != 1 {
				t.Fatalf("job %d ran %d times", n, c)
			}
		}
		var rows int
		if err := d.Read.QueryRow("SELECT COUNT(*) FROM settings WHERE key LIKE 'job-%' OR key LIKE 'write-%'").Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if want := len(all) + writers*rounds; rows != want {
			t.Fatalf("%d rows written, want %d", rows, want)
		}
		for _, m := range logs.all() {
			if strings.Contains(m, "locked") || strings.Contains(m, "BUSY") {
				t.Fatalf("River met the lock: %s", m)
			}
		}
	})
}

// TestAbandonedJobIsRescued: a job left "running" by a process that died
// mid-job (kill -9) is scheduled again once it has been running longer
// than jobs.RescueAfter, with the default configuration.
func TestAbandonedJobIsRescued(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		rec := &recorder{}
		r := newRunner(t, d, rec, newLogCapture(t), func(c *river.Config) { c.RetryPolicy = fastRetry{} })
		if err := enqueue(ctx, d, r, pingArgs{N: 7}, nil); err != nil {
			t.Fatal(err)
		}
		// What a crash leaves behind: taken by a client that is gone,
		// attempted well over RescueAfter ago.
		ago := "datetime('now', 'subsec', '-" + fmt.Sprint(int(2*jobs.RescueAfter/time.Minute)) + " minutes')"
		if d.Dialect == db.Postgres {
			ago = fmt.Sprintf("now() - interval '%d minutes'", int(2*jobs.RescueAfter/time.Minute))
		}
		err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE river_job SET state = 'running', attempt = 1, attempted_at = "+ago+" WHERE kind = 'ping'")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		start(t, r)
		waitFor(t, 30*time.Second, "the abandoned job to be rescued and run", func() bool { return rec.count(7) == 1 })
	})
}
