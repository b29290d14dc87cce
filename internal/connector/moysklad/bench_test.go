package moysklad_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connector/moysklad"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store/storetest"
)

// BenchmarkBacklog: 1,000 customer orders to create at once (a backlog
// after an outage), by 8 workers sharing one account, against the fake
// enforcing МойСклад's limit for a login/password (11 requests per 3 s,
// 5 in parallel, 429 past them). Time is scaled by 3 so the benchmark
// takes under two minutes, not six: the fake allows 11 per second and the
// client's budget is DefaultLimits scaled alike. Reported: the client's
// requests/s, the fake's limit in requests/s, and the 429s met (must
// be 0; МойСклад blocks an account for 200 a minute).
func BenchmarkBacklog(b *testing.B) {
	const scale = 3
	const items = 1000
	for range b.N {
		f := newFake(b)
		f.Limit, f.Window = 11, 3*time.Second/scale
		l := moysklad.DefaultLimits
		l.Every /= scale
		bs := moysklad.NewBudgets(l)
		hc := httpx.NewOutboundClient(loopback)
		org := map[string]any{"meta": f.Orgs[0]["meta"]}
		agent := moysklad.Ref(f.Base()+"/entity/counterparty/9794d400-f689-11e5-8a84-bae500000078", "counterparty")
		work := make(chan int)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var errs []error
		start := time.Now()
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := &moysklad.Client{Account: moysklad.Account{Login: f.Login, Password: f.Password, URL: f.Base()}, HTTP: hc, Budgets: bs}
				for i := range work {
					err := c.Do(context.Background(), "POST", "entity/customerorder", nil, map[string]any{"organization": org, "agent": agent,
						"syncId": moysklad.SyncID(fmt.Sprint("bench:", i))}, nil)
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}
			}()
		}
		for i := range items {
			work <- i
		}
		close(work)
		wg.Wait()
		took := time.Since(start)
		f.Srv.Close()
		if len(errs) > 0 {
			b.Fatalf("%d errors, first: %v", len(errs), errs[0])
		}
		requests, tooMany, maxFlight := f.Stats()
		b.ReportMetric(float64(requests)/took.Seconds()/scale, "req/s")
		b.ReportMetric(float64(f.Limit)/f.Window.Seconds()/scale, "limit_req/s")
		b.ReportMetric(float64(tooMany), "429s")
		b.ReportMetric(float64(maxFlight), "max_parallel")
		b.ReportMetric(float64(requests), "requests")
	}
}

// BenchmarkPushToWrite: the time from МойСклад's webhook POST reaching
// the connection's hook URL (answered at once; the push makes the
// reconciliation poll due, which reads the order) to the remote write its
// run makes (a counterparty created in МойСклад), for pushes one after
// another, with the real DefaultLimits (the budget, not the engine, sets
// the pace: each push costs the poll's GET and the step's POST).
// Reported: p50 and p99.
func BenchmarkPushToWrite(b *testing.B) {
	const pushes = 40
	for range b.N {
		f := newFake(b)
		d := storetest.OpenSQLite(b)
		s := newServer(b, d)
		var conn struct{ ID int64 }
		s.do("POST", "/api/v1/connections", map[string]any{"type": "moysklad", "name": "МойСклад", "settings": map[string]any{
			"token": f.Token, "url": f.Base()}}, http.StatusCreated, &conn)
		var tb automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "push", "active": true,
			"trigger": map[string]any{"type": "moysklad.customerorder.changed", "connection": conn.ID},
			"steps": []any{map[string]any{"id": "client", "action": "moysklad.counterparty.create", "connection": conn.ID,
				"input": map[string]any{"name": "Заказ {{trigger.name}} {{trigger.updated}}"}}}}, http.StatusCreated, &tb)
		var hook struct {
			URL string `json:"url"`
		}
		s.do("POST", fmt.Sprintf("/api/v1/connections/%d/hook", conn.ID), nil, http.StatusOK, &hook)
		// The first poll starts the bundle at the account's latest change.
		waitCursor(b, d, tb.ID)
		var lat []time.Duration
		for i := range pushes {
			o := f.AddOrder(fmt.Sprintf("2026-12-05 11:00:%02d.000", i), 0)
			body := fmt.Sprintf(`{"events":[{"meta":{"type":"customerorder","href":"%s"},"action":"UPDATE","accountId":"a","updatedFields":["state"]}]}`,
				o["meta"].(map[string]any)["href"])
			before := f.Count("counterparty")
			start := time.Now()
			res, err := http.Post(hook.URL, "application/json", strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatalf("webhook: %d", res.StatusCode)
			}
			for deadline := time.Now().Add(30 * time.Second); f.Count("counterparty") == before; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					b.Fatalf("push %d made no write", i)
				}
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50_ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99_ms")
	}
}
