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
// all records (hierarchy and parameters too) per second, the peak Go heap
// and the database size per million objects.
func BenchmarkImport(b *testing.B) {
	dir, c := benchRegion(b)
	for _, e := range storetest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			for b.Loop() {
				d := e.Open(b)
				var st address.Stats
				var err error
				peak := peakHeap(func() {
					st, err = (&address.Importer{DB: d}).Import(context.Background(), dir)
				})
				if err != nil {
					b.Fatal(err)
				}
				objects := float64(c.Objects + c.Houses)
				b.ReportMetric(objects/b.Elapsed().Seconds(), "objects/s")
				b.ReportMetric(float64(st.Records)/b.Elapsed().Seconds(), "records/s")
				b.ReportMetric(float64(peak)/(1<<20), "MB-heap-peak")
				b.ReportMetric(float64(dbSize(b, d))/(1<<20)/(objects/1e6), "MB-db/M-objects")
			}
		})
	}
}

// BenchmarkSuggest runs city, street and house queries typed as a user
// types them (prefixes of 1–6 letters of existing names, house numbers)
// against the imported region and reports the latency percentiles.
func BenchmarkSuggest(b *testing.B) {
	dir, _ := benchRegion(b)
	for _, e := range storetest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			d := e.Open(b)
			if _, err := (&address.Importer{DB: d}).Import(context.Background(), dir); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			var cities, streets []string // names
			var cityIDs, streetIDs []string
			rows, err := d.Read.Query(`SELECT name, guid, kind FROM address_objects WHERE kind IN (1, 2) AND level > 1 ORDER BY object_id`)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var n, g string
				var k int
				rows.Scan(&n, &g, &k)
				if k == 1 {
					cities, cityIDs = append(cities, n), append(cityIDs, g)
				} else if len(streets) < 50000 {
					streets, streetIDs = append(streets, n), append(streetIDs, g)
				}
			}
			rows.Close()
			r := rand.New(rand.NewPCG(1, 2))
			prefix := func(s string) string {
				rs := []rune(s)
				return string(rs[:min(len(rs), 1+r.IntN(6))])
			}
			var lat []time.Duration
			for i := 0; b.Loop(); i++ {
				var q address.Query
				switch i % 3 {
				case 0:
					q = address.Query{Text: prefix(cities[r.IntN(len(cities))]), Level: address.LevelCity}
				case 1:
					i := r.IntN(len(cityIDs))
					q = address.Query{Text: prefix(streets[r.IntN(len(streets))]), Level: address.LevelStreet, Parent: cityIDs[i]}
				default:
					q = address.Query{Text: strconv.Itoa(1 + r.IntN(3)), Level: address.LevelHouse, Parent: streetIDs[r.IntN(len(streetIDs))]}
				}
				t0 := time.Now()
				if _, err := address.Suggest(ctx, d, q); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}
