package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/commerceml/client"
)

// OneCReport is what the 1C exchange phase measured.
type OneCReport struct {
	Products       int     `json:"products"`
	Variants       int     `json:"variants_per_product"`
	UploadSeconds  float64 `json:"upload_seconds"`
	ImportSeconds  float64 `json:"import_xml_seconds"`
	OffersSeconds  float64 `json:"offers_xml_seconds"`
	CatalogSeconds float64 `json:"catalog_seconds"` // checkauth to offers.xml's success
	ImportCalls    int     `json:"import_calls"`
	Orders         int     `json:"orders"`
	QuerySeconds   float64 `json:"query_seconds"`
	QueryBytes     int     `json:"query_bytes"`
	QueryDocuments int     `json:"query_documents"`
	// The server process's memory (Linux /proc/PID/status), when bench
	// started it or was given --server-pid: the peak anonymous RSS sampled
	// every 50 ms during the phase, and VmHWM (all resident memory,
	// including SQLite's mapped database pages) at its end.
	ServerPeakAnonMiB int `json:"server_peak_anon_rss_mib,omitempty"`
	ServerPeakFileMiB int `json:"server_peak_file_rss_mib,omitempty"`
	ServerVmHWMMiB    int `json:"server_vmhwm_mib,omitempty"`
	// Leads created over the REST API every 50 ms while the catalog was
	// imported and switched in: what a shop's site waits for while 1C
	// syncs (milliseconds).
	Leads         int     `json:"concurrent_leads,omitempty"`
	LeadP50Millis float64 `json:"concurrent_lead_p50_ms,omitempty"`
	LeadP99Millis float64 `json:"concurrent_lead_p99_ms,omitempty"`
	LeadMaxMillis float64 `json:"concurrent_lead_max_ms,omitempty"`
	LeadErrors    int     `json:"concurrent_lead_errors,omitempty"`
}

func (r *OneCReport) print(w io.Writer) {
	if r.Products > 0 {
		fmt.Fprintf(w, "1C catalog of %d products with offers (%d variants each) over the exchange protocol: %.1f s end to end (upload %.1f s, import.xml %.1f s, offers.xml %.1f s, %d import calls)\n",
			r.Products, r.Variants, r.CatalogSeconds, r.UploadSeconds, r.ImportSeconds, r.OffersSeconds, r.ImportCalls)
		fmt.Fprintf(w, "leads created over the API every 50 ms during the imports: %d, p50 %.1f ms, p99 %.1f ms, worst %.1f ms, %d errors\n",
			r.Leads, r.LeadP50Millis, r.LeadP99Millis, r.LeadMaxMillis, r.LeadErrors)
	}
	if r.Orders > 0 {
		fmt.Fprintf(w, "1C sale query: %d orders in one document, %.1f MiB, %.2f s\n", r.QueryDocuments, float64(r.QueryBytes)/(1<<20), r.QuerySeconds)
	}
	if r.ServerVmHWMMiB > 0 {
		fmt.Fprintf(w, "server process memory during the exchange: peak anonymous RSS %d MiB, peak file-backed RSS %d MiB (the binary and the database pages readers map), VmHWM %d MiB\n",
			r.ServerPeakAnonMiB, r.ServerPeakFileMiB, r.ServerVmHWMMiB)
	}
}

// procKiB reads one "Field:   N kB" line of /proc/PID/status.
func procKiB(pid int, field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			if f := strings.Fields(l); len(f) > 1 {
				kb, _ := strconv.Atoi(f[1])
				return kb
			}
		}
	}
	return 0
}

// oneC runs the exchange phase: a generated catalog through the real
// protocol, then orders made over the REST API out through one query.
func oneC(ctx context.Context, hc *http.Client, o Options, rep *OneCReport, log io.Writer) error {
	if err := enableExchange(ctx, hc, o); err != nil {
		return err
	}
	var peak, peakFile atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if o.ServerPID > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for {
				if kb := int64(procKiB(o.ServerPID, "RssAnon")); kb > peak.Load() {
					peak.Store(kb)
				}
				if kb := int64(procKiB(o.ServerPID, "RssFile") + procKiB(o.ServerPID, "RssShmem")); kb > peakFile.Load() {
					peakFile.Store(kb)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
	}
	err := func() error {
		if o.OneCProducts > 0 {
			if err := catalog(ctx, hc, o, rep, log); err != nil {
				return err
			}
		}
		if o.OneCOrders > 0 {
			return orders(ctx, hc, o, rep, log)
		}
		return nil
	}()
	close(stop)
	wg.Wait()
	if o.ServerPID > 0 {
		rep.ServerPeakAnonMiB = int(peak.Load() >> 10)
		rep.ServerPeakFileMiB = int(peakFile.Load() >> 10)
		rep.ServerVmHWMMiB = procKiB(o.ServerPID, "VmHWM") >> 10
	}
	return err
}

func (o Options) exchangeClient(hc *http.Client) *client.Client {
	return &client.Client{URL: o.URL + "/1c_exchange.php", Login: o.Login, Password: o.Key, HTTP: hc}
}

// enableExchange turns the exchange on, keeping the other settings.
func enableExchange(ctx context.Context, hc *http.Client, o Options) error {
	call := func(method string, body []byte) ([]byte, error) {
		req, _ := http.NewRequestWithContext(ctx, method, o.URL+"/api/v1/exchanges/settings", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+o.Key)
		req.Header.Set("Content-Type", "application/json")
		res, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			return nil, fmt.Errorf("bench: %s exchange settings: status %d: %s", method, res.StatusCode, bytes.TrimSpace(b))
		}
		return b, nil
	}
	b, err := call("GET", nil)
	if err != nil {
		return err
	}
	var set map[string]any
	if err := json.Unmarshal(b, &set); err != nil {
		return fmt.Errorf("bench: exchange settings: %w", err)
	}
	set["enabled"] = true
	b, _ = json.Marshal(set)
	_, err = call("PUT", b)
	return err
}

func catalog(ctx context.Context, hc *http.Client, o Options, rep *OneCReport, log io.Writer) error {
	dir, err := os.MkdirTemp("", "obmen-bench-1c-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	offers := func(w io.Writer, n int) error { return WriteOffersVariants(w, n, o.OneCVariants) }
	files := []struct {
		name string
		gen  func(io.Writer, int) error
	}{{"import.xml", WriteCatalog}, {"offers.xml", offers}}
	for _, f := range files {
		w, err := os.Create(filepath.Join(dir, f.name))
		if err != nil {
			return err
		}
		if err := f.gen(w, o.OneCProducts); err != nil {
			w.Close()
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	fmt.Fprintf(log, "bench: 1C catalog of %d products with %d variants each generated; exchanging\n", o.OneCProducts, o.OneCVariants)
	rep.Products, rep.Variants = o.OneCProducts, o.OneCVariants
	c := o.exchangeClient(hc)
	start := time.Now()
	if err := c.Checkauth(ctx, "catalog"); err != nil {
		return err
	}
	if _, _, err := c.Init(ctx, "catalog"); err != nil {
		return err
	}
	// All files first, then their imports, as 1C does.
	for _, f := range files {
		r, err := os.Open(filepath.Join(dir, f.name))
		if err != nil {
			return err
		}
		err = c.Upload(ctx, "catalog", f.name, r)
		r.Close()
		if err != nil {
			return err
		}
	}
	rep.UploadSeconds = time.Since(start).Seconds()
	stopLeads := leadsMeanwhile(ctx, hc, o, rep)
	defer stopLeads()
	for i, f := range files {
		t0 := time.Now()
		n, err := c.Import(ctx, "catalog", f.name, nil)
		rep.ImportCalls += n
		if err != nil {
			return err
		}
		if i == 0 {
			rep.ImportSeconds = time.Since(t0).Seconds()
		} else {
			rep.OffersSeconds = time.Since(t0).Seconds()
		}
	}
	rep.CatalogSeconds = time.Since(start).Seconds()
	stopLeads()
	return nil
}

// leadsMeanwhile creates a lead over the REST API every 50 ms until the
// returned function is called, and puts their latencies in rep.
func leadsMeanwhile(ctx context.Context, hc *http.Client, o Options, rep *OneCReport) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	var lat []time.Duration
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			n := leadSeq.Add(1)
			body := fmt.Sprintf(`{"title":"Заявка во время обмена с 1С %d","name":"Иван","phones":[{"value":"8 (9%02d) %03d-%02d-%02d","value_type":"mobile"}]}`,
				n, n/10_000_000%100, n/10_000%1000, n/100%100, n%100)
			req, _ := http.NewRequestWithContext(ctx, "POST", o.URL+"/api/v1/leads", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+o.Key)
			req.Header.Set("Content-Type", "application/json")
			t0 := time.Now()
			res, err := hc.Do(req)
			d := time.Since(t0)
			if err != nil {
				rep.LeadErrors++
				continue
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				rep.LeadErrors++
				continue
			}
			lat = append(lat, d)
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-done
			slices.Sort(lat)
			rep.Leads = len(lat)
			rep.LeadP50Millis, rep.LeadP99Millis = percentile(lat, 0.5), percentile(lat, 0.99)
			if len(lat) > 0 {
				rep.LeadMaxMillis = float64(lat[len(lat)-1].Microseconds()) / 1000
			}
		})
	}
}

// orders makes o.OneCOrders sales orders over the REST API, then takes
// them out through one sale query, as 1C asks for them.
func orders(ctx context.Context, hc *http.Client, o Options, rep *OneCReport, log io.Writer) error {
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && firstErr.Load() == nil {
				i := next.Add(1)
				if i > int64(o.OneCOrders) {
					return
				}
				body := fmt.Sprintf(`{"comments":"bench %d","items":[{"name":"Товар номер %d","price":"%d.50","quantity":"2"},{"name":"Доставка","price":"500","quantity":"1"}]}`, i, i, 100+i%900)
				req, _ := http.NewRequestWithContext(ctx, "POST", o.URL+"/api/v1/sales-orders", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+o.Key)
				req.Header.Set("Content-Type", "application/json")
				res, err := hc.Do(req)
				if err != nil {
					firstErr.CompareAndSwap(nil, err.Error())
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusCreated {
					firstErr.CompareAndSwap(nil, fmt.Sprintf("create sales order: status %d: %s", res.StatusCode, bytes.TrimSpace(b)))
					return
				}
			}
		}()
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return fmt.Errorf("bench: %v", e)
	}
	fmt.Fprintf(log, "bench: %d sales orders created; asking for them as 1C\n", o.OneCOrders)
	rep.Orders = o.OneCOrders
	c := o.exchangeClient(hc)
	start := time.Now()
	if err := c.Checkauth(ctx, "sale"); err != nil {
		return err
	}
	if _, _, err := c.Init(ctx, "sale"); err != nil {
		return err
	}
	body, err := c.Query(ctx)
	if err != nil {
		return err
	}
	rep.QuerySeconds = time.Since(start).Seconds()
	rep.QueryBytes = len(body)
	rd := commerceml.NewReader(bytes.NewReader(body), "orders.xml")
	for {
		v, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("bench: the orders document: %w", err)
		}
		if _, ok := v.(*commerceml.Document); ok {
			rep.QueryDocuments++
		}
	}
	if rep.QueryDocuments < o.OneCOrders {
		return fmt.Errorf("bench: the query held %d orders, %d were made", rep.QueryDocuments, o.OneCOrders)
	}
	return c.Mode(ctx, "sale", "success")
}

// WriteCatalog writes a catalog of n products in 100 groups (import.xml),
// the shape 1C writes.
func WriteCatalog(w io.Writer, n int) error { return WriteGoods(w, 0, n, false) }

// WriteGoods writes a catalog of the products first…first+n-1 of
// WriteCatalog; onlyChanges marks it changes-only (СодержитТолькоИзменения).
func WriteGoods(w io.Writer, first, n int, onlyChanges bool) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.07" ДатаФормирования="2026-11-20T10:15:00">
	<Классификатор>
		<Ид>gen-classifier</Ид>
		<Наименование>Классификатор</Наименование>
		<Группы>
`)
	for g := 0; g < 100; g++ {
		fmt.Fprintf(bw, "\t\t\t<Группа><Ид>gen-group-%d</Ид><Наименование>Группа %d</Наименование></Группа>\n", g, g)
	}
	fmt.Fprintf(bw, `		</Группы>
	</Классификатор>
	<Каталог СодержитТолькоИзменения="%t">
		<Ид>gen-catalog</Ид>
		<ИдКлассификатора>gen-classifier</ИдКлассификатора>
		<Наименование>Основной каталог товаров</Наименование>
		<Товары>
`, onlyChanges)
	for i := first; i < first+n; i++ {
		fmt.Fprintf(bw, `			<Товар>
				<Ид>gen-%08d</Ид>
				<Артикул>ART-%d</Артикул>
				<Наименование>Товар номер %d</Наименование>
				<БазоваяЕдиница Код="796" НаименованиеПолное="Штука">шт</БазоваяЕдиница>
				<Группы><Ид>gen-group-%d</Ид></Группы>
				<СтавкиНалогов><СтавкаНалога><Наименование>НДС</Наименование><Ставка>20</Ставка></СтавкаНалога></СтавкиНалогов>
				<ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование><Значение>Товар</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>
			</Товар>
`, i, i, i, i%100)
	}
	fmt.Fprintf(bw, "\t\t</Товары>\n\t</Каталог>\n</КоммерческаяИнформация>\n")
	return bw.Flush()
}

// WriteOffers writes the offers (price and stock) of WriteCatalog's
// products (offers.xml).
func WriteOffers(w io.Writer, n int) error { return WriteOffersVariants(w, n, 0) }

// WriteOffersVariants writes, when variants > 0, that many offers of
// characteristics ("gen-<n>#v<k>", size and colour) for each product of
// WriteCatalog instead of its own offer, as 1C does for goods with
// characteristics: two price types (Закупочная listed first) and the
// stock in two warehouses each.
func WriteOffersVariants(w io.Writer, n, variants int) error {
	if variants > 0 {
		return writeVariantOffers(w, n, variants)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.07" ДатаФормирования="2026-11-20T10:15:02">
	<ПакетПредложений СодержитТолькоИзменения="false">
		<Ид>gen-catalog#</Ид>
		<Наименование>Пакет предложений</Наименование>
		<ИдКаталога>gen-catalog</ИдКаталога>
		<ТипыЦен><ТипЦены><Ид>retail</Ид><Наименование>Розничная</Наименование><Валюта>руб</Валюта></ТипЦены></ТипыЦен>
		<Предложения>
`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(bw, `			<Предложение>
				<Ид>gen-%08d</Ид>
				<Артикул>ART-%d</Артикул>
				<Наименование>Товар номер %d</Наименование>
				<БазоваяЕдиница Код="796">шт</БазоваяЕдиница>
				<Цены><Цена><ИдТипаЦены>retail</ИдТипаЦены><ЦенаЗаЕдиницу>%d.%02d</ЦенаЗаЕдиницу><Валюта>руб</Валюта><Единица>шт</Единица><Коэффициент>1</Коэффициент></Цена></Цены>
				<Количество>%d</Количество>
			</Предложение>
`, i, i, i, 100+i%1000, i%100, i%50)
	}
	fmt.Fprintf(bw, "\t\t</Предложения>\n\t</ПакетПредложений>\n</КоммерческаяИнформация>\n")
	return bw.Flush()
}

func writeVariantOffers(w io.Writer, n, variants int) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.07" ДатаФормирования="2026-11-20T10:15:02">
	<ПакетПредложений СодержитТолькоИзменения="false">
		<Ид>gen-catalog#</Ид>
		<Наименование>Пакет предложений</Наименование>
		<ИдКаталога>gen-catalog</ИдКаталога>
		<ТипыЦен>
			<ТипЦены><Ид>purchase</Ид><Наименование>Закупочная</Наименование><Валюта>руб</Валюта></ТипЦены>
			<ТипЦены><Ид>retail</Ид><Наименование>Розничная</Наименование><Валюта>руб</Валюта></ТипЦены>
		</ТипыЦен>
		<Склады><Склад><Ид>wh-1</Ид><Наименование>Основной склад</Наименование></Склад><Склад><Ид>wh-2</Ид><Наименование>Магазин</Наименование></Склад></Склады>
		<Предложения>
`)
	sizes := []string{"S", "M", "L", "XL", "XXL"}
	for i := 0; i < n; i++ {
		for k := 0; k < variants; k++ {
			fmt.Fprintf(bw, `			<Предложение>
				<Ид>gen-%08d#v%d</Ид>
				<Артикул>ART-%d</Артикул>
				<Наименование>Товар номер %d (%s)</Наименование>
				<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" МеждународноеСокращение="PCE"/>
				<ХарактеристикиТовара><ХарактеристикаТовара><Наименование>Размер</Наименование><Значение>%s</Значение></ХарактеристикаТовара></ХарактеристикиТовара>
				<Цены><Цена><ИдТипаЦены>purchase</ИдТипаЦены><ЦенаЗаЕдиницу>%d.00</ЦенаЗаЕдиницу><Валюта>руб</Валюта></Цена><Цена><ИдТипаЦены>retail</ИдТипаЦены><ЦенаЗаЕдиницу>%d.%02d</ЦенаЗаЕдиницу><Валюта>руб</Валюта></Цена></Цены>
				<Количество>%d</Количество>
				<Склад ИдСклада="wh-1" КоличествоНаСкладе="%d"/><Склад ИдСклада="wh-2" КоличествоНаСкладе="%d"/>
			</Предложение>
`, i, k, i, i, sizes[k%len(sizes)], sizes[k%len(sizes)], 50+i%500, 100+i%1000+k, i%100, i%50+k, i%50, k)
		}
	}
	fmt.Fprintf(bw, "\t\t</Предложения>\n\t</ПакетПредложений>\n</КоммерческаяИнформация>\n")
	return bw.Flush()
}
