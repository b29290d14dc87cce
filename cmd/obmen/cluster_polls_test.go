package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connector/retailcrm/retailcrmtest"
)

// TestClusterConnectorPoll: a bundle on retailCRM's orders' history
// (a polling trigger) with three instances polling it: each poll window
// — the history read after one cursor that has entries after it — is
// fetched once, not by every instance, although the fake answers slowly
// (a second instance's poll would start while the first waits) and the
// pushes that make the poll due go to all three; each history entry runs
// the bundle once (one webhook at the receiver). One instance is killed
// with SIGKILL while the fake holds its poll: the window is fetched
// again by another instance after OBMEN_POLL_LEASE, and its entry still
// makes one webhook.
func TestClusterConnectorPoll(t *testing.T) {
	fake := retailcrmtest.New(t, "key1")
	fake.ManagerOrders(1, "", 0) // history entry 1: before the bundle

	type poll struct {
		owner  int
		killed bool
	}
	var mu sync.Mutex
	windows := map[string][]poll{} // sinceId with entries after it → its fetches
	last := 1                      // the history's last entry
	started := make(chan struct{}, 1)
	hold := false             // the next window's fetch is held for the kill
	held := make(chan int, 1) // the instance whose fetch is held
	var c *cluster            // set under mu once started
	var frontAddr string      // likewise
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/orders/history") {
			since := r.URL.Query().Get("filter[sinceId]")
			if since == "" { // the first poll: where the history ends
				select {
				case started <- struct{}{}:
				default:
				}
			} else {
				mu.Lock()
				var n int
				fmt.Sscan(since, &n)
				productive := n < last
				owner := c.ownerOf(r.RemoteAddr, frontAddr)
				h := productive && hold
				if productive {
					windows[since] = append(windows[since], poll{owner: owner, killed: h})
				}
				if h {
					hold = false
				}
				mu.Unlock()
				if h {
					held <- owner
					<-r.Context().Done() // its process is killed
					return
				}
				if productive {
					// A slow answer: an instance polling without the
					// lease would fetch the same window meanwhile.
					time.Sleep(1200 * time.Millisecond)
				}
			}
		}
		fake.Config.Handler.ServeHTTP(w, r)
	}))
	defer front.Close()
	mu.Lock()
	frontAddr = front.Listener.Addr().String()
	mu.Unlock()

	recv := newCounter(t, func(b []byte) string {
		var p struct {
			Event string         `json:"event"`
			Data  map[string]any `json:"data"`
		}
		if json.Unmarshal(b, &p) != nil || p.Event != "entry" {
			return ""
		}
		return fmt.Sprint(p.Data["entry"])
	})
	cl := startCluster(t, 3, "OBMEN_OUTBOUND_ALLOW=127.0.0.1", "OBMEN_POLL_LEASE=3s")
	mu.Lock()
	c = cl
	mu.Unlock()
	var conn struct {
		ID int64 `json:"id"`
	}
	c.must(0, "POST", "/api/v1/connections", fmt.Sprintf(`{"type": "retailcrm", "name": "retailCRM", "settings": {"url": %q, "api_key": "key1", "site": "shop"}}`, front.URL),
		http.StatusCreated, &conn)
	c.must(1, "POST", "/api/v1/bundles", fmt.Sprintf(`{"name": "история заказов", "active": true,
		"trigger": {"type": "retailcrm.order.changed", "connection": %d},
		"steps": [{"id": "send", "action": "webhook.send", "input": {"url": %q, "secret": "signing-secret", "event": "entry", "data": {"entry": "{{trigger.id}}"}}}]}`, conn.ID, recv.URL),
		http.StatusCreated, nil)
	var hook struct {
		URL string `json:"url"`
	}
	c.must(2, "POST", fmt.Sprintf("/api/v1/connections/%d/hook", conn.ID), "", http.StatusOK, &hook)
	hu, err := url.Parse(hook.URL)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the bundle's first poll never came")
	}
	time.Sleep(500 * time.Millisecond) // its cursor stored

	const rounds, killAt = 6, 2
	killed := -1
	for k := range rounds {
		mu.Lock()
		fake.ManagerOrders(1, "", 0)
		last++
		entry := fmt.Sprint(last)
		hold = k == killAt
		mu.Unlock()
		// retailCRM's trigger posts to the hook URL, through the
		// balancer: to any instance up.
		for i := range 3 {
			if i == killed {
				continue
			}
			u := *hu
			u.Host = c.instance(i).addr
			resp, err := http.PostForm(u.String(), url.Values{"order_id": {entry}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("push to instance %d: %d", i, resp.StatusCode)
			}
		}
		if k == killAt {
			select {
			case killed = <-held:
			case <-time.After(30 * time.Second):
				t.Fatal("the held poll never came")
			}
			if killed < 0 {
				t.Fatal("the held poll's instance not found")
			}
			c.instance(killed).kill()
		}
		deadline := time.Now().Add(30 * time.Second)
		for recv.counts()[entry] == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("history entry %s never ran the bundle (round %d)", entry, k)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	time.Sleep(1500 * time.Millisecond) // a second copy would show
	for e := 2; e <= last; e++ {
		if n := recv.counts()[fmt.Sprint(e)]; n != 1 {
			t.Errorf("history entry %d ran the bundle %d times, want once", e, n)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(windows) != rounds {
		t.Errorf("%d windows fetched, want %d: %v", len(windows), rounds, windows)
	}
	for since, ps := range windows {
		switch {
		case len(ps) == 1 && !ps[0].killed:
		case len(ps) == 2 && ps[0].killed && ps[1].owner != killed:
			t.Logf("the window after %s: fetched by instance %d (killed), then by instance %d", since, ps[0].owner, ps[1].owner)
		default:
			t.Errorf("the window after history entry %s fetched %d times: %+v", since, len(ps), ps)
		}
	}
}
