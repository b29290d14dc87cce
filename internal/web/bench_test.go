package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// benchLeads is how many leads the page benchmarks render over
// (OBMEN_BENCH_LEADS overrides it, e.g. for a quick run).
func benchLeads() int {
	if n, err := strconv.Atoi(os.Getenv("OBMEN_BENCH_LEADS")); err == nil && n > 0 {
		return n
	}
	return 100000
}

// seed calls create(1..n) from 64 concurrent writers.
func seed(b *testing.B, n int, create func(i int64) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				if err := create(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
}

// seedLeads creates n leads.
func seedLeads(b *testing.B, e *env, n int) {
	ctx := context.Background()
	statuses := []string{"NEW", "IN_PROCESS", "PROCESSED", "JUNK"}
	seed(b, n, func(i int64) error {
		_, err := e.app.Store.CreateLead(ctx, e.admin, crm.Lead{Title: fmt.Sprintf("Заявка %d", i), Name: "Иван", LastName: fmt.Sprintf("Петров-%d", i%977),
			StatusID: statuses[i%4], SourceID: "WEB", Opportunity: crm.Amount(i * 100), Extra: benchCustom(i),
			Comms: crm.Comms{Phones: []crm.Comm{{Value: fmt.Sprintf("8 (925) %03d-%02d-%02d", i%1000, i/1000%100, i%100)}},
				Emails: []crm.Comm{{Value: fmt.Sprintf("l%d@example.ru", i)}}}})
		return err
	})
}

// seedDeals creates n deals over the default pipeline's stages, and n
// activities over the three years around now (some 2,800 a month).
func seedDeals(b *testing.B, e *env, n int) {
	ctx := context.Background()
	stages := []string{"NEW", "PREPARATION", "PREPAYMENT_INVOICE", "EXECUTING", "FINAL_INVOICE", "WON", "LOSE"}
	seed(b, n, func(i int64) error {
		_, err := e.app.Store.CreateDeal(ctx, e.admin, crm.Deal{Title: fmt.Sprintf("Сделка %d", i), StageID: stages[i%int64(len(stages))],
			Opportunity: crm.Amount(i * 1000), Currency: "RUB"})
		return err
	})
	start := time.Now().AddDate(-1, 0, 0).Truncate(time.Hour)
	span := time.Duration(3*365*24) * time.Hour
	seed(b, n, func(i int64) error {
		at := start.Add(time.Duration(i) * span / time.Duration(n))
		end := at.Add(30 * time.Minute)
		_, err := e.app.Store.CreateActivity(ctx, e.admin, crm.Activity{Kind: "call", Subject: fmt.Sprintf("Звонок %d", i), StartAt: &at, EndAt: &end})
		return err
	})
}

// benchFields are the custom fields of the benchmark's leads.
var benchFields = []crm.CustomField{
	{Entity: "lead", Code: "UF_CRM_CITY", Label: "Город", Type: "string"},
	{Entity: "lead", Code: "UF_CRM_AREA", Label: "Площадь", Type: "number"},
}

// benchCustom gives lead i a city (one of 50; every tenth lead none) and
// an area.
func benchCustom(i int64) crm.Extra {
	c := map[string]any{"UF_CRM_AREA": strconv.FormatInt(i%5000, 10) + ".5"}
	if i%10 != 0 {
		c["UF_CRM_CITY"] = fmt.Sprintf("Город-%02d", i%50)
	}
	return crm.Extra{Custom: c}
}

// BenchmarkPages renders UI pages over real HTTP against a database of
// 100,000 leads, 100,000 deals and 100,000 activities: the lead list
// (default, sorted, filtered, searched, a deep page), a lead card, the
// deal list and kanban, the home page and the calendar. ns/op is the server time plus loopback
// HTTP; the target is under 200 ms.
func BenchmarkPages(b *testing.B) {
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
			mid := strconv.Itoa(n / 2)
			// A cursor deep into the list: follow "next" a few times.
			deep := "/e/lead?sort=-created_at"
			for range 5 {
				p := br.get(deep)
				i := strings.Index(p.Body, `rel="next"`)
				if i < 0 {
					break
				}
				j := strings.LastIndex(p.Body[:i], `href="`)
				deep = strings.ReplaceAll(p.Body[j+6:i-2], "&amp;", "&")
			}
			pages := []struct{ name, path string }{
				{"list", "/e/lead"},
				{"list-sorted-title", "/e/lead?sort=title"},
				{"list-sorted-created-desc", "/e/lead?sort=-created_at"},
				{"list-filter-status", "/e/lead?f.status_id=IN_PROCESS&sort=-opportunity"},
				{"list-search-phone", "/e/lead?q=" + url.QueryEscape("+7 925 500-05-00")},
				{"list-search-name", "/e/lead?q=" + url.QueryEscape("Петров-500")},
				{"list-page-6", deep},
				{"list-200-rows", "/e/lead?limit=200"},
				{"list-custom-columns", "/e/lead?cols=title&cols=custom.UF_CRM_CITY&cols=custom.UF_CRM_AREA"},
				{"list-sort-custom-string", "/e/lead?cols=title&cols=custom.UF_CRM_CITY&sort=custom.UF_CRM_CITY"},
				{"list-sort-custom-number-desc", "/e/lead?cols=title&cols=custom.UF_CRM_AREA&sort=-custom.UF_CRM_AREA"},
				{"list-filter-custom-string", "/e/lead?cols=title&f.custom.UF_CRM_CITY=" + url.QueryEscape("Город-07")},
				{"list-filter-custom-number", "/e/lead?cols=title&f.custom.UF_CRM_AREA=4321.5"},
				{"list-filter-custom-sorted", "/e/lead?cols=title&f.custom.UF_CRM_CITY=" + url.QueryEscape("Город-07") + "&sort=-custom.UF_CRM_AREA"},
				{"export-custom-filtered", "/e/lead/export.csv?cols=title&cols=custom.UF_CRM_CITY&f.custom.UF_CRM_AREA=4321.5"},
				{"card", "/e/lead/" + mid},
				{"home", "/"},
				{"deals", "/e/deal"},
				{"deals-sorted-amount", "/e/deal?sort=-opportunity"},
				{"kanban", "/kanban"},
				{"calendar", "/calendar"},
				{"calendar-week", "/calendar?view=week"},
				{"activities", "/e/activity"},
			}
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
