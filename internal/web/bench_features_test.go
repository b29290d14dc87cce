package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// BenchmarkSearchAndReports renders the global search and the reports over
// real HTTP against 100,000 leads, deals and activities (OBMEN_BENCH_LEADS
// overrides the count; OBMEN_BENCH_PG=1 adds PostgreSQL). ns/op is the
// server time plus loopback HTTP; the target is under 200 ms.
func BenchmarkSearchAndReports(b *testing.B) {
	engines := []struct {
		name string
		open func(testing.TB) *db.DB
	}{{"sqlite", storetest.OpenSQLite}}
	if os.Getenv("OBMEN_BENCH_PG") == "1" {
		engines = append(engines, struct {
			name string
			open func(testing.TB) *db.DB
		}{"postgres", storetest.OpenPostgres})
	}
	for _, eng := range engines {
		b.Run(eng.name, func(b *testing.B) {
			e := newEnv(b, eng.open(b))
			for _, cf := range benchFields {
				if _, err := e.app.Store.CreateCustomField(context.Background(), e.admin, cf); err != nil {
					b.Fatal(err)
				}
			}
			n := benchLeads()
			seedLeads(b, e, n)
			seedDeals(b, e, n)
			br := e.browser()
			br.signIn()
			pages := []struct{ name, path string }{
				{"search-phone-tail", "/search?q=" + url.QueryEscape("500-05-00")},
				{"search-phone-full", "/search?q=" + url.QueryEscape("+7 925 500-05-00")},
				{"search-domain-common", "/search?q=example.ru"},
				{"search-domain-none", "/search?q=mail.ru"},
				{"search-name", "/search?q=" + url.QueryEscape("ПЕТРОВ-500")},
				{"search-nothing", "/search?q=" + url.QueryEscape("Несуществующий")},
				{"search-api", "/api/v1/search?q=" + url.QueryEscape("500-05-00")},
			}
			pages = append(pages, reportBenchPages...)
			for _, pg := range pages {
				b.Run(pg.name, func(b *testing.B) {
					req, _ := http.NewRequest(http.MethodGet, e.srv.URL+pg.path, nil)
					for b.Loop() {
						resp, err := br.c.Do(req)
						if err != nil {
							b.Fatal(err)
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Fatalf("%s: %d", pg.path, resp.StatusCode)
						}
					}
				})
			}
		})
	}
}

// reportBenchPages are the reports' pages: the default (the last six
// months, everyone), a manager's, a year, and a table's CSV.
var reportBenchPages = []struct{ name, path string }{
	{"reports", "/reports"},
	{"reports-manager", "/reports?user=1"},
	{"reports-year", "/reports?from=" + time.Now().AddDate(-1, 0, 0).Format(time.DateOnly)},
	{"reports-csv-leads", "/reports/export.csv?table=leads_source"},
}
