package bitrix_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

// benchDeals is how many deals BenchmarkItemList lists over
// (OBMEN_BENCH_DEALS overrides it).
func benchDeals() int {
	if n, err := strconv.Atoi(os.Getenv("OBMEN_BENCH_DEALS")); err == nil && n > 0 {
		return n
	}
	return 100000
}

// seedItemDeals creates benchDeals() deals from 32 writers.
func seedItemDeals(b *testing.B, e *env, engine string) {
	n := benchDeals()
	ctx := context.Background()
	if _, err := e.s.CreateCustomField(ctx, e.admin, crm.CustomField{Entity: "deal", Code: "UF_CRM_ORDER_NO", Label: "Заказ", Type: "string"}); err != nil {
		b.Fatal(err)
	}
	contact, err := e.s.CreateContact(ctx, e.admin, crm.Contact{Name: "Иван", LastName: "Петров"})
	if err != nil {
		b.Fatal(err)
	}
	stages := []string{"NEW", "PREPARATION", "PREPAYMENT_INVOICE", "EXECUTING", "FINAL_INVOICE", "WON", "LOSE"}
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				_, err := e.s.CreateDeal(ctx, e.admin, crm.Deal{Title: fmt.Sprintf("Заказ %d", i), StageID: stages[i%int64(len(stages))],
					Opportunity: crm.Amount(i * 1000), Currency: "RUB", ContactIDs: []int64{contact.ID},
					Extra: crm.Extra{Custom: map[string]any{"UF_CRM_ORDER_NO": fmt.Sprintf("П-%d", i)}, ExternalIDs: map[string]string{"shop": strconv.FormatInt(i, 10)}}})
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %d deals seeded in %s", engine, n, time.Since(start).Round(time.Second))
}

// BenchmarkItemList is crm.item.list of deals, 50 with select *, over
// loopback HTTP at 100,000 deals (each with a contact, a custom field
// value and an external id), on each engine: the first page, the first
// page of a text filter, and pages at offsets across the table. It
// reports the p50 and p99 of the calls:
//
//	go test -run x -bench ItemList -benchtime 200x ./internal/bitrix/
func BenchmarkItemList(b *testing.B) {
	// The envs are the parent's, so that the deals are seeded once
	// however many times each sub-benchmark runs.
	for _, eng := range storetest.Engines(b) {
		e := newEnv(b, eng.Open(b))
		seedItemDeals(b, e, eng.Name)
		b.Run(eng.Name, func(b *testing.B) {
			n := benchDeals()
			bodies := []string{
				`{"entityTypeId":2,"select":["*"]}`,
				`{"entityTypeId":2,"select":["*"],"filter":{"%title":"ЗАКАЗ 99"}}`,
			}
			for _, off := range []int{n / 4, n / 2, n - 100} {
				bodies = append(bodies, fmt.Sprintf(`{"entityTypeId":2,"select":["*"],"start":%d}`, off))
			}
			durations := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				body := bodies[i%len(bodies)]
				t0 := time.Now()
				res, err := e.client.Post(e.base+"crm.item.list.json", "application/json", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				out, _ := io.ReadAll(res.Body)
				res.Body.Close()
				durations = append(durations, time.Since(t0))
				if res.StatusCode != 200 || !strings.Contains(string(out), `"items":[{"id":`) {
					b.Fatalf("%s: status %d: %.300s", body, res.StatusCode, out)
				}
			}
			b.StopTimer()
			slices.Sort(durations)
			pct := func(p float64) float64 {
				return float64(durations[min(len(durations)-1, int(float64(len(durations))*p))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}
