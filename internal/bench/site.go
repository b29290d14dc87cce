package bench

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obmen/obmen/internal/db"
)

// SiteReport is what the site phase measured: a catalog exported by one
// Obmen server process to a second one playing the web shop (its
// /1c_exchange.php), each a separate "obmen serve" of this binary on its
// own SQLite database.
type SiteReport struct {
	Products int     `json:"products"`
	Seconds  float64 `json:"export_seconds"` // "Run now" to the site's last import answer
	Received int     `json:"products_received"`
	Files    int     `json:"files"`
	// Memory of each process during the run (Linux /proc/PID/status):
	// peak anonymous RSS sampled every 50 ms, and VmHWM (all resident
	// memory, the mapped database pages and the binary included) at the
	// end.
	ExporterPeakAnonMiB int `json:"exporter_peak_anon_rss_mib"`
	ExporterVmHWMMiB    int `json:"exporter_vmhwm_mib"`
	SitePeakAnonMiB     int `json:"site_peak_anon_rss_mib"`
	SiteVmHWMMiB        int `json:"site_vmhwm_mib"`
	// CPU time (user + system) each process spent on the run: on a
	// loaded machine the time end to end says little, this does.
	ExporterCPUSeconds float64 `json:"exporter_cpu_seconds"`
	SiteCPUSeconds     float64 `json:"site_cpu_seconds"`
}

func (r *SiteReport) print(w io.Writer) {
	fmt.Fprintf(w, "catalog of %d products (two price types, stock) exported to a second Obmen playing the site: %.1f s end to end, %d received, %d files\n",
		r.Products, r.Seconds, r.Received, r.Files)
	fmt.Fprintf(w, "exporting process: peak anonymous RSS %d MiB, VmHWM %d MiB, CPU %.1f s; site process: peak anonymous RSS %d MiB, VmHWM %d MiB, CPU %.1f s\n",
		r.ExporterPeakAnonMiB, r.ExporterVmHWMMiB, r.ExporterCPUSeconds, r.SitePeakAnonMiB, r.SiteVmHWMMiB, r.SiteCPUSeconds)
}

// sitePhase runs the site phase alone, on two servers of its own.
func sitePhase(ctx context.Context, o Options, rep *SiteReport, log io.Writer) error {
	var exp, shop Options
	for _, x := range []*Options{&exp, &shop} {
		*x = Options{SQLiteSync: o.SQLiteSync}
		dir, err := os.MkdirTemp("", "obmen-bench-site-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		x.Data = dir
	}
	if err := seedProducts(ctx, exp.Data, o.SiteProducts); err != nil {
		return err
	}
	fmt.Fprintf(log, "bench: %d products with two price types seeded; starting the two servers\n", o.SiteProducts)
	var shopEnv []string
	debug := ""
	if o.SiteHeap != "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		debug = ln.Addr().String()
		ln.Close()
		shopEnv = append(shopEnv, "OBMEN_DEBUG_ADDR="+debug)
	}
	stopShop, err := startServer(ctx, &shop, log, shopEnv...)
	if err != nil {
		return err
	}
	defer stopShop()
	stopExp, err := startServer(ctx, &exp, log, "OBMEN_OUTBOUND_ALLOW=127.0.0.0/8")
	if err != nil {
		return err
	}
	defer stopExp()
	hc := &http.Client{Timeout: 2 * time.Hour}
	call := func(o Options, method, path string, body, out any) error {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, method, o.URL+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+o.Key)
		req.Header.Set("Content-Type", "application/json")
		res, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		rb, _ := io.ReadAll(res.Body)
		if res.StatusCode/100 != 2 {
			return fmt.Errorf("bench: %s %s: status %d: %s", method, path, res.StatusCode, bytes.TrimSpace(rb))
		}
		if out != nil {
			return json.Unmarshal(rb, out)
		}
		return nil
	}
	// The site takes zipped files of up to 8 MiB, as a shop's module does.
	if err := call(shop, "PUT", "/api/v1/exchanges/settings", map[string]any{"enabled": true, "zip": true, "file_limit": 8 << 20,
		"step_millis": 20000, "version": "2.05"}, nil); err != nil {
		return err
	}
	var s struct {
		ID int64 `json:"id"`
	}
	if err := call(exp, "POST", "/api/v1/site-exchanges", map[string]any{"url": shop.URL + "/1c_exchange.php", "login": "admin", "password": shop.Key,
		"price_type": "Розничная", "extra_price_types": []string{"Оптовая"}}, &s); err != nil {
		return err
	}
	rep.Products = o.SiteProducts
	var peakExp, peakShop atomic.Int64
	var profiled int64 // the site's memory (KiB) at its last heap profile
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			for _, p := range []struct {
				pid  int
				peak *atomic.Int64
			}{{exp.ServerPID, &peakExp}, {shop.ServerPID, &peakShop}} {
				if kb := int64(procKiB(p.pid, "RssAnon")); kb > p.peak.Load() {
					p.peak.Store(kb)
					if debug != "" && p.pid == shop.ServerPID && kb > profiled+16<<10 {
						profiled = kb
						saveHeap(ctx, debug, filepath.Join(o.SiteHeap, "site-heap.pb.gz"), log)
					}
				}
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	var res struct {
		EntryID int64    `json:"entry_id"`
		Status  string   `json:"status"`
		Error   string   `json:"error"`
		Files   []string `json:"files"`
	}
	cpuExp, cpuShop := cpuSeconds(exp.ServerPID), cpuSeconds(shop.ServerPID)
	t0 := time.Now()
	err = call(exp, "POST", fmt.Sprintf("/api/v1/site-exchanges/%d/run?kind=catalog", s.ID), nil, &res)
	// A long run is answered with its journal entry, still running:
	// followed until it ends.
	for err == nil && res.Status == "running" {
		time.Sleep(100 * time.Millisecond)
		err = call(exp, "GET", fmt.Sprintf("/api/v1/exchanges/%d", res.EntryID), nil, &res)
	}
	rep.Seconds = time.Since(t0).Seconds()
	rep.ExporterCPUSeconds, rep.SiteCPUSeconds = cpuSeconds(exp.ServerPID)-cpuExp, cpuSeconds(shop.ServerPID)-cpuShop
	close(stop)
	wg.Wait()
	rep.ExporterPeakAnonMiB, rep.SitePeakAnonMiB = int(peakExp.Load()>>10), int(peakShop.Load()>>10)
	rep.ExporterVmHWMMiB, rep.SiteVmHWMMiB = procKiB(exp.ServerPID, "VmHWM")>>10, procKiB(shop.ServerPID, "VmHWM")>>10
	rep.Files = len(res.Files)
	if err != nil {
		return err
	}
	if res.Status != "success" {
		return fmt.Errorf("bench: the catalog export failed: %s", res.Error)
	}
	stopShop()
	d, err := db.Open(ctx, db.Options{SQLitePath: dataPath(shop.Data), SQLiteSync: "NORMAL", GroupCommitMax: 1})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM products WHERE deleted_at = 0").Scan(&rep.Received); err != nil {
		return fmt.Errorf("bench: the site's products: %w", err)
	}
	if rep.Received != o.SiteProducts {
		return fmt.Errorf("bench: the site has %d products, want %d", rep.Received, o.SiteProducts)
	}
	return nil
}

// seedProducts loads n products, each with a retail and a wholesale
// price, straight into a new database, before its server starts.
func seedProducts(ctx context.Context, dataDir string, n int) error {
	d, err := db.Open(ctx, db.Options{SQLitePath: dataPath(dataDir), SQLiteSync: "NORMAL", GroupCommitMax: 1})
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		return err
	}
	now := time.Now().UnixMicro()
	return d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for i, q := range []string{
			`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $1)
			INSERT INTO products (name, article, unit, price, stock, description, active, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
			SELECT 'Товар номер ' || i, 'ART-' || i, 'шт', 10000 + i, 1000 * (i % 50), 'Описание товара ' || i, TRUE, 1, 1, 1, $2, $2 FROM seq`,
			`INSERT INTO product_prices (product_id, variant_id, price_type, type_id1c, price, currency) SELECT id, 0, 'Розничная', 'pt-r', price, 'RUB' FROM products`,
			`INSERT INTO product_prices (product_id, variant_id, price_type, type_id1c, price, currency) SELECT id, 0, 'Оптовая', 'pt-w', price - 1000, 'RUB' FROM products`,
		} {
			var args []any
			if i == 0 {
				args = []any{n, now}
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("bench: seed products: %w", err)
			}
		}
		return nil
	})
}

// saveHeap writes the heap profile a server serves on its debug address
// to path (replacing the last one).
func saveHeap(ctx context.Context, debug, path string, log io.Writer) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+debug+"/debug/pprof/heap", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(log, "bench: heap profile: %v\n", err)
		return
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", res.StatusCode)
	}
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		fmt.Fprintf(log, "bench: heap profile: %v\n", err)
	}
}

// cpuSeconds is procCPU in seconds, 0 where it cannot be read.
func cpuSeconds(pid int) float64 {
	d, err := procCPU(pid)
	if err != nil {
		return 0
	}
	return d.Seconds()
}
