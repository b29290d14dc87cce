package jobs_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/riverqueue/river"

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
