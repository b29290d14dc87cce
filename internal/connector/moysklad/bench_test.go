package moysklad_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connector/moysklad"
	"github.com/obmen/obmen/internal/httpx"
)

// BenchmarkBacklog: 1,000 customer orders to create at once (a backlog
// after an outage), by 8 workers sharing one account, against the fake
// enforcing МойСклад's limit for a login/password (11 requests per 3 s,
// 5 in parallel, 429 past them). Time is scaled by 10 so the benchmark
// takes half a minute, not five: the fake allows 11 per 300 ms and the
// client's budget is DefaultLimits scaled alike. Reported: the client's
// requests/s, the fake's limit in requests/s, and the 429s met (must
// be 0; МойСклад blocks an account for 200 a minute).
func BenchmarkBacklog(b *testing.B) {
	const scale = 10
	const items = 1000
	for range b.N {
		f := newFake(b)
		f.limit, f.window = 11, 3*time.Second/scale
		l := moysklad.DefaultLimits
		l.Every /= scale
		bs := moysklad.NewBudgets(l)
		hc := httpx.NewOutboundClient(loopback)
		org := map[string]any{"meta": f.orgs[0]["meta"]}
		agent := moysklad.Ref(f.base()+"/entity/counterparty/9794d400-f689-11e5-8a84-bae500000078", "counterparty")
		work := make(chan int)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var errs []error
		start := time.Now()
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := &moysklad.Client{Account: moysklad.Account{Login: f.login, Password: f.password, URL: f.base()}, HTTP: hc, Budgets: bs}
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
		f.srv.Close()
		if len(errs) > 0 {
			b.Fatalf("%d errors, first: %v", len(errs), errs[0])
		}
		requests, tooMany, maxFlight := f.stats()
		b.ReportMetric(float64(requests)/took.Seconds()/scale, "req/s")
		b.ReportMetric(float64(f.limit)/f.window.Seconds()/scale, "limit_req/s")
		b.ReportMetric(float64(tooMany), "429s")
		b.ReportMetric(float64(maxFlight), "max_parallel")
		b.ReportMetric(float64(requests), "requests")
	}
}
