package delivery

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/jobs"
	"github.com/obmen/obmen/internal/store/storetest"
)

// BenchmarkEventToDelivery measures the latency from a lead's commit to
// its arrival at a loopback receiver, under a steady 500 changes/s for 4
// s, per engine and River fetch configuration. Run with -benchtime=1x:
// one iteration is the whole run. The same load runs for 2 s before the
// measured 4 s and is not counted: right after River and the connection
// pools start (PostgreSQL opens its connections on demand), the first
// 1.5 s or so back up to 0.7 s, which is the server's start, not its
// steady state.
//
//	go test -run '^$' -bench EventToDelivery -benchtime=1x ./internal/delivery/
func BenchmarkEventToDelivery(b *testing.B) {
	configs := []struct {
		name  string
		river jobs.Option
	}{
		{"river-poll-50ms", func(c *river.Config) { c.FetchCooldown, c.FetchPollInterval = 10*time.Millisecond, 50*time.Millisecond }},
		{"river-defaults", func(*river.Config) {}},
	}
	for _, eng := range storetest.Engines(b) {
		for _, cfg := range configs {
			b.Run(eng.Name+"/"+cfg.name, func(b *testing.B) {
				for b.Loop() {
					benchLatency(b, eng, cfg.river)
				}
			})
		}
	}
}

func benchLatency(b *testing.B, eng storetest.Engine, riverOpt jobs.Option) {
	const rate, warm, dur = 500, 2 * time.Second, 4 * time.Second
	var mu sync.Mutex
	arrived := map[int64]time.Time{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		var p NativePayload
		body, _ := readAll(r)
		if err := json.Unmarshal(body, &p); err == nil {
			mu.Lock()
			arrived[p.RecordID] = now
			mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	e := newEnv(b, eng.Open(b), loopback, WithBackoff(10*time.Millisecond, 100*time.Millisecond))
	e.river = riverOpt
	e.start()
	defer e.stop()
	hook := e.webhook(native(srv.URL, "lead.create"))

	committed := map[int64]time.Time{}
	var cmu sync.Mutex
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / rate)
	measured := time.Now().Add(warm)
	end := measured.Add(dur)
	for time.Now().Before(end) {
		<-tick.C
		count := time.Now().After(measured)
		wg.Go(func() {
			l := e.lead(e.admin, "bench")
			at := time.Now()
			if count {
				cmu.Lock()
				committed[l.ID] = at
				cmu.Unlock()
			}
		})
	}
	tick.Stop()
	wg.Wait()
	n := len(committed)
	waitFor(b, 60*time.Second, "every delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for id := range committed {
			if _, ok := arrived[id]; !ok {
				return false
			}
		}
		return true
	})
	lat := make([]time.Duration, 0, n)
	for id, c := range committed {
		lat = append(lat, max(0, arrived[id].Sub(c)))
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(float64(q(0.50).Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(q(0.99).Microseconds())/1000, "p99_ms")
	b.ReportMetric(float64(n)/dur.Seconds(), "changes/s")
	b.Logf("%d changes: p50 %s p90 %s p99 %s max %s", n, q(0.5), q(0.9), q(0.99), lat[len(lat)-1])
	logStages(b, e, hook.ID, measured)
}

// logStages splits the latency by the times the database recorded: the
// event's commit → its delivery row (the dispatcher), → the end of the
// HTTP call (River's fetch, the worker's reads, the send).
func logStages(b *testing.B, e *env, webhookID int64, from time.Time) {
	rows, err := e.d.Read.QueryContext(context.Background(), `SELECT d.created_at - ev.created_at, a.at - d.created_at
		FROM deliveries d JOIN events ev ON ev.id = d.event_id JOIN delivery_attempts a ON a.delivery_id = d.id
		WHERE d.webhook_id = $1 AND ev.created_at >= $2`, webhookID, from.UnixMicro())
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var dispatch, send []time.Duration
	for rows.Next() {
		var d, s int64
		if err := rows.Scan(&d, &s); err != nil {
			b.Fatal(err)
		}
		dispatch, send = append(dispatch, time.Duration(d)*time.Microsecond), append(send, time.Duration(s)*time.Microsecond)
	}
	if err := rows.Err(); err != nil || len(dispatch) == 0 {
		b.Fatalf("stages: %v (%d rows)", err, len(dispatch))
	}
	pct := func(l []time.Duration, p float64) time.Duration {
		slices.Sort(l)
		return l[min(len(l)-1, int(p*float64(len(l))))]
	}
	b.Logf("commit→dispatched p50 %s p99 %s; dispatched→sent p50 %s p99 %s",
		pct(dispatch, 0.5), pct(dispatch, 0.99), pct(send, 0.5), pct(send, 0.99))
	if e.d.Dialect == db.Postgres {
		// River's own times: waiting to be fetched, then worked and
		// completed (riversqlite keeps them as text; PostgreSQL only).
		var wait, work []time.Duration
		rows, err := e.d.Read.QueryContext(context.Background(), `SELECT EXTRACT(EPOCH FROM attempted_at - created_at)*1000000, EXTRACT(EPOCH FROM finalized_at - attempted_at)*1000000 FROM river_job WHERE kind = 'delivery' AND finalized_at IS NOT NULL AND created_at >= $1`, from)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var a, c float64
			if err := rows.Scan(&a, &c); err != nil {
				b.Fatal(err)
			}
			wait, work = append(wait, time.Duration(a)*time.Microsecond), append(work, time.Duration(c)*time.Microsecond)
		}
		rows.Close()
		if len(wait) > 0 {
			b.Logf("river: created→attempted p50 %s p99 %s; attempted→finalized p50 %s p99 %s", pct(wait, 0.5), pct(wait, 0.99), pct(work, 0.5), pct(work, 0.99))
		}
	}
}
