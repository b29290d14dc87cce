package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// TestEveryPageLabelled signs in as admin, follows every link of the UI
// from the home page (GET only), and checks each page a keyboard or
// screen-reader user meets: every form control has a name (a <label>,
// aria-label, aria-labelledby or title), every button and link says what
// it does, images have alt text, ids are unique (a label's "for" would
// point at the wrong control), and the page has a language and a title.
func TestEveryPageLabelled(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		seedOneOfEach(t, e)
		seedAutomation(t, e)
		b := e.browser()
		b.signIn()
		seen := map[string]bool{}
		pages := crawl(t, b, func(p string, doc *html.Node) {
			for _, problem := range a11yProblems(doc) {
				t.Errorf("%s: %s", p, problem)
			}
		})
		for _, p := range pages {
			seen[p] = true
		}
		if len(pages) < 30 {
			t.Fatalf("only %d pages reached: %v", len(pages), pages)
		}
		// The Automation section was crawled: the list, the gallery, the
		// editor (new, from a template, of a bundle), the journal, a run
		// and the version it ran.
		for _, p := range []string{"/automation", "/automation/templates", "/automation/new", "/automation/1", "/automation/runs",
			"/automation/runs/1", "/automation/1/versions/1"} {
			if !seen[p] {
				t.Errorf("%s was not crawled", p)
			}
		}
		t.Logf("%d pages checked", len(pages))
	})
}

// crawl follows every link of the UI from the home page (GET only) as the
// signed-in browser b and calls check on each HTML page; it returns the
// pages visited in the order met.
func crawl(t *testing.T, b *browser, check func(path string, doc *html.Node)) []string {
	t.Helper()
	seen := map[string]bool{}
	queue := []string{"/"}
	var pages []string
	for len(queue) > 0 && len(pages) < 400 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		res := b.get(p)
		if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			if res.Status >= 500 {
				t.Errorf("%s: status %d", p, res.Status)
			}
			continue
		}
		pages = append(pages, p)
		doc, err := html.Parse(strings.NewReader(res.Body))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if check != nil {
			check(p, doc)
		}
		for _, l := range links(doc) {
			if u := crawlable(l); u != "" && !seen[u] {
				queue = append(queue, u)
			}
		}
	}
	return pages
}

// seedOneOfEach makes a record of each kind, so that cards and their
// forms are among the pages.
func seedOneOfEach(t *testing.T, e *env) {
	t.Helper()
	ctx, s, a := t.Context(), e.app.Store, e.admin
	acc, err := s.CreateAccount(ctx, a, crm.Account{Title: "ООО Ромашка", INN: "7707083893"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateContact(ctx, a, crm.Contact{Name: "Иван", AccountIDs: []int64{acc.ID}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreateProduct(ctx, a, crm.Product{Name: "Дрель", Price: 100000})
	if err != nil {
		t.Fatal(err)
	}
	items := []crm.LineItem{{ProductID: p.ID, Quantity: 1000}}
	// The order's row names a variant: its card shows the variant picker.
	red, _ := seedVariants(t, e, p.ID)
	steps := []error{
		func() error { _, err := s.CreateLead(ctx, a, crm.Lead{Title: "Заявка"}); return err }(),
		func() error {
			_, err := s.CreateDeal(ctx, a, crm.Deal{Title: "Сделка", AccountID: acc.ID, ContactIDs: []int64{c.ID}})
			return err
		}(),
		func() error {
			_, err := s.CreateSalesOrder(ctx, a, crm.SalesOrder{AccountID: acc.ID, Items: []crm.LineItem{{ProductID: p.ID, VariantID: red, Quantity: 1000}}})
			return err
		}(),
		func() error {
			_, err := s.CreateInvoice(ctx, a, crm.Invoice{AccountID: acc.ID, Items: items})
			return err
		}(),
		func() error { _, err := s.CreateService(ctx, a, crm.Service{Name: "Монтаж"}); return err }(),
		func() error { _, err := s.CreateCatalog(ctx, a, crm.Catalog{Name: "Инструмент"}); return err }(),
		func() error { _, err := s.CreateTicket(ctx, a, crm.Ticket{Title: "Не работает"}); return err }(),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
	}
	// A partly failed 1C exchange: its journal entry, its page and the
	// home page show the button to download the skipped items.
	if err := e.app.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO cml_exchanges (session_id, type, direction, filename, status, open, started_at, finished_at, skipped, partly_failed)
			VALUES ('seed', 'catalog', 'in', 'offers.xml', 'success', FALSE, $1, $1, $2, TRUE)`, time.Now().UnixMicro(),
			`[{"id":"g1#c9","name":"Футболка (XXL)","file":"offers.xml","line":412,"reason":"no good g1"}]`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// crawlable turns a link into a path to visit, or "" for links that leave
// the UI, change state on GET by design (sign-out), or download files.
func crawlable(href string) string {
	u, err := url.Parse(href)
	if err != nil || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
		return ""
	}
	for _, skip := range []string{"/logout", "/static/", "/api/", "/f/", "/1c_exchange"} {
		if strings.HasPrefix(u.Path, skip) {
			return ""
		}
	}
	if strings.HasSuffix(u.Path, ".csv") || strings.Contains(u.Path, "/export") || strings.Contains(u.Path, "/file") {
		return ""
	}
	u.Fragment = ""
	// One page of each list is enough: sort and page links multiply.
	q := u.Query()
	for k := range q {
		if k != "view" && k != "tab" {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func text(n *html.Node) string {
	var sb strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
		}
		if n.Type == html.ElementNode && n.Data == "img" {
			alt, _ := attr(n, "alt")
			sb.WriteString(alt)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(sb.String())
}

func links(doc *html.Node) []string {
	var out []string
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "a" {
			if h, ok := attr(n, "href"); ok {
				out = append(out, h)
			}
		}
	}
	return out
}

// describe names an element in a problem report.
func describe(n *html.Node) string {
	var sb strings.Builder
	sb.WriteString("<" + n.Data)
	for _, a := range n.Attr {
		if slices.Contains([]string{"id", "name", "type", "class", "href"}, a.Key) {
			fmt.Fprintf(&sb, " %s=%q", a.Key, a.Val)
		}
	}
	return sb.String() + ">"
}

// acts reports whether an element does something when clicked.
func acts(n *html.Node) bool {
	for _, a := range n.Attr {
		if a.Key == "onclick" || a.Key == "hx-get" || a.Key == "hx-post" || a.Key == "hx-delete" || a.Key == "draggable" && a.Val == "true" {
			if a.Key == "hx-get" || a.Key == "hx-post" {
				// htmx on a form or a field acts on submit or change,
				// which the keyboard reaches through the form.
				if slices.Contains([]string{"form", "input", "select", "textarea", "button"}, n.Data) {
					return false
				}
				if t, _ := attr(n, "hx-trigger"); t != "" && !strings.Contains(t, "click") {
					return false
				}
			}
			return true
		}
	}
	return false
}

func isDraggable(n *html.Node) bool {
	v, _ := attr(n, "draggable")
	return v == "true"
}

// keyboardAlternative reports whether a draggable element holds a
// control that does what the drop does (the kanban card's stage select).
func keyboardAlternative(n *html.Node) bool {
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && (d.Data == "button" || d.Data == "select") {
			return true
		}
	}
	return false
}

// focusable reports whether Tab reaches an element and it has a role.
func focusable(n *html.Node) bool {
	switch n.Data {
	case "button", "input", "select", "textarea", "summary":
		return true
	case "a":
		_, ok := attr(n, "href")
		return ok
	}
	ti, ok := attr(n, "tabindex")
	_, role := attr(n, "role")
	return ok && ti != "-1" && role
}

func a11yProblems(doc *html.Node) []string {
	var problems []string
	ids := map[string]int{}
	labelFor := map[string]bool{}
	var title string
	lang := ""
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		if id, ok := attr(n, "id"); ok {
			ids[id]++
		}
		switch n.Data {
		case "label":
			if f, ok := attr(n, "for"); ok {
				labelFor[f] = true
			}
		case "title":
			title = text(n)
		case "html":
			lang, _ = attr(n, "lang")
		}
	}
	if lang == "" {
		problems = append(problems, "no <html lang>")
	}
	if title == "" {
		problems = append(problems, "no <title>")
	}
	for id, k := range ids {
		if k > 1 {
			problems = append(problems, fmt.Sprintf("id %q used %d times", id, k))
		}
	}
	named := func(n *html.Node) bool {
		for _, k := range []string{"aria-label", "aria-labelledby", "title"} {
			if v, ok := attr(n, k); ok && strings.TrimSpace(v) != "" {
				return true
			}
		}
		return false
	}
	insideLabel := func(n *html.Node) bool {
		for p := n.Parent; p != nil; p = p.Parent {
			if p.Type == html.ElementNode && p.Data == "label" {
				return true
			}
		}
		return false
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "input", "select", "textarea":
			typ, _ := attr(n, "type")
			switch typ {
			case "hidden":
				continue
			case "submit", "button", "reset":
				if v, _ := attr(n, "value"); strings.TrimSpace(v) == "" && !named(n) {
					problems = append(problems, describe(n)+" button without a value")
				}
				continue
			}
			id, _ := attr(n, "id")
			if !(id != "" && labelFor[id]) && !insideLabel(n) && !named(n) {
				problems = append(problems, describe(n)+" has no label")
			}
		case "button":
			if text(n) == "" && !named(n) {
				problems = append(problems, describe(n)+" says nothing")
			}
		case "a":
			if _, ok := attr(n, "href"); ok && text(n) == "" && !named(n) {
				problems = append(problems, describe(n)+" link says nothing")
			}
		case "img":
			if _, ok := attr(n, "alt"); !ok {
				problems = append(problems, describe(n)+" without alt")
			}
		}
		// Something that acts on a click must be reachable by Tab and say
		// what it is, or a keyboard user cannot use it.
		if acts(n) && !focusable(n) && !(isDraggable(n) && keyboardAlternative(n)) {
			problems = append(problems, describe(n)+" acts on a click but cannot take the keyboard focus")
		}
	}
	slices.Sort(problems)
	return problems
}

// seedAutomation makes bundles of each trigger and a finished run with a
// failed step, so that the Automation pages show every part.
func seedAutomation(t *testing.T, e *env) {
	t.Helper()
	addTestActions(t, e)
	startAutomation(t, e)
	ctx, svc := t.Context(), e.app.Automation
	echo := []automation.Step{{ID: "echo", Action: "test.echo", Input: map[string]any{"text": "{{trigger.record.title}}"}},
		{ID: "boom", Action: "test.fail", OnError: "continue"}}
	var manual automation.Bundle
	for i, tr := range []automation.TriggerSpec{
		{Type: automation.TriggerManual, Entity: "lead"},
		{Type: automation.TriggerCRMEvent, Entity: "deal", Actions: []string{"update"}, ChangedTo: map[string]any{"stage_id": "WON"}},
		{Type: automation.TriggerSchedule, Cron: "0 9 * * 1-5"},
		{Type: automation.TriggerWebhook},
	} {
		b, err := svc.Create(ctx, e.admin, automation.Definition{Name: "Связка " + tr.Type, Active: true, Trigger: tr, Steps: echo})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			manual = b
		}
	}
	leads, _, err := e.app.Store.ListLeads(ctx, store.ListParams{})
	if err != nil || len(leads) == 0 {
		t.Fatalf("no lead to run on: %v", err)
	}
	run, err := svc.RunManual(ctx, crm.User{ID: e.admin.UserID, Role: crm.RoleAdmin}, manual.ID, "lead", leads[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, e, run.ID)
}
