package delivery

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// jobStates counts the delivery jobs by state.
func jobStates(t *testing.T, d *db.DB) map[string]int {
	t.Helper()
	rows, err := d.Read.QueryContext(context.Background(), "SELECT state, COUNT(*) FROM river_job WHERE kind = 'delivery' GROUP BY state")
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
	return out
}

// TestFirstAttemptAtOnce: the dispatcher makes a delivery's first attempt
// itself, River not even started. While the attempt is in flight the
// delivery's job waits the rescue time (the safety net, should the
// process die); once the attempt has delivered, the job is deleted.
func TestFirstAttemptAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		release := make(chan struct{})
		rc := &receiver{answer: func(int, received) (int, time.Duration) {
			<-release
			return http.StatusOK, 0
		}}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		defer func() {
			select {
			case <-release:
			default:
				close(release)
			}
		}()
		const rescue = 20 * time.Second
		policy := loopback
		policy.TotalTimeout = 5 * time.Second
		e := newEnv(t, d, policy, WithRescueAfter(rescue))
		svc := e.driven()
		h := e.webhook(native(srv.URL))
		e.lead(e.admin, "sent at once")
		start := time.Now()
		if _, err := svc.Dispatch(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the first attempt to reach the receiver", func() bool {
			rc.mu.Lock()
			defer rc.mu.Unlock()
			return rc.calls == 1
		})
		if st := jobStates(t, d); st["scheduled"] != 1 || len(st) != 1 {
			t.Fatalf("delivery jobs while the attempt is in flight: %v, want one scheduled (the safety net)", st)
		}
		var at time.Time
		if err := d.Read.QueryRowContext(ctx, "SELECT scheduled_at FROM river_job WHERE kind = 'delivery'").Scan(&at); err != nil {
			t.Fatal(err)
		}
		if at.Before(start.Add(rescue-2*time.Second)) || at.After(time.Now().Add(rescue+2*time.Second)) {
			t.Fatalf("job scheduled at %s, want about %s after the dispatch at %s", at, rescue, start)
		}
		close(release)
		ds := e.settled(h.ID, 1, 10*time.Second)
		if ds[0].Status != StatusDelivered || ds[0].Attempts != 1 || len(rc.all()) != 1 {
			t.Fatalf("delivery %+v, %d requests, want delivered by one", ds[0], len(rc.all()))
		}
		waitFor(t, 10*time.Second, "the delivered delivery's job to be deleted", func() bool { return len(jobStates(t, d)) == 0 })
	})
}

// TestFirstAttemptFailsRiverRetries: a first attempt that fails, and one
// cut off before it could record anything, go to River, which delivers
// them; a second delivery of the same record waits for the first.
func TestFirstAttemptFailsRiverRetries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		rc := &receiver{answer: func(n int, _ received) (int, time.Duration) {
			switch n {
			case 0:
				return http.StatusBadGateway, 0
			case 1:
				return http.StatusOK, 600 * time.Millisecond // beyond the first attempt's time (rescue / 2)
			}
			return http.StatusOK, 0
		}}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		policy := loopback
		policy.TotalTimeout = 5 * time.Second
		e := newStartedEnv(t, d, policy, WithRescueAfter(time.Second))
		h := e.webhook(native(srv.URL))
		a := e.lead(e.admin, "a")
		e.dispatched()
		e.lead(e.admin, "b")
		e.updateLead(a.ID, "a, changed")
		ds := e.settled(h.ID, 3, 30*time.Second)
		for _, x := range ds {
			if x.Status != StatusDelivered {
				t.Errorf("delivery %+v not delivered", x)
			}
		}
		if ds[0].Attempts < 2 {
			t.Errorf("first delivery %+v: want its failed first attempt and River's", ds[0])
		}
		// The dispatcher's attempt and River's retries send the same bytes.
		bodies := map[string][]byte{}
		for _, x := range rc.all() {
			if b, ok := bodies[x.eventID]; ok && !bytes.Equal(b, x.body) {
				t.Errorf("event %s sent as\n%s\nthen as\n%s", x.eventID, b, x.body)
			}
			bodies[x.eventID] = x.body
		}
		// Per record order: a's update after a's create.
		var order []string
		for _, x := range rc.all() {
			if x.status < 300 {
				order = append(order, x.eventID)
			}
		}
		first := map[string]int{}
		for i, id := range order {
			if _, ok := first[id]; !ok {
				first[id] = i
			}
		}
		create, update := fmt.Sprint(ds[0].EventID), fmt.Sprint(ds[2].EventID)
		if first[create] > first[update] {
			t.Errorf("a's update (event %s) delivered before its create (event %s): %v", update, create, order)
		}
	})
}

// TestFirstAttemptKeepsRecordOrder: a change to a record whose earlier
// delivery is still being retried is not sent at once — it would overtake
// that one — but waits for it.
func TestFirstAttemptKeepsRecordOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		var mu sync.Mutex
		seen := map[string]int{}
		var first string
		rc := &receiver{answer: func(_ int, x received) (int, time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			if first == "" {
				first = x.eventID
			}
			seen[x.eventID]++
			if x.eventID == first && seen[x.eventID] <= 4 {
				return http.StatusBadGateway, 0 // the create fails four times (~150 ms of retries)
			}
			return http.StatusOK, 0
		}}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		e := newStartedEnv(t, d, loopback)
		h := e.webhook(native(srv.URL))
		a := e.lead(e.admin, "a")
		e.dispatched()
		e.updateLead(a.ID, "a, changed")
		ds := e.settled(h.ID, 2, 30*time.Second)
		create, update := fmt.Sprint(ds[0].EventID), fmt.Sprint(ds[1].EventID)
		for _, x := range rc.all() {
			if x.eventID == update {
				t.Fatalf("a's update (event %s) sent while its create (event %s) was still failing", update, create)
			}
			if x.eventID == create && x.status < 300 {
				break
			}
		}
	})
}
