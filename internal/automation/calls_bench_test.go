package automation_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/store/storetest"
)

// BenchmarkActionUpdate: crm.company/contact/lead/deal.update called
// through POST /api/v1/actions/{name} by 8 clients for 5 s, each call
// changing a record's comment and adding one of 5 phones (a deal: its
// probability) — the seed's inputs —
// every call journaled; actions/s. Use -benchtime=1x:
//
//	go test -run '^$' -bench ActionUpdate -benchtime=1x ./internal/automation/
func BenchmarkActionUpdate(b *testing.B) {
	for _, eng := range storetest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			for b.Loop() {
				e := newBenchEnv(b, eng)
				type target struct {
					action string
					ids    []int64
				}
				targets := []target{{action: "crm.company.update"}, {action: "crm.contact.update"}, {action: "crm.lead.update"}, {action: "crm.deal.update"}}
				for i, path := range []string{"accounts", "contacts", "leads", "deals"} {
					for n := range 25 {
						var rec struct {
							ID int64 `json:"id"`
						}
						body := map[string]any{"title": fmt.Sprintf("bench %d", n)}
						if path == "contacts" {
							body = map[string]any{"name": fmt.Sprintf("bench %d", n)}
						}
						e.must(e.do("POST", "/api/v1/"+path, body), http.StatusCreated).json(b, &rec)
						targets[i].ids = append(targets[i].ids, rec.ID)
					}
				}
				const clients, dur = 8, 5 * time.Second
				var done, failed atomic.Int64
				var firstFail atomic.Value
				var wg sync.WaitGroup
				start := time.Now()
				for c := range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; time.Since(start) < dur; i++ {
							t := targets[(c+i)%len(targets)]
							id := t.ids[(c*7+i)%len(t.ids)]
							in := map[string]any{"id": id, "comment": fmt.Sprintf("call %d/%d", c, i)}
							if t.action == "crm.deal.update" {
								in["probability"] = i % 100 // a deal has no phones
							} else {
								in["phone"] = fmt.Sprintf("+7 900 000-00-%02d", i%5)
							}
							r := e.do("POST", "/api/v1/actions/"+t.action, in)
							if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"result":"OK"`) {
								firstFail.CompareAndSwap(nil, fmt.Sprintf("%s %d: %d %s", t.action, id, r.Status, r.Body))
								failed.Add(1)
								continue
							}
							done.Add(1)
						}
					}()
				}
				wg.Wait()
				el := time.Since(start)
				if failed.Load() > 0 {
					b.Fatalf("%d calls failed, the first: %v", failed.Load(), firstFail.Load())
				}
				b.ReportMetric(float64(done.Load())/el.Seconds(), "actions/s")
			}
		})
	}
}
