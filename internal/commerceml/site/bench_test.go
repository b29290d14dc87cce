package site_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/commerceml/site"
	"github.com/obmen/obmen/internal/store/storetest"
)

// BenchmarkCatalogToSite exports a catalog of OBMEN_BENCH_SITE_PRODUCTS
// products (default 10,000; the figure is 100,000), each with
// two price types, to a second Obmen on loopback, and reports the time
// end to end (written, uploaded, imported by the site) and the peak heap
// of the process, which holds both instances.
//
//	OBMEN_BENCH_SITE_PRODUCTS=100000 go test -run '^$' -bench CatalogToSite -benchtime 1x ./internal/commerceml/site/
func BenchmarkCatalogToSite(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("OBMEN_BENCH_SITE_PRODUCTS")); err == nil && v > 0 {
		n = v
	}
	for range b.N {
		b.StopTimer()
		one, shop := start(b, storetest.OpenSQLite(b)), start(b, storetest.OpenSQLite(b))
		set := map[string]any{"enabled": true, "zip": true, "file_limit": 8 << 20, "step_millis": 20000, "version": "2.05"}
		if code := shop.api("PUT", "/api/v1/exchanges/settings", set, nil); code != 200 {
			b.Fatalf("site settings: %d", code)
		}
		now := time.Now().UnixMicro()
		one.exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $1)
			INSERT INTO products (name, article, unit, price, stock, description, active, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
			SELECT 'Товар номер ' || i, 'ART-' || i, 'шт', 10000 + i, 1000 * (i % 50), 'Описание товара ' || i, TRUE, 1, 1, 1, $2, $2 FROM seq`, n, now)
		one.exec(`INSERT INTO product_prices (product_id, variant_id, price_type, type_id1c, price, currency) SELECT id, 0, 'Розничная', 'pt-r', price, 'RUB' FROM products`)
		one.exec(`INSERT INTO product_prices (product_id, variant_id, price_type, type_id1c, price, currency) SELECT id, 0, 'Оптовая', 'pt-w', price - 1000, 'RUB' FROM products`)
		var s site.Settings
		if code := one.api("POST", "/api/v1/site-exchanges", site.Settings{URL: shop.srv.URL + "/1c_exchange.php", Login: "admin", Password: shop.key,
			PriceType: "Розничная", ExtraPriceTypes: []string{"Оптовая"}}, &s); code != 201 {
			b.Fatalf("create: %d", code)
		}
		runtime.GC()
		var peak atomic.Uint64
		stop := make(chan struct{})
		go func() {
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
		b.StartTimer()
		t0 := time.Now()
		var res site.RunResult
		code := one.api("POST", fmt.Sprintf("/api/v1/site-exchanges/%d/run?kind=catalog", s.ID), nil, &res)
		took := time.Since(t0)
		b.StopTimer()
		close(stop)
		if code != 200 || res.Status != "success" || res.Counts["product"].Sent != n {
			b.Fatalf("run: %d %+v", code, res)
		}
		var got int
		if err := shop.d.Read.QueryRow("SELECT COUNT(*) FROM products WHERE deleted_at = 0").Scan(&got); err != nil || got != n {
			b.Fatalf("the site has %d products (%v), want %d", got, err, n)
		}
		if os.Getenv("OBMEN_BENCH_VERBOSE") != "" {
			rows, _ := shop.d.Read.Query("SELECT filename, type, status, started_at, finished_at FROM cml_exchanges ORDER BY id")
			for rows.Next() {
				var f, ty, st string
				var a, z int64
				_ = rows.Scan(&f, &ty, &st, &a, &z)
				b.Logf("site journal: %s %s %s %v", ty, f, st, time.Duration(z-a)*time.Microsecond)
			}
			rows.Close()
		}
		b.ReportMetric(took.Seconds(), "s/export")
		b.ReportMetric(float64(peak.Load())/(1<<20), "MB-peak-heap")
	}
}
