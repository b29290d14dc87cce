package automation_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/store/storetest"
)

// BenchmarkConnectionPush: a remote system pushes one new item a request
// to a connection's hook URL, 40 requests/s (under the per-connection
// limit) for 5 s from 4 clients, with the production policy; the time to
// the 200 (the runs stored) and from the push to the run's first step.
//
//	go test -run '^$' -bench ConnectionPush -benchtime=1x ./internal/automation/
func BenchmarkConnectionPush(b *testing.B) {
	for _, eng := range storetest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			for b.Loop() {
				e := newBenchEnv(b, eng)
				if err := e.app.Automation.Registry().AddTrigger(connectorKind(&remoteCalls{}, time.Hour)); err != nil {
					b.Fatal(err)
				}
				reg := e.app.Connections.Registry()
				if err := reg.Add(connection.Type{Name: "testcrm", Fields: []connection.Field{{Name: "secret", Type: connection.String, Secret: true}},
					Check: func(context.Context, connection.Settings) error { return nil }}); err != nil {
					b.Fatal(err)
				}
				var c struct {
					ID int64 `json:"id"`
				}
				e.must(e.do("POST", "/api/v1/connections", map[string]any{"type": "testcrm", "name": "CRM", "settings": map[string]any{"secret": "s3cret-CRM"}}), http.StatusCreated).json(b, &c)
				var hook connection.Hook
				e.must(e.do("POST", fmt.Sprintf("/api/v1/connections/%d/hook", c.ID), nil), http.StatusOK).json(b, &hook)
				_, token, _ := strings.Cut(hook.URL, "/hooks/c/")
				url := e.srv.URL + "/hooks/c/" + token
				bundle := e.bundle(jsonOf(b, fmt.Sprintf(`{"name": "звонки", "active": true, "trigger": {"type": "testcrm.call", "connection": %d},
					"steps": [{"id": "s", "action": "test.echo", "input": {"value": "{{trigger.call_id}}"}}]}`, c.ID)))
				const rate, dur, clients = 40, 5 * time.Second, 4
				var mu sync.Mutex
				sent := map[string]time.Time{}
				var answer []float64
				var wg sync.WaitGroup
				tick := time.NewTicker(time.Second / rate)
				jobs := make(chan int)
				for range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range jobs {
							id := fmt.Sprintf("call-%05d", i)
							start := time.Now()
							res, err := http.Post(url, "application/json", strings.NewReader(fmt.Sprintf(`{"calls": [{"id": %q}], "sign": "s3cret-CRM"}`, id)))
							if err != nil {
								b.Error(err)
								return
							}
							_, _ = io.Copy(io.Discard, res.Body)
							res.Body.Close()
							if res.StatusCode != http.StatusOK {
								b.Errorf("push %s: %d", id, res.StatusCode)
							}
							mu.Lock()
							sent[id] = start
							answer = append(answer, float64(time.Since(start).Microseconds())/1000)
							mu.Unlock()
						}
					}()
				}
				n := 0
				for end := time.Now().Add(dur); time.Now().Before(end); n++ {
					<-tick.C
					jobs <- n
				}
				close(jobs)
				wg.Wait()
				tick.Stop()
				runs := e.waitRunsAll(bundle.ID, n)
				var first []float64
				for _, r := range runs {
					full := e.run(r.ID)
					if r.Status != automation.StatusOK || len(full.Steps) == 0 {
						b.Fatalf("run %d: %s %s", r.ID, r.Status, r.Error)
					}
					id := strings.TrimPrefix(r.TriggerKey, "poll:")
					first = append(first, float64(full.Steps[0].StartedAt.Sub(sent[id]).Microseconds())/1000)
				}
				b.ReportMetric(percentile(answer, 50), "answer-p50-ms")
				b.ReportMetric(percentile(answer, 99), "answer-p99-ms")
				b.ReportMetric(percentile(first, 50), "first-step-p50-ms")
				b.ReportMetric(percentile(first, 99), "first-step-p99-ms")
				b.ReportMetric(float64(n), "pushes")
			}
		})
	}
}
