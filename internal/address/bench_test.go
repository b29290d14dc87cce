package address_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/address"
	"github.com/obmen/obmen/internal/address/gartest"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// benchRegion is the generated region of the benchmarks: OBMEN_BENCH_CITIES
// cities (default 20) of 1,000 streets with 3 houses each, so that 1000
// gives the 1,000,000 objects and 3,000,000 houses.
func benchRegion(b *testing.B) (string, gartest.Counts) {
	b.Helper()
	cities := 20
	if n, err := strconv.Atoi(os.Getenv("OBMEN_BENCH_CITIES")); err == nil && n > 0 {
		cities = n
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("obmen-gar-bench-%d", cities))
	reg := gartest.Region{Code: 42, Cities: cities, StreetsPerCity: 1000, HousesPerStreet: 3, Seed: 42}
	genOnce.Do(func() {
		os.RemoveAll(dir)
		genCounts, genErr = gartest.Write(dir, reg)
	})
	if genErr != nil {
		b.Fatal(genErr)
	}
	return dir, genCounts
}

var (
	genOnce   sync.Once
	genCounts gartest.Counts
	genErr    error
)

// peakHeap samples the heap while fn runs and returns its peak in bytes.
func peakHeap(fn func()) uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return peak.Load()
}

func dbSize(b *testing.B, d *db.DB) int64 {
	b.Helper()
	if d.Dialect == db.Postgres {
		var n int64
		if err := d.Read.QueryRow(`SELECT pg_total_relation_size('address_objects') + pg_total_relation_size('address_keys')`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	var pages, size int64
	d.Read.QueryRow(`PRAGMA page_count`).Scan(&pages)
	d.Read.QueryRow(`PRAGMA page_size`).Scan(&size)
	return pages * size
}

// BenchmarkImport imports the generated region into a fresh database per
// engine and reports objects (address objects and houses) per second,
// all records (hierarchy and parameters too) per second, the peak Go heap,
// the process's peak resident memory (VmHWM, Linux) and the database size
// per million objects; then the suggest latency percentiles on what it
// imported (OBMEN_BENCH_QUERIES queries, default 3,000), so that one
// import of the full-size region gives every figure of the issue:
//
//	OBMEN_BENCH_CITIES=1000 go test -run '^$' -bench Import -benchtime 1x -timeout 4h ./internal/address/
func BenchmarkImport(b *testing.B) {
	dir, c := benchRegion(b)
	queries := 3000
	if n, err := strconv.Atoi(os.Getenv("OBMEN_BENCH_QUERIES")); err == nil && n >= 0 {
		queries = n
	}
	for _, e := range storetest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			for b.Loop() {
				d := e.Open(b)
				var st address.Stats
				var err error
				t0 := time.Now()
				peak := peakHeap(func() {
					st, err = (&address.Importer{DB: d}).Import(context.Background(), dir)
				})
				took := time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
				objects := float64(c.Objects + c.Houses)
				b.ReportMetric(objects/took.Seconds(), "objects/s")
				b.ReportMetric(float64(st.Records)/took.Seconds(), "records/s")
				b.ReportMetric(float64(peak)/(1<<20), "MB-heap-peak")
				b.ReportMetric(float64(vmHWM())/(1<<10), "MB-VmHWM")
				b.ReportMetric(float64(dbSize(b, d))/(1<<20)/(objects/1e6), "MB-db/M-objects")
				if queries > 0 {
					reportSuggest(b, newSuggester(b, d), queries)
				}
			}
		})
	}
}

// vmHWM is the process's peak resident memory in KiB (0 off Linux).
func vmHWM() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "VmHWM:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// suggester types city, street and house queries as a user types them
// (prefixes of 1–6 letters of existing names, house numbers) against an
// imported region.
type suggester struct {
	d                  *db.DB
	r                  *rand.Rand
	cities, streets    []string // names
	cityIDs, streetIDs []string
}

func newSuggester(b *testing.B, d *db.DB) *suggester {
	b.Helper()
	s := &suggester{d: d, r: rand.New(rand.NewPCG(1, 2))}
	rows, err := d.Read.Query(`SELECT name, guid, kind FROM address_objects WHERE kind IN (1, 2) AND level > 1 ORDER BY object_id`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var n, g string
		var k int
		rows.Scan(&n, &g, &k)
		if k == 1 {
			s.cities, s.cityIDs = append(s.cities, n), append(s.cityIDs, g)
		} else if len(s.streets) < 50000 {
			s.streets, s.streetIDs = append(s.streets, n), append(s.streetIDs, g)
		}
	}
	rows.Close()
	return s
}

// one runs the i-th query (city, street, house in turn) and returns its
// latency.
func (s *suggester) one(b *testing.B, i int) time.Duration {
	r := s.r
	prefix := func(x string) string {
		rs := []rune(x)
		return string(rs[:min(len(rs), 1+r.IntN(6))])
	}
	var q address.Query
	switch i % 3 {
	case 0:
		q = address.Query{Text: prefix(s.cities[r.IntN(len(s.cities))]), Level: address.LevelCity}
	case 1:
		q = address.Query{Text: prefix(s.streets[r.IntN(len(s.streets))]), Level: address.LevelStreet, Parent: s.cityIDs[r.IntN(len(s.cityIDs))]}
	default:
		q = address.Query{Text: strconv.Itoa(1 + r.IntN(3)), Level: address.LevelHouse, Parent: s.streetIDs[r.IntN(len(s.streetIDs))]}
	}
	t0 := time.Now()
	if _, err := address.Suggest(context.Background(), s.d, q); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
}

// reportSuggest runs n queries and reports the percentiles of all of
// them and the p99 of each level (city, street, house), so a slow level
// shows by itself.
func reportSuggest(b *testing.B, s *suggester, n int) {
	var all []time.Duration
	var byLevel [3][]time.Duration
	for i := range n {
		l := s.one(b, i)
		all = append(all, l)
		byLevel[i%3] = append(byLevel[i%3], l)
	}
	p50, p99 := percentiles(all)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	for i, name := range []string{"city", "street", "house"} {
		if len(byLevel[i]) > 0 {
			_, p := percentiles(byLevel[i])
			b.ReportMetric(p, "p99-"+name+"-ms")
		}
	}
}

func percentiles(lat []time.Duration) (p50, p99 float64) {
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	return pct(0.50), pct(0.99)
}

// BenchmarkSuggest runs city, street and house queries typed as a user
// types them against the imported region and reports the latency
// percentiles (BenchmarkImport reports them too, without a second import).
func BenchmarkSuggest(b *testing.B) {
	dir, _ := benchRegion(b)
	for _, e := range storetest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			d := e.Open(b)
			if _, err := (&address.Importer{DB: d}).Import(context.Background(), dir); err != nil {
				b.Fatal(err)
			}
			s := newSuggester(b, d)
			var lat []time.Duration
			for i := 0; b.Loop(); i++ {
				lat = append(lat, s.one(b, i))
			}
			p50, p99 := percentiles(lat)
			b.ReportMetric(p50, "p50-ms")
			b.ReportMetric(p99, "p99-ms")
		})
	}
}
