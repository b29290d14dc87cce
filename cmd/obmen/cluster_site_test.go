package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestClusterSiteSchedule: the scheduled exchanges with four web shops,
// all due, run once each across three instances while the schedules'
// tick comes every 2 s (OBMEN_SITE_TICK) — counted at the fake site as
// checkauth, the first request of every run.
// The instance whose run of the last shop (the tick runs them in turn)
// the site holds is killed with SIGKILL: that run is not made again by
// the others before the shop's next period, and after OBMEN_SITE_LEASE the shop is free — "Run now"
// on another instance runs it (one more checkauth).
func TestClusterSiteSchedule(t *testing.T) {
	const shops = 4
	var mu sync.Mutex
	auths := map[string]int{} // shop → checkauth requests
	var c *cluster            // set under mu once started
	var siteAddr string       // likewise
	held := make(chan int, 1) // the instance whose run of the last shop is held
	holding := true
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		shop, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if r.URL.Query().Get("mode") != "checkauth" {
			http.Error(w, "not here", http.StatusNotFound)
			return
		}
		mu.Lock()
		auths[shop]++
		hold := shop == fmt.Sprintf("s%d", shops) && holding
		holding = holding && !hold
		owner := -1
		if hold {
			owner = c.ownerOf(r.RemoteAddr, siteAddr)
		}
		mu.Unlock()
		if hold {
			held <- owner
			<-r.Context().Done() // its process is killed
			return
		}
		// A failing run is a run all the same (journaled, counted).
		fmt.Fprint(w, "failure\nневерный пароль")
	}))
	defer site.Close()
	mu.Lock()
	siteAddr = site.Listener.Addr().String()
	mu.Unlock()
	cl := startCluster(t, 3, "OBMEN_OUTBOUND_ALLOW=127.0.0.1", "OBMEN_SITE_LEASE=3s", "OBMEN_SITE_TICK=2s")
	mu.Lock()
	c = cl
	mu.Unlock()
	ids := make([]int64, shops)
	for k := range shops {
		var s struct {
			ID int64 `json:"id"`
		}
		c.must(k%3, "POST", "/api/v1/site-exchanges", fmt.Sprintf(`{"name": "Магазин %d", "url": "%s/s%d/1c_exchange.php", "login": "obmen", "password": "secret",
			"orders_every": 1, "enabled": true}`, k+1, site.URL, k+1), http.StatusCreated, &s)
		ids[k] = s.ID
	}
	// All due now (their first time would be a minute on).
	sqlDB, err := sql.Open("pgx", c.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	if _, err := sqlDB.ExecContext(context.Background(), "UPDATE site_exchanges SET orders_due_at = 1"); err != nil {
		t.Fatal(err)
	}
	var killed int
	select {
	case killed = <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the schedules' tick never ran the last shop")
	}
	if killed < 0 {
		t.Fatal("the instance running the last shop not found")
	}
	c.instance(killed).kill()
	count := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range auths {
			out[k] = v
		}
		return out
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, all := count(), true
		for k := range shops {
			all = all && got[fmt.Sprintf("s%d", k+1)] > 0
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tick ran only %v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(4 * time.Second) // two more ticks, and the lease runs out: a second run would show
	for k, n := range count() {
		if n != 1 {
			t.Errorf("shop %s: %d runs over three instances, want 1 (a minute's schedule)", k, n)
		}
	}
	// The killed run's shop is free again: run now on a survivor.
	i := (killed + 1) % 3
	code, b, err := c.do(i, "POST", fmt.Sprintf("/api/v1/site-exchanges/%d/run?kind=orders", ids[shops-1]), "", true)
	if err != nil || code != http.StatusOK {
		t.Fatalf("run now of the last shop on instance %d after the lease: %d %s %v", i, code, b, err)
	}
	if n := count()[fmt.Sprintf("s%d", shops)]; n != 2 {
		t.Fatalf("the last shop: %d checkauth after the run now, want 2", n)
	}
}
