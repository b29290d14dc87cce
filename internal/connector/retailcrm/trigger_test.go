package retailcrm_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connector/retailcrm"
)

// managerOrders adds n orders made in the CRM by a manager, and own
// changes made through key every ownEvery orders.
func (f *fake) managerOrders(n int, key string, ownEvery int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range n {
		id := int64(len(f.orders) + 1)
		o := map[string]any{"id": id, "site": "shop", "status": "new", "number": fmt.Sprintf("%dA", id), "totalSumm": 1000 + i}
		f.orders = append(f.orders, o)
		f.record("", o, "status", nil, map[string]any{"code": "new"}, true)
		if ownEvery > 0 && i%ownEvery == 0 {
			f.record(key, o, "managerComment", nil, "Obmen", false)
		}
	}
}

// The history is read page by page to the end, in polls of at most
// MaxPagesPerPoll pages; every manager's entry is an item once, Obmen's
// own never; reading again from an older cursor (overlapping windows, a
// restart between the fetch and the cursor's store) gives the same keys.
func TestPollHistory(t *testing.T) {
	f := newFake(t, "key1")
	c := deps().Client(retailcrm.Account{URL: f.URL, Key: "key1"})
	f.managerOrders(30, "key1", 0)
	items, cursor, err := retailcrm.PollHistory(t.Context(), c, "", false)
	if err != nil || len(items) != 0 || cursor != "30" {
		t.Fatalf("first poll: %d items, cursor %q, %v", len(items), cursor, err)
	}
	f.managerOrders(1200, "key1", 10) // 1200 manager's entries, 120 own
	seen := map[string]int{}
	cursors := []string{cursor}
	for range 5 {
		items, next, err := retailcrm.PollHistory(t.Context(), c, cursor, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			seen[it.Key]++
			if it.Data["order"] == nil || it.Data["status"] != "new" {
				t.Fatalf("item %s: %v", it.Key, it.Data)
			}
		}
		if next == cursor {
			break
		}
		cursor = next
		cursors = append(cursors, next)
	}
	if len(seen) != 1200 || cursor != strconv.Itoa(30+1320) {
		t.Fatalf("%d items, cursor %s (cursors %v)", len(seen), cursor, cursors)
	}
	if len(cursors) != 3 {
		t.Fatalf("polls %v: want two of at most %d pages", cursors, retailcrm.MaxPagesPerPoll)
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("%s seen %d times", k, n)
		}
	}
	// Again from an older cursor: nothing new.
	again, _, err := retailcrm.PollHistory(t.Context(), c, cursors[1], false)
	if err != nil || len(again) == 0 {
		t.Fatalf("again: %d, %v", len(again), err)
	}
	for _, it := range again {
		if seen[it.Key] != 1 {
			t.Fatalf("a new key %s reading again", it.Key)
		}
	}
	// A poll that fails midway (503 past the attempts) keeps the cursor:
	// the next one reads the same entries.
	f.managerSets(5, "managerComment", "позже")
	f.mu.Lock()
	f.force, f.forceCode, f.forceRetry = retailcrm.MaxAttempts, 503, ""
	f.mu.Unlock()
	if _, kept, err := retailcrm.PollHistory(t.Context(), c, cursor, false); err == nil || kept != cursor {
		t.Fatalf("failed poll: cursor %q, %v", kept, err)
	}
	got, next, err := retailcrm.PollHistory(t.Context(), c, cursor, false)
	if err != nil || len(got) != 1 || got[0].Data["newValue"] != "позже" {
		t.Fatalf("after the failure: %v %v", got, err)
	}
	cursor = next

	// Only status changes: the comment of a manager is not one.
	f.managerSets(5, "managerComment", "перезвонить")
	f.managerSets(5, "status", "complete")
	st, next, err := retailcrm.PollHistory(t.Context(), c, cursor, true)
	if err != nil || len(st) != 1 || st[0].Data["status"] != "complete" || st[0].Data["old_status"] != "new" || next != strconv.Itoa(30+1323) {
		t.Fatalf("status only: %v %s %v", st, next, err)
	}
	if st[0].Key != retailcrm.ItemKey(5, 30+1323) {
		t.Fatalf("key %s", st[0].Key)
	}
}

// BenchmarkBacklog: 1,000 manager's status changes waiting in the history
// are read, and each is answered by an order edit from four workers, as a
// bundle's runs would, all through one key. It reports the requests a
// second the client made and the most the fake counted in any second
// (the limit is 10) and how many it refused.
//
//	go test -run XXX -bench Backlog -benchtime 1x ./internal/connector/retailcrm/
func BenchmarkBacklog(b *testing.B) {
	for range b.N {
		f := newFake(b, "key1")
		d := deps()
		sent := &sendLog{next: http.DefaultTransport}
		d.HTTP = &http.Client{Transport: sent}
		c := d.Client(retailcrm.Account{URL: f.URL, Key: "key1"})
		f.managerOrders(1000, "key1", 0)
		start := time.Now()
		var items []string
		cursor := "0"
		for {
			its, next, err := retailcrm.PollHistory(b.Context(), c, cursor, true)
			if err != nil {
				b.Fatal(err)
			}
			for _, it := range its {
				items = append(items, strconv.FormatInt(int64(it.Data["order"].(map[string]any)["id"].(int64)), 10))
			}
			if next == cursor {
				break
			}
			cursor = next
		}
		if len(items) != 1000 {
			b.Fatalf("%d items", len(items))
		}
		work := make(chan string)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for id := range work {
					if _, err := c.Post(b.Context(), "/orders/"+id+"/edit", map[string][]string{"by": {"id"}, "order": {`{"managerComment":"seen"}`}}); err != nil {
						b.Error(err)
					}
				}
			})
		}
		for _, id := range items {
			work <- id
		}
		close(work)
		wg.Wait()
		elapsed := time.Since(start)
		f.mu.Lock()
		most := mostInASecond(f.at)
		req, limited := f.requests, f.limited
		f.mu.Unlock()
		b.ReportMetric(float64(req)/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(mostInASecond(sent.times())), "max-sent-in-1s")
		b.ReportMetric(float64(most), "max-arrived-in-1s")
		b.ReportMetric(float64(limited), "refused-503")
		b.ReportMetric(float64(req), "requests")
		f.Close()
	}
}

// sendLog notes when each request leaves the client.
type sendLog struct {
	mu   sync.Mutex
	at   []time.Time
	next http.RoundTripper
}

func (l *sendLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.at = append(l.at, time.Now())
	l.mu.Unlock()
	return l.next.RoundTrip(r)
}

func (l *sendLog) times() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.at)
}

// mostInASecond is the most times (in order) within any one second.
func mostInASecond(at []time.Time) int {
	at = slices.Clone(at)
	slices.SortFunc(at, time.Time.Compare)
	most := 0
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < time.Second; j++ {
			n++
		}
		most = max(most, n)
	}
	return most
}
