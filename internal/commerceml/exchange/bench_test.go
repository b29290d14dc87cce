package exchange_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/bench"
	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/commerceml/schematest"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// rssSampler records the peak anonymous and file-backed resident memory
// of the process (Linux /proc/self/status), sampled every 50 ms: SQLite
// readers map the database file (mmap_size), and those page-cache pages
// count in VmHWM without being memory the server holds.
type rssSampler struct {
	stop       chan struct{}
	done       chan struct{}
	anon, file int // KiB
}

func statusKiB(field string) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			f := strings.Fields(l)
			kb, _ := strconv.Atoi(f[1])
			return kb
		}
	}
	return 0
}

func sampleRSS() *rssSampler {
	r := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			r.anon = max(r.anon, statusKiB("RssAnon"))
			r.file = max(r.file, statusKiB("RssFile")+statusKiB("RssShmem"))
			select {
			case <-r.stop:
				return
			case <-t.C:
			}
		}
	}()
	return r
}

func (r *rssSampler) String() string {
	close(r.stop)
	<-r.done
	return fmt.Sprintf("peak anonymous RSS %d MiB, peak file-backed RSS %d MiB", r.anon>>10, r.file>>10)
}

// peakRSS is the process's high-water resident set (Linux), in MiB.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			kb, _ := strconv.Atoi(f[1])
			return strconv.Itoa(kb/1024) + " MiB"
		}
	}
	return "?"
}

// benchVariants is the variants per product of the generated offers
// (OBMEN_CML_BENCH_VARIANTS, 3 by default; 0: one offer per product).
func benchVariants() int {
	if v, err := strconv.Atoi(os.Getenv("OBMEN_CML_BENCH_VARIANTS")); err == nil && v >= 0 {
		return v
	}
	return 3
}

func benchN() int {
	if v, err := strconv.Atoi(os.Getenv("OBMEN_CML_BENCH_N")); err == nil && v > 0 {
		return v
	}
	return 100000
}

// BenchmarkCatalogImport imports a generated catalog (import.xml +
// offers.xml, OBMEN_CML_BENCH_N products, 100,000 by default, with
// OBMEN_CML_BENCH_VARIANTS variants each, 3 by default) through
// the real protocol on SQLite: chunked upload, import until success.
//
//	go test -run '^$' -bench CatalogImport -benchtime 1x ./internal/commerceml/exchange/
func BenchmarkCatalogImport(b *testing.B) {
	n := benchN()
	dir := b.TempDir()
	imp, offers := filepath.Join(dir, "import.xml"), filepath.Join(dir, "offers.xml")
	fi, _ := os.Create(imp)
	_ = genCatalog(fi, n)
	fi.Close()
	fo, _ := os.Create(offers)
	variants := benchVariants()
	_ = bench.WriteOffersVariants(fo, n, variants)
	fo.Close()
	for i := 0; i < b.N; i++ {
		e := newEnv(b, storetest.OpenSQLite(b))
		e.settings(func(s *exchange.Settings) { s.StepMillis = 20000 })
		c := e.oneC()
		runtime.GC()
		rss := sampleRSS()
		start := time.Now()
		c.checkauth("catalog")
		// As 1C does: every file uploaded first, then imported one by one.
		for _, p := range []string{imp, offers} {
			up := time.Now()
			if out := uploadFile(b, c, p, 8<<20); out != "success\n" {
				b.Fatal(out)
			}
			st, _ := os.Stat(p)
			b.Logf("%s: %d MiB uploaded in %v", filepath.Base(p), st.Size()>>20, time.Since(up))
		}
		e.app.CommerceML.ResetHolds()
		// Another writer meanwhile: a web-form lead every 50 ms through
		// the store; its worst latency is what a shop's site waits for
		// while 1C syncs.
		leads := startLeadWriter(e)
		for _, p := range []string{imp, offers} {
			t0 := time.Now()
			out, progress := c.importAll(filepath.Base(p))
			if out != "success\n" {
				b.Fatal(out)
			}
			b.Logf("%s: imported in %v (%d progress answers)", filepath.Base(p), time.Since(t0), progress)
		}
		c.must("catalog", "complete", nil, nil, "success")
		lw := leads.stop()
		hold, sw := e.app.CommerceML.Holds()
		took := time.Since(start)
		during := rss.String()
		if got := len(e.products()); got != n {
			b.Fatalf("%d products, want %d", got, n)
		}
		var nv, np int
		_ = e.d.Read.QueryRow("SELECT COUNT(*) FROM product_variants").Scan(&nv)
		_ = e.d.Read.QueryRow("SELECT COUNT(*) FROM product_prices").Scan(&np)
		if nv != n*variants {
			b.Fatalf("%d variants, want %d", nv, n*variants)
		}
		b.Logf("%d variants (%d per product), %d prices per type", nv, variants, np)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.Logf("%d products with offers end to end in %v; during the exchange: %s; VmHWM of the process (server and 1C client, with the check after) %s; Go heap sys %d MiB",
			n, took, during, peakRSS(), ms.HeapSys>>20)
		b.Logf("longest write held by the exchange %v; the switch (import.xml + offers.xml, in chunks) %v", hold, sw)
		b.Logf("steps of the switch (summed over its writes): %s", e.app.CommerceML.SwitchSteps())
		b.Logf("concurrent writer: %s", lw)
		b.ReportMetric(took.Seconds(), "s/catalog")
		b.ReportMetric(hold.Seconds(), "s-max-write-hold")
		b.ReportMetric(sw.Seconds(), "s-switch")
		b.ReportMetric(lw.worst.Seconds(), "s-lead-worst")
	}
}

// leadWriter creates a lead through the store every 50 ms until stopped
// and keeps the latencies.
type leadWriter struct {
	quit  chan struct{}
	done  chan struct{}
	lat   []time.Duration
	worst time.Duration
	fails int
}

func startLeadWriter(e *env) *leadWriter {
	w := &leadWriter{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-w.quit:
				return
			case <-tick.C:
			}
			t0 := time.Now()
			_, err := e.app.Store.CreateLead(e.ctx, e.admin, crm.Lead{Title: fmt.Sprintf("Заявка с сайта %d", i), Name: "Иван"})
			d := time.Since(t0)
			if err != nil {
				w.fails++
				continue
			}
			w.lat = append(w.lat, d)
			w.worst = max(w.worst, d)
		}
	}()
	return w
}

func (w *leadWriter) stop() *leadWriter {
	close(w.quit)
	<-w.done
	return w
}

func (w *leadWriter) String() string {
	if len(w.lat) == 0 {
		return fmt.Sprintf("no lead written (%d failed)", w.fails)
	}
	s := slices.Clone(w.lat)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))].Round(time.Millisecond) }
	over := 0
	for _, d := range s {
		if d > time.Second {
			over++
		}
	}
	return fmt.Sprintf("%d leads created every 50 ms through the store during the imports and the switch: p50 %v, p99 %v, worst %v; %d took over 1 s; %d failed",
		len(s), q(0.5), q(0.99), w.worst.Round(time.Millisecond), over, w.fails)
}

func uploadFile(b testing.TB, c *oneC, p string, chunk int) string {
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, chunk)
	out := ""
	for {
		k, _ := f.Read(buf)
		if k == 0 {
			return out
		}
		_, out = c.call("catalog", "file", map[string][]string{"filename": {filepath.Base(p)}}, buf[:k])
		if out != "success\n" {
			return out
		}
	}
}

// BenchmarkOrdersQuery exports 10,000 changed orders in one mode=query.
//
//	go test -run '^$' -bench OrdersQuery -benchtime 1x ./internal/commerceml/exchange/
func BenchmarkOrdersQuery(b *testing.B) {
	e := newEnv(b, storetest.OpenSQLite(b))
	e.settings(func(s *exchange.Settings) {})
	acc, _ := e.app.Store.CreateAccount(e.ctx, e.admin, crm.Account{Title: "ООО Покупатель", INN: "7707083893"})
	t0 := time.Now()
	const n = 10000
	for i := 0; i < n; i++ {
		if _, err := e.app.Store.CreateSalesOrder(e.ctx, e.admin, crm.SalesOrder{AccountID: acc.ID,
			Items: []crm.LineItem{{Name: "Дрель", Price: 450000, Quantity: 1000}, {Name: "Монтаж", Price: 250000, Quantity: 2000}}}); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d orders created in %v", n, time.Since(t0))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := e.oneC()
		c.checkauth("sale")
		t1 := time.Now()
		_, body := c.call("sale", "query", nil, nil)
		took := time.Since(t1)
		docs := parseOrders(b, body)
		if len(docs) != n {
			b.Fatalf("%d documents", len(docs))
		}
		b.Logf("query of %d orders: %v, %d KiB; peak RSS %s", n, took, len(body)>>10, peakRSS())
		schematest.Validate(b, []byte(body))
		b.ReportMetric(took.Seconds(), "s/query")
	}
	_ = bytes.MinRead
}

// BenchmarkOrdersQueryManager is BenchmarkOrdersQuery as a manager with
// the 1C exchange permission: of 10,000 changed orders, the 5,000 that
// are the manager's are sent (the scope condition on the events read).
//
//	go test -run '^$' -bench OrdersQueryManager -benchtime 1x ./internal/commerceml/exchange/
func BenchmarkOrdersQueryManager(b *testing.B) {
	e := newEnv(b, storetest.OpenSQLite(b))
	e.settings(func(s *exchange.Settings) {})
	m := e.managers()
	e.grant(m.a.ID, store.PermExchange1C)
	const n = 10000
	for i := 0; i < n-2; i++ {
		actor, owner := m.actorA, m.a.ID
		if i%2 == 1 {
			actor, owner = m.actB, m.b.ID
		}
		if _, err := e.app.Store.CreateSalesOrder(e.ctx, actor, crm.SalesOrder{Meta: crm.Meta{AssignedByID: owner}, AccountID: m.orderA.AccountID,
			Items: []crm.LineItem{{Name: "Дрель", Price: 450000, Quantity: 1000}}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := &oneC{t: b, e: e, login: m.a.Login, key: m.keyA}
		c.checkauth("sale")
		t1 := time.Now()
		_, body := c.call("sale", "query", nil, nil)
		took := time.Since(t1)
		if docs := parseOrders(b, body); len(docs) != n/2 {
			b.Fatalf("%d documents, want %d", len(docs), n/2)
		}
		b.Logf("manager's query, %d of %d orders: %v", n/2, n, took)
		b.ReportMetric(took.Seconds(), "s/query")
	}
}
