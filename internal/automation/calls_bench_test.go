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
// probability) — the seed's inputs —, every call journaled; actions/s.
// The rest/ variant is the baseline: the same comments changed by PATCH
// /api/v1/{records}/{id} of the REST API (no journal). Use -benchtime=1x:
//
//	go test -run '^$' -bench ActionUpdate -benchtime=1x ./internal/automation/
func BenchmarkActionUpdate(b *testing.B) {
	for _, eng := range storetest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) { benchUpdates(b, eng, false) })
		b.Run("rest/"+eng.Name, func(b *testing.B) { benchUpdates(b, eng, true) })
	}
}

func benchUpdates(b *testing.B, eng storetest.Engine, rest bool) {
	type target struct {
		action, path string
		ids          []int64
	}
	for b.Loop() {
		e := newBenchEnv(b, eng)
		targets := []target{{action: "crm.company.update", path: "accounts"}, {action: "crm.contact.update", path: "contacts"},
			{action: "crm.lead.update", path: "leads"}, {action: "crm.deal.update", path: "deals"}}
		for i := range targets {
			for n := range 25 {
				var rec struct {
					ID int64 `json:"id"`
				}
				body := map[string]any{"title": fmt.Sprintf("bench %d", n)}
				if targets[i].path == "contacts" {
					body = map[string]any{"name": fmt.Sprintf("bench %d", n)}
				}
				e.must(e.do("POST", "/api/v1/"+targets[i].path, body), http.StatusCreated).json(b, &rec)
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
					comment := fmt.Sprintf("call %d/%d", c, i)
					var r resp
					ok := func() bool { return r.Status == http.StatusOK && strings.Contains(string(r.Body), `"result":"OK"`) }
					if rest {
						r = e.do("PATCH", fmt.Sprintf("/api/v1/%s/%d", t.path, id), map[string]any{"comments": comment})
						ok = func() bool { return r.Status == http.StatusOK }
					} else {
						in := map[string]any{"id": id, "comment": comment}
						if t.action == "crm.deal.update" {
							in["probability"] = i % 100 // a deal has no phones
						} else {
							in["phone"] = fmt.Sprintf("+7 900 000-00-%02d", i%5)
						}
						r = e.do("POST", "/api/v1/actions/"+t.action, in)
					}
					if !ok() {
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
}
