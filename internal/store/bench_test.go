package store_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/bench"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

type benchEngine struct {
	name string
	open func(testing.TB) *db.DB
}

func benchEngines(b *testing.B) []benchEngine {
	out := []benchEngine{
		{name: "sqlite-normal", open: storetest.OpenSQLite},
		{name: "sqlite-full", open: func(t testing.TB) *db.DB {
			return storetest.OpenSQLiteAt(t, filepath.Join(t.TempDir(), "obmen.db"), "FULL")
		}},
	}
	if len(storetest.Engines(b)) > 1 {
		out = append(out, benchEngine{name: "postgres", open: storetest.OpenPostgres})
	}
	return out
}

func latencies(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		return
	}
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkCreateLead measures committed lead creates (with their events)
// from 64 concurrent writers, without HTTP.
func BenchmarkCreateLead(b *testing.B) {
	for _, e := range benchEngines(b) {
		b.Run(e.name, func(b *testing.B) {
			s := store.New(e.open(b))
			admin := storetest.Admin(b, s)
			ctx := context.Background()
			var next atomic.Int64
			var mu sync.Mutex
			var lat []time.Duration
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < 64; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var local []time.Duration
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							break
						}
						t0 := time.Now()
						_, err := s.CreateLead(ctx, admin, crm.Lead{Name: "Иван", LastName: "Петров", SourceID: "WEB",
							Comms: crm.Comms{Phones: []crm.Comm{{Value: fmt.Sprintf("8 (925) %03d-%02d-%02d", i%1000, i/1000%100, i%100)}},
								Emails: []crm.Comm{{Value: fmt.Sprintf("l%d@example.ru", i)}}},
							UTM: crm.UTM{UTMSource: "yandex"}})
						if err != nil {
							b.Error(err)
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
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
			latencies(b, lat)
		})
	}
}

// BenchmarkReadEvents pages through the event log 1000 at a time.
func BenchmarkReadEvents(b *testing.B) {
	for _, e := range benchEngines(b)[:1] {
		b.Run(e.name, func(b *testing.B) {
			s := store.New(e.open(b))
			admin := storetest.Admin(b, s)
			ctx := context.Background()
			const n = 20000
			var wg sync.WaitGroup
			for w := 0; w < 16; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := w; i < n; i += 16 {
						if _, err := s.CreateLead(ctx, admin, crm.Lead{Title: "e" + strconv.Itoa(i)}); err != nil {
							b.Error(err)
							return
						}
					}
				}(w)
			}
			wg.Wait()
			b.ResetTimer()
			start := time.Now()
			read := 0
			var after int64
			for read < b.N { // b.N events, from the start again at the end
				evs, err := s.Events(ctx, events.Query{After: after, Limit: 1000, Raw: true})
				if err != nil {
					b.Fatal(err)
				}
				if len(evs) == 0 {
					after = 0
					continue
				}
				read += len(evs)
				after = evs[len(evs)-1].ID
			}
			b.ReportMetric(float64(read)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// BenchmarkFindContactByPhone looks contacts up by phone, typed as people
// type it, among OBMEN_BENCH_CONTACTS (default 100,000) bulk-loaded ones.
func BenchmarkFindContactByPhone(b *testing.B) {
	n := 100000
	if v := os.Getenv("OBMEN_BENCH_CONTACTS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	engines := []struct {
		name string
		open func(testing.TB) (*store.Store, string, string)
	}{{"sqlite", func(t testing.TB) (*store.Store, string, string) {
		dir := t.TempDir()
		return store.New(storetest.OpenSQLiteAt(t, filepath.Join(dir, "obmen.db"), "NORMAL")), dir, ""
	}}}
	if len(storetest.Engines(b)) > 1 {
		engines = append(engines, struct {
			name string
			open func(testing.TB) (*store.Store, string, string)
		}{"postgres", func(t testing.TB) (*store.Store, string, string) {
			u := storetest.PostgresURL(t)
			d, err := db.Open(context.Background(), db.Options{PostgresURL: u})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			if _, err := d.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			return store.New(d), "", u
		}})
	}
	for _, e := range engines {
		b.Run(fmt.Sprintf("%s-%d", e.name, n), func(b *testing.B) {
			s, dir, pg := e.open(b)
			storetest.Admin(b, s)
			phones, _, err := bench.Seed(context.Background(), dir, pg, n, io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			// Folded: one statement a lookup (fold.go); unfolded: the
			// ids, the row and each part in queries of their own, as
			// before — on the same loaded database, one after the other.
			for _, mode := range []string{"folded", "unfolded"} {
				b.Run(mode, func(b *testing.B) {
					store.SetNoFold(mode == "unfolded")
					defer store.SetNoFold(false)
					lat := make([]time.Duration, 0, b.N)
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						p := phones[i%len(phones)]
						t0 := time.Now()
						cs, _, err := s.ListContacts(ctx, store.ListParams{Phone: p})
						lat = append(lat, time.Since(t0))
						if err != nil || len(cs) != 1 {
							b.Fatalf("find %q: %v, %d found", p, err, len(cs))
						}
					}
					latencies(b, lat)
				})
			}
		})
	}
}
