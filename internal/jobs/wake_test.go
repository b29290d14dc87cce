package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/jobs"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestWakeOnCommit: on SQLite a job enqueued by a write is fetched
// because that write committed, not at River's next poll. River's SQLite
// driver carries insert notifications through its river_notification
// outbox, read every 50 ms, and writes one only for the first insert of
// each fetch cooldown; the writes here delete it in their transaction,
// as if River had skipped it, and FetchPollInterval is an hour: without
// the commit's wake-up (jobs/wake.go) the first job waits for the hourly
// poll and the test fails at its 30 s limit. Each job runs exactly once.
// The pick-up times are logged, not asserted.
func TestWakeOnCommit(t *testing.T) {
	d := storetest.OpenSQLite(t)
	rec := &recorder{}
	r := newRunner(t, d, rec, newLogCapture(t), func(c *river.Config) {
		c.FetchCooldown = 10 * time.Millisecond
		c.FetchPollInterval = time.Hour
	})
	start(t, r)
	ctx := context.Background()
	for n := 1; n <= 5; n++ {
		t0 := time.Now()
		if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if err := r.InsertTx(ctx, tx, pingArgs{N: n}, nil); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "DELETE FROM river_notification")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "the job enqueued by a commit to run", func() bool { return rec.count(n) > 0 })
		t.Logf("job %d ran %v after its write began", n, time.Since(t0))
	}
	for n := 1; n <= 5; n++ {
		if c := rec.count(n); c != 1 {
			t.Fatalf("job %d ran %d times", n, c)
		}
	}
}

// TestWakeOnCommitPostgres: on PostgreSQL River sends its insert
// notification (pg_notify in the inserting transaction) only if none
// went out for the queue within FetchCooldown; a job inserted inside that
// window waited for the next notified insert or FetchPollInterval. Here
// the cooldown is 3 s and the poll an hour: job 1 is notified and run at
// once; job 2, inserted right after that run, is not notified by River,
// and runs only because its write's commit woke this process's listener
// (jobs/wake.go) — at the end of the producer's cooldown, ~3 s later;
// without the wake-up it waits for the hourly poll and the test fails at
// its 60 s limit. Each job runs exactly once.
func TestWakeOnCommitPostgres(t *testing.T) {
	d := storetest.OpenPostgres(t)
	rec := &recorder{}
	r := newRunner(t, d, rec, newLogCapture(t), func(c *river.Config) {
		c.FetchCooldown = 3 * time.Second
		c.FetchPollInterval = time.Hour
	})
	start(t, r)
	// The producer's first fetch, at its start, opened a cooldown: let it
	// pass, so that job 1 is fetched as soon as its notification comes.
	time.Sleep(3500 * time.Millisecond)
	ctx := context.Background()
	for n := 1; n <= 2; n++ {
		t0 := time.Now()
		if err := enqueue(ctx, d, r, pingArgs{N: n}, nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 60*time.Second, fmt.Sprintf("job %d to run", n), func() bool { return rec.count(n) > 0 })
		t.Logf("job %d ran %v after its write began", n, time.Since(t0))
	}
	time.Sleep(100 * time.Millisecond)
	for n := 1; n <= 2; n++ {
		if c := rec.count(n); c != 1 {
			t.Fatalf("job %d ran %d times", n, c)
		}
	}
}

// TestInsertNotifiesOnlyWithoutListener (PostgreSQL): a process whose
// River works jobs and listens for inserts sends no River insert
// notification with its inserts into the queues it works (its commits
// wake it; the pg_notify was a round trip and every instance's wake-up
// per dispatch), and its jobs still run; it still notifies an insert into
// a queue it does not work, and a process that only enqueues (no
// workers, no listener) still notifies, so the working instances hear
// those jobs at once. Told apart by queue in the notifications'
// payloads, which PostgreSQL delivers in commit order.
func TestInsertNotifiesOnlyWithoutListener(t *testing.T) {
	d := storetest.OpenPostgres(t)
	ctx := context.Background()
	rec := &recorder{}
	worker := newRunner(t, d, rec, newLogCapture(t))
	start(t, worker)
	waitFor(t, 20*time.Second, "the worker's River to listen", func() bool { return jobs.Listening(worker) })

	conn, err := pgx.Connect(ctx, d.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `LISTEN "public.river_insert"`); err != nil {
		t.Fatal(err)
	}

	if err := enqueue(ctx, d, worker, pingArgs{N: 1}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "job 1 to run", func() bool { return rec.count(1) > 0 })
	if jobs.Quieted(worker) == 0 {
		t.Fatal("the worker's insert notification was not left out")
	}
	insert := func(r *jobs.Runner, n int, queue string) {
		t.Helper()
		err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			return r.InsertTx(ctx, tx, pingArgs{N: n}, &river.InsertOpts{Queue: queue})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	insert(worker, 2, "unworked")

	enqueuer, err := jobs.New(ctx, d, slog.New(newLogCapture(t)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enqueuer.Close()
	insert(enqueuer, 3, "elsewhere")

	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for _, want := range []string{"unworked", "elsewhere"} {
		n, err := conn.WaitForNotification(wctx)
		if err != nil {
			t.Fatalf("the insert notification of queue %s: %v", want, err)
		}
		if !strings.Contains(n.Payload, `"`+want+`"`) {
			t.Fatalf("want the insert notification of queue %s, got %s %s", want, n.Channel, n.Payload)
		}
	}
}
