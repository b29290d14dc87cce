package automation_test

import (
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The benchmarks run the server as the app configures it (River's and
// the engine's production polling), over loopback HTTP. One iteration is
// the whole run: use -benchtime=1x.
//
//	go test -run '^$' -bench 'EventToFirstStep|ThreeStep|LeadCreate' -benchtime=1x ./internal/automation/

// newBenchEnv is a server with the production policy.
func newBenchEnv(b *testing.B, eng storetest.Engine) *env {
	b.Helper()
	saved := fastPolicy
	fastPolicy = nil
	defer func() { fastPolicy = saved }()
	// As app.Run sets it for the server.
	gc := debug.SetGCPercent(200)
	b.Cleanup(func() { debug.SetGCPercent(gc) })
	e := newEnvRiver(b, eng.Open(b), nil)
	return e
}

// BenchmarkEventToFirstStep: a steady 500 lead creates/s for 4 s (after
// 2 s of the same load not counted), a bundle on lead creation; the
// latency from each change's commit to its run's first step starting.
func BenchmarkEventToFirstStep(b *testing.B) {
	for _, eng := range storetest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			for b.Loop() {
				e := newBenchEnv(b, eng)
				bundle := e.bundle(jsonOf(b, `{"name": "latency", "active": true,
					"trigger": {"type": "crm.event", "entity": "lead", "actions": ["create"]},
					"steps": [{"id": "note", "action": "crm.timeline.add", "input": {"entity": "lead", "id": "{{trigger.record.id}}", "text": "принято"}}]}`))
				const rate, warm, dur = 500, 2 * time.Second, 4 * time.Second
				warmed := pace(e, rate, warm, nil)
				var ids []int64
				var mu sync.Mutex
				pace(e, rate, dur, func(id int64) { mu.Lock(); ids = append(ids, id); mu.Unlock() })
				runs := e.waitRunsAll(bundle.ID, len(ids)+warmed)
				byLead := map[int64]automation.Run{}
				for _, r := range runs {
					byLead[r.RecordID] = r
				}
				var lat []float64
				for _, id := range ids {
					r := e.run(byLead[id].ID)
					created, err := time.Parse(time.RFC3339Nano, fmt.Sprint(path(r.Trigger, "event.created_at")))
					if err != nil || len(r.Steps) == 0 {
						b.Fatalf("run %d: %v %+v", r.ID, err, r)
					}
					lat = append(lat, float64(r.Steps[0].StartedAt.Sub(created).Microseconds())/1000)
				}
				p50, p99 := percentile(lat, 50), percentile(lat, 99)
				b.ReportMetric(p50, "p50-ms")
				b.ReportMetric(p99, "p99-ms")
				b.ReportMetric(float64(len(lat)), "changes")
			}
		})
	}
}

// pace creates leads at rate per second for d from several clients;
// got, when set, receives each created lead's id. It returns how many it
// created.
func pace(e *env, rate int, d time.Duration, got func(int64)) int {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	work := make(chan int, rate)
	var wg sync.WaitGroup
	var seq atomic.Int64
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				n := seq.Add(1)
				id := e.lead(map[string]any{"title": fmt.Sprintf("bench %d", n), "phones": []any{map[string]any{"value": fmt.Sprintf("+7 901 %07d", n)}}})
				if got != nil {
					got(id)
				}
			}
		}()
	}
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		<-tick.C
		select {
		case work <- 1:
		default: // the clients are behind: the rate is not met; do not queue up
		}
	}
	close(work)
	wg.Wait()
	return int(seq.Load())
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

// threeStep is the CRM-only bundle of the throughput target: find or
// create the contact, update the lead, a timeline comment.
const threeStep = `{"name": "три шага", "active": true,
	"trigger": {"type": "crm.event", "entity": "lead", "actions": ["create"]},
	"steps": [
		{"id": "client", "action": "crm.contact.create", "input": {"name": "{{trigger.record.title}}",
			"phones": [{"value": "{{trigger.record.phones[0].value}}", "value_type": "mobile"}]},
		 "duplicates": {"by": ["phone"], "then": "skip"}},
		{"id": "lead", "action": "crm.lead.update", "input": {"id": "{{trigger.record.id}}", "comments": "Контакт {{steps.client.id}}"}},
		{"id": "note", "action": "crm.timeline.add", "input": {"entity": "lead", "id": "{{trigger.record.id}}", "text": "Клиент: контакт {{steps.client.id}}"}}
	]}`

// BenchmarkThreeStepRuns: 5,000 leads are created while the job runner is
// stopped, then it starts; completed runs of the three-step bundle per
// second until the last is done.
func BenchmarkThreeStepRuns(b *testing.B) {
	for _, eng := range storetest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			for b.Loop() {
				e := newBenchEnv(b, eng)
				bundle := e.bundle(threeStep)
				e.stopJobs()
				const n = 5000
				var wg sync.WaitGroup
				for w := 0; w < 16; w++ {
					wg.Add(1)
					go func(w int) {
						defer wg.Done()
						for i := w; i < n; i += 16 {
							e.lead(map[string]any{"title": fmt.Sprintf("Клиент %d", i), "phones": []any{map[string]any{"value": fmt.Sprintf("+7 902 %07d", i)}}})
						}
					}(w)
				}
				wg.Wait()
				if f := os.Getenv("OBMEN_BENCH_RUN_PROFILE"); f != "" {
					out, err := os.Create(f)
					if err != nil {
						b.Fatal(err)
					}
					_ = pprof.StartCPUProfile(out)
					defer func() { pprof.StopCPUProfile(); out.Close() }()
				}
				start, commits := time.Now(), e.d.Commits()
				e.start()
				var dispatched time.Duration
				e.waitFor("runs", 10*time.Minute, func() bool {
					var st automation.RunStats
					e.must(e.do("GET", fmt.Sprintf("/api/v1/bundles/%d/stats", bundle.ID), nil), 200).json(e.t, &st)
					if dispatched == 0 && st.Total >= n {
						dispatched = time.Since(start)
					}
					time.Sleep(200 * time.Millisecond)
					return st.Total >= n && st.Open == 0
				})
				elapsed := time.Since(start)
				runs := e.waitRunsAll(bundle.ID, n)
				b.ReportMetric(dispatched.Seconds(), "s-to-dispatch")
				for _, r := range runs {
					if r.Status != automation.StatusOK {
						b.Fatalf("run %d: %s %s", r.ID, r.Status, r.Error)
					}
				}
				b.ReportMetric(float64(n)/elapsed.Seconds(), "runs/s")
				// Every commit of the database's writes while the runs
				// went (the dispatcher's included, River's own not).
				b.ReportMetric(float64(e.d.Commits()-commits)/n, "commits/run")
			}
		})
	}
}

// BenchmarkLeadCreateWithBundle: lead creates over HTTP at full speed (64
// clients) with a bundle active on leads — one whose filters leave out
// every lead, then the three-step bundle — against the rate without it.
// The phases alternate, all of one length: control, bundle, control,
// bundle, …, control; each bundle phase is compared with the mean of the
// controls either side of it (the database grows as it goes and lead
// creates slow with it; other work on the machine comes and goes), and
// the median of the alternations is reported with the range.
func BenchmarkLeadCreateWithBundle(b *testing.B) {
	const d, alternations = 4 * time.Second, 3
	for _, eng := range storetest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			for b.Loop() {
				e := newBenchEnv(b, eng)
				createRate(e, 2*time.Second) // the pools and caches warm up
				for _, c := range []struct{ name, def string }{
					{"filtered", `{"name": "звонки", "active": false,
						"trigger": {"type": "crm.event", "entity": "lead", "actions": ["create"]},
						"filters": {"all": [{"value": "{{trigger.record.source_id}}", "op": "eq", "arg": "CALL"}]},
						"steps": [{"id": "note", "action": "crm.timeline.add", "input": {"entity": "lead", "id": "{{trigger.record.id}}", "text": "звонок"}}]}`},
					{"3step", strings.Replace(threeStep, `"active": true`, `"active": false`, 1)},
				} {
					bundle := e.bundle(c.def)
					control := []float64{createRate(e, d)}
					var with, drops []float64
					for range alternations {
						e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/activate", bundle.ID), nil), http.StatusOK)
						with = append(with, createRate(e, d))
						e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/deactivate", bundle.ID), nil), http.StatusOK)
						e.waitRunsAll(bundle.ID, 0) // its runs done before the next control
						control = append(control, createRate(e, d))
					}
					for i, w := range with {
						drops = append(drops, 100*(1-w/((control[i]+control[i+1])/2)))
					}
					b.Logf("%s: controls %.0f, with the bundle %.0f creates/s; drops %.1f %%", c.name, control, with, drops)
					b.ReportMetric(percentile(with, 50), "creates/s-"+c.name)
					b.ReportMetric(percentile(drops, 50), "drop%-"+c.name)
					b.ReportMetric(slices.Min(drops), "drop%-min-"+c.name)
					b.ReportMetric(slices.Max(drops), "drop%-max-"+c.name)
				}
			}
		})
	}
}

// createRate creates leads from 64 clients for d; leads per second.
func createRate(e *env, d time.Duration) float64 {
	var n atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	base := seqBase.Add(1_000_000)
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; time.Now().Before(end); i++ {
				k := base + int64(i*64+w)
				e.lead(map[string]any{"title": fmt.Sprintf("Клиент %d", k), "phones": []any{map[string]any{"value": fmt.Sprintf("+7 903 %07d", k%10_000_000)}}})
				n.Add(1)
			}
		}(w)
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

var seqBase atomic.Int64
