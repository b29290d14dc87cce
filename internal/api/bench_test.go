package api_test

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

func crmActor(id int64) crm.Actor { return crm.Actor{UserID: id} }

func benchEngines(b *testing.B) map[string]func(testing.TB) *db.DB {
	m := map[string]func(testing.TB) *db.DB{
		"sqlite-normal": storetest.OpenSQLite,
		"sqlite-full": func(t testing.TB) *db.DB {
			return storetest.OpenSQLiteAt(t, filepath.Join(t.TempDir(), "obmen.db"), "FULL")
		},
	}
	if e := storetest.Engines(b); len(e) > 1 {
		m["postgres"] = storetest.OpenPostgres
	}
	return m
}

// BenchmarkLeadCreateHTTP creates leads over loopback HTTP with 64
// concurrent clients and reports acknowledged creates per second and the
// latency percentiles.
func BenchmarkLeadCreateHTTP(b *testing.B) {
	for name, open := range benchEngines(b) {
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, open(b))
			tr := &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256}
			client := &http.Client{Transport: tr}
			const workers = 64
			var next atomic.Int64
			var mu sync.Mutex
			lat := make([]time.Duration, 0, b.N)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					local := []time.Duration{}
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							break
						}
						body := fmt.Sprintf(`{"name":"Иван","last_name":"Петров","phones":[{"value":"8 (925) %03d-%02d-%02d","value_type":"mobile"}],"emails":[{"value":"l%d@example.ru"}],"source_id":"WEB","utm_source":"yandex"}`,
							i%1000, i/1000%100, i%100, i)
						req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/leads", strings.NewReader(body))
						req.Header.Set("Authorization", "Bearer "+e.key)
						req.Header.Set("Content-Type", "application/json")
						t0 := time.Now()
						res, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, res.Body)
						res.Body.Close()
						if res.StatusCode != 201 {
							b.Errorf("status %d", res.StatusCode)
							return
						}
						local = append(local, time.Since(t0))
					}
					mu.Lock()
					lat = append(lat, local...)
					mu.Unlock()
				}()
			}
			wg.Wait()
			el := time.Since(start)
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			if len(lat) > 0 {
				b.ReportMetric(float64(len(lat))/el.Seconds(), "creates/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}
