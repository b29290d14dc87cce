package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// rawInRussian are codes and English texts that must not reach a page in
// Russian: message keys shown for want of a text, status and stage codes,
// field and type names, journal states, Go's own error texts.
var rawInRussian = []*regexp.Regexp{
	regexp.MustCompile(`\b(tl|f|e|e1|err|nav|list|card|auto|adm|wf|col|items|cal|choice|tz|pick|settings)\.[a-z_]+[a-z]\b`),
	regexp.MustCompile(`\b(NEW|IN_PROCESS|PROCESSED|JUNK|CONVERTED|PREPARATION|PREPAYMENT_INVOICE|EXECUTING|FINAL_INVOICE|WON|LOSE|APOLOGY)\b`),
	regexp.MustCompile(`\b[a-z]+_(id|ids|rows|at|date|type)\b`),
	regexp.MustCompile(`(?i)\b(string|bool|enum|created|failed|updated|deleted|true|false|null)\b`),
	regexp.MustCompile(`(?i)\b(dial tcp|connection refused|no such host|i/o timeout|EOF)\b`),
	regexp.MustCompile(`^(S|F|P)$`),
}

// visibleText lists the texts a person reads on a page: text nodes and
// the labels of options, except inside code, pre and script, where
// payloads and technical values are shown on purpose.
func visibleText(doc *html.Node) []string {
	var out []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "style", "code", "pre", "textarea", "template", "kbd", "samp":
				return
			}
			for _, a := range n.Attr {
				if a.Key == "translate" && a.Val == "no" {
					return
				}
			}
		}
		if n.Type == html.TextNode {
			if s := strings.TrimSpace(n.Data); s != "" {
				out = append(out, s)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// TestEveryPageInRussian crawls every page in Russian, with a history of
// changes (a status changed, product rows added, a lead converted),
// custom fields of each type and a failed exchange in the journals, and
// fails on any code or English text a person would read.
func TestEveryPageInRussian(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		seedOneOfEach(t, e)
		seedAutomation(t, e)
		seedHistory(t, e)
		b := e.browser()
		b.signIn()
		found := 0
		// Template expressions ({{trigger.event.record_id}}) are code the
		// automation pages teach; the test action's error is the test's.
		expr := regexp.MustCompile(`\{\{[^}]*\}\}|it failed on purpose`)
		pages := crawl(t, b, func(p string, doc *html.Node) {
			for _, s := range visibleText(doc) {
				s = expr.ReplaceAllString(s, "")
				for _, re := range rawInRussian {
					if m := re.FindString(s); m != "" && found < 60 {
						found++
						t.Errorf("%s shows %q in %q", p, m, s)
					}
				}
			}
		})
		if len(pages) < 30 {
			t.Fatalf("only %d pages reached", len(pages))
		}
	})
}

// seedHistory changes records so that their cards have a history: a lead
// moved from NEW to IN_PROCESS and converted, a deal given product rows,
// custom fields of each type.
func seedHistory(t *testing.T, e *env) {
	t.Helper()
	ctx, s, a := context.Background(), e.app.Store, e.admin
	l, err := s.CreateLead(ctx, a, crm.Lead{Title: "Баннеры для фасада", Name: "Олег", CompanyTitle: "ООО Фасад"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateLead(ctx, a, l.ID, func(l *crm.Lead) error { l.StatusID = "IN_PROCESS"; return nil }); err != nil {
		t.Fatal(err)
	}
	res, err := s.ConvertLead(ctx, a, l.ID, store.ConvertOptions{Deal: true, Contact: true, Account: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateDeal(ctx, a, res.Deal.ID, func(d *crm.Deal) error {
		d.ProductRows = []crm.LineItem{{Name: "Баннер 3×6", Price: 450000, Quantity: 1000}}
		d.StageID = "PREPARATION"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, cf := range []crm.CustomField{{Entity: "lead", Code: "UF_CRM_CITY", Label: "Город", Type: "string"},
		{Entity: "lead", Code: "UF_CRM_VIP", Label: "VIP", Type: "bool"},
		{Entity: "lead", Code: "UF_CRM_KIND", Label: "Вид работ", Type: "enum", Options: []string{"Монтаж", "Печать"}}} {
		if _, err := s.CreateCustomField(ctx, a, cf); err != nil {
			t.Fatal(err)
		}
	}
}
