package web_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The currency spellings page (linked from the 1C settings) lists the
// table, adds and changes a spelling, refuses a code that is not ISO
// 4217 naming the field, and deletes one.
func TestCurrencyAliasesPage(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.signIn()
		if p := b.get("/admin/1c"); !strings.Contains(p.Body, `href="/admin/currency-aliases"`) {
			t.Fatalf("the 1C settings do not link the spellings page")
		}
		p := b.get("/admin/currency-aliases")
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "Написания валют из 1С") || !strings.Contains(p.Body, "<code>ГРН</code></td><td><code>UAH</code>") {
			t.Fatalf("page: %d %s", p.Status, p.Body)
		}
		if p := b.post("/admin/currency-aliases", url.Values{"alias": {" гривн "}, "code": {"uah"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("add: %d %s", p.Status, p.Body)
		}
		if p := b.get("/admin/currency-aliases"); !strings.Contains(p.Body, "<code>ГРИВН</code></td><td><code>UAH</code>") {
			t.Fatalf("the added spelling is not listed")
		}
		// Changing it: the same spelling, another code.
		if p := b.post("/admin/currency-aliases", url.Values{"alias": {"ГРИВН"}, "code": {"EUR"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("change: %d", p.Status)
		}
		if m, _ := e.app.Store.CurrencyAliasMap(context.Background()); m["ГРИВН"] != "EUR" {
			t.Fatalf("changed spelling: %q", m["ГРИВН"])
		}
		p = b.post("/admin/currency-aliases", url.Values{"alias": {"тугр"}, "code": {"TUGRIK"}})
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="ca-error"`) || !strings.Contains(p.Body, "Код ISO") || !strings.Contains(p.Body, `value="TUGRIK"`) {
			t.Fatalf("bad code: %d %s", p.Status, p.Body)
		}
		if m, _ := e.app.Store.CurrencyAliasMap(context.Background()); m["ТУГР"] != "" {
			t.Fatalf("a refused spelling was written")
		}
		if p := b.post("/admin/currency-aliases/delete", url.Values{"alias": {"гривн"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("delete: %d", p.Status)
		}
		if m, _ := e.app.Store.CurrencyAliasMap(context.Background()); m["ГРИВН"] != "" {
			t.Fatalf("the deleted spelling is still there")
		}
		if p := b.do(http.MethodPost, "/admin/currency-aliases", url.Values{"alias": {"x"}, "code": {"USD"}}); p.Status != http.StatusForbidden {
			t.Fatalf("POST without CSRF: %d", p.Status)
		}
	})
}

// A partly failed exchange has a button to download its skipped items as
// CSV in the journal, on its page and on the home page.
func TestExchangeSkippedCSVButton(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		var id int64
		err := e.app.DB.Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, `INSERT INTO cml_exchanges (session_id, type, direction, filename, status, open, started_at, finished_at, skipped, partly_failed)
				VALUES ('s1', 'catalog', 'in', 'offers.xml', 'success', FALSE, $1, $1, $2, TRUE) RETURNING id`, time.Now().UnixMicro(),
				`[{"id":"g1#c9","name":"Футболка (XXL)","file":"offers.xml","line":412,"reason":"no good g1"}]`).Scan(&id)
		})
		if err != nil {
			t.Fatal(err)
		}
		csvURL := "/integrations/1c/" + strconv.FormatInt(id, 10) + "/skipped.csv"
		b := e.browser()
		b.signIn()
		for _, path := range []string{"/integrations/1c", "/integrations/1c/" + strconv.FormatInt(id, 10), "/"} {
			if p := b.get(path); !strings.Contains(p.Body, `href="`+csvURL+`" download`) || !strings.Contains(p.Body, "Пропущенные (CSV)") {
				t.Errorf("%s has no CSV button", path)
			}
		}
		p := b.get(csvURL)
		if p.Status != http.StatusOK || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("CSV: %d %q", p.Status, p.Header.Get("Content-Type"))
		}
		if want := "\ufeffИд,Наименование,Файл,Строка,Причина\r\n" + "g1#c9,Футболка (XXL),offers.xml,412,no good g1\r\n"; p.Body != want && p.Body != strings.ReplaceAll(want, "\r\n", "\n") {
			t.Fatalf("CSV body %q", p.Body)
		}
		if p := b.get("/integrations/1c/999999/skipped.csv"); p.Status != http.StatusNotFound {
			t.Errorf("CSV of no entry: %d", p.Status)
		}
	})
}
