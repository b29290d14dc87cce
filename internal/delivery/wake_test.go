package delivery

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestDeliveryWokenByCommit: with the dispatcher's poll and River's fetch
// poll an hour long, each change still reaches the receiver at once —
// the commit's poke wakes the dispatcher, and the job it enqueues wakes
// River (LISTEN/NOTIFY on PostgreSQL, the group commit's hook on SQLite,
// internal/jobs/wake.go). Without either wake a delivery waits an hour.
func TestDeliveryWokenByCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		rc := &receiver{}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		e := newEnv(t, d, loopback, WithPoll(time.Hour))
		e.river = func(c *river.Config) { c.FetchCooldown, c.FetchPollInterval = 5*time.Millisecond, time.Hour }
		e.start()
		defer e.stop()
		hook := e.webhook(native(srv.URL, "lead.create"))
		// One change at a time, each after a quiet spell: none rides on
		// a dispatch or fetch that another one started.
		for i := range 5 {
			e.lead(e.admin, fmt.Sprintf("Заявка %d", i))
			waitFor(t, 20*time.Second, fmt.Sprintf("delivery %d without a poll", i+1), func() bool { return len(rc.all()) == i+1 })
			time.Sleep(50 * time.Millisecond)
		}
		for _, dl := range e.settled(hook.ID, 5, 20*time.Second) {
			if dl.Status != StatusDelivered {
				t.Fatalf("delivery %d: %s", dl.ID, dl.Status)
			}
		}
	})
}
