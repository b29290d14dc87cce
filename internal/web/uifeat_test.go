package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

// htmxGet is a GET as htmx sends it.
func (b *browser) htmxGet(path string) page {
	b.e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("HX-Request", "true")
	return b.send(req)
}

// htmxPost is a form POST as htmx sends it: the CSRF token in a header.
func (b *browser) htmxPost(path string, form url.Values) page {
	b.e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", b.csrf)
	return b.send(req)
}

func (b *browser) send(req *http.Request) page {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return page{Status: resp.StatusCode, Body: sb.String(), Location: resp.Header.Get("Location"), Header: resp.Header}
}

var moreRe = regexp.MustCompile(`hx-get="(/kanban/more\?[^"]+)"`)

// TestKanbanPagingCountsSums: a stage with more deals than a column shows
// has its exact count and sum, and "show more" brings the rest page by
// page; the home page counts the deals of every pipeline.
func TestKanbanPagingCountsSums(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		const n = 57
		for i := 1; i <= n; i++ {
			if _, err := s.CreateDeal(ctx, e.admin, crm.Deal{Title: fmt.Sprintf("Сделка %02d", i), StageID: "NEW", Opportunity: crm.Amount(100 * i)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.CreateDeal(ctx, e.admin, crm.Deal{Title: "В долларах", StageID: "NEW", Currency: "USD", Opportunity: 5000}); err != nil {
			t.Fatal(err)
		}
		p2, err := s.CreatePipeline(ctx, e.admin, crm.Pipeline{Name: "Опт"})
		if err != nil {
			t.Fatal(err)
		}
		prefix := "C" + strconv.FormatInt(p2.ID, 10) + ":"
		for range 3 {
			if _, err := s.CreateDeal(ctx, e.admin, crm.Deal{Title: "Оптовая", CategoryID: p2.ID, StageID: prefix + "NEW"}); err != nil {
				t.Fatal(err)
			}
		}
		b := e.browser()
		b.signIn()
		k := b.get("/kanban")
		if k.Status != http.StatusOK {
			t.Fatalf("kanban: %d", k.Status)
		}
		// 1+2+…+57 = 1653 roubles.
		if !strings.Contains(k.Body, `id="count-NEW" aria-label="Сделок в стадии">58</small>`) || !strings.Contains(k.Body, "1653.00 RUB, 50.00 USD") {
			t.Fatalf("kanban lacks the NEW count or sums:\n%s", k.Body)
		}
		if got := strings.Count(k.Body, `class="kcard"`); got != 50 {
			t.Fatalf("first page shows %d cards, want 50", got)
		}
		m := moreRe.FindStringSubmatch(k.Body)
		if m == nil {
			t.Fatal("no show-more button")
		}
		if !strings.Contains(k.Body, "Показать ещё (8)") {
			t.Error("show-more does not say how many are left")
		}
		more := b.htmxGet(strings.ReplaceAll(m[1], "&amp;", "&"))
		if more.Status != http.StatusOK || strings.Count(more.Body, `class="kcard"`) != 8 || strings.Contains(more.Body, "<html") {
			t.Fatalf("show more: %d, %d cards\n%s", more.Status, strings.Count(more.Body, `class="kcard"`), more.Body)
		}
		if moreRe.MatchString(more.Body) {
			t.Error("the last page offers more")
		}
		if !strings.Contains(more.Body, "Сделка 01") || !strings.Contains(more.Body, `name="csrf"`) {
			t.Error("the last page lacks the oldest deal or its move form")
		}
		// Every card of the stage is on one of the two pages, once.
		for i := 1; i <= n; i++ {
			title := fmt.Sprintf("Сделка %02d<", i)
			if c := strings.Count(k.Body, title) + strings.Count(more.Body, title); c != 1 {
				t.Errorf("%s shown %d times", title, c)
			}
		}
		if p := b.htmxGet("/kanban/more?pipeline=0&stage=NEW&cursor=garbage"); p.Status != http.StatusBadRequest {
			t.Errorf("bad cursor: %d", p.Status)
		}
		// The other pipeline.
		if k2 := b.get("/kanban?pipeline=" + strconv.FormatInt(p2.ID, 10)); strings.Count(k2.Body, `class="kcard"`) != 3 {
			t.Error("the second pipeline's kanban lacks its deals")
		}
		home := b.get("/")
		for _, want := range []string{
			`f.stage_id=NEW">Новая</a></th><td>58</td>`,
			`id="home-pipeline-` + strconv.FormatInt(p2.ID, 10) + `"`, "Опт</a></caption>",
			`f.stage_id=` + url.QueryEscape(prefix+"NEW") + `">Новая</a></th><td>3</td>`,
		} {
			if !strings.Contains(home.Body, want) {
				t.Errorf("home lacks %s", want)
			}
		}
	})
}
