package exchange_test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/commerceml/exchange"
)

// importSet runs a golden set's files through a new 1C session, file by
// file, and returns the last answer of each import.
func importSet(t *testing.T, e *env, set string) map[string]string {
	t.Helper()
	dir := filepath.Join("../testdata/sets", set)
	c := e.oneC()
	c.checkauth("catalog")
	out := map[string]string{}
	for _, f := range setFiles(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.upload("catalog", f, b, 1<<20); got != "success\n" {
			t.Fatalf("%s upload: %q", f, got)
		}
		out[f], _ = c.importAll(f)
	}
	c.must("catalog", "complete", nil, nil, "success")
	return out
}

// Several price types and none named Розничная: refused, naming them,
// until the settings choose one.
func TestPriceTypeChoice(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.settings(func(s *exchange.Settings) {})
		got := importSet(t, e, "s09_204_setting_price_type")
		if a := got["offers.xml"]; !strings.HasPrefix(a, "failure") || !strings.Contains(a, `"Закупочная"`) || !strings.Contains(a, `"Оптовая"`) ||
			!strings.Contains(a, "price type") {
			t.Fatalf("offers.xml without a chosen price type: %q", a)
		}
		if p := e.product("Товар оптовый 1", "OPT-1"); p.Price != 0 {
			t.Fatalf("price applied from a refused file: %+v", p)
		}
		e.settings(func(s *exchange.Settings) { s.PriceType = "price-opt" }) // by Ид
		got = importSet(t, e, "s09_204_setting_price_type")
		if got["offers.xml"] != "success\n" {
			t.Fatalf("offers.xml: %q", got["offers.xml"])
		}
		p := e.product("Товар оптовый 1", "OPT-1")
		if p.Price != 7100 {
			t.Fatalf("price of Оптовая: %+v", p)
		}
		code, b := e.api("GET", "/api/v1/products/"+itoa(p.ID)+"/offers", nil)
		if code != 200 || !strings.Contains(string(b), `"price_type":"Закупочная"`) || !strings.Contains(string(b), `"price_type":"Оптовая"`) {
			t.Fatalf("offers of the product: %d %s", code, b)
		}
		e.settings(func(s *exchange.Settings) { s.PriceType = "Нет такой" })
		got = importSet(t, e, "s09_204_setting_price_type")
		if a := got["offers.xml"]; !strings.Contains(a, `"Нет такой"`) {
			t.Fatalf("unknown price type in the settings: %q", a)
		}
	})
}

// A currency 1C writes as "грн" that is not active: the offer is refused,
// listed, the exchange marked partly failed; activated under the name 1C
// writes ("ГРН"), the next exchange takes it.
func TestCurrencyActivation(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.settings(func(s *exchange.Settings) {})
		importSet(t, e, "s07_209_currencies")
		if p := e.product("Товар в валюте 0", "CUR-0"); p.Price != 0 {
			t.Fatalf("inactive currency applied: %+v", p)
		}
		var offers exchange.Entry
		for _, en := range e.entries() {
			if en.Filename == "offers.xml" {
				offers = en
				break
			}
		}
		if !offers.PartlyFailed || len(offers.Skipped) != 1 || offers.Skipped[0].ID != "a1b2c3d4-0000-11e0-8000-000000000060" ||
			!strings.Contains(offers.Skipped[0].Reason, "UAH") || offers.Skipped[0].Line == 0 {
			t.Fatalf("journal of the refused offer: %+v", offers)
		}
		// The list as CSV.
		code, b := e.api("GET", "/api/v1/exchanges/"+itoa(offers.ID)+"/skipped.csv", nil)
		if code != 200 {
			t.Fatalf("skipped.csv: %d %s", code, b)
		}
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\ufeff"))).ReadAll()
		if err != nil || len(recs) != 2 || recs[0][0] != "Ид" || recs[1][0] != "a1b2c3d4-0000-11e0-8000-000000000060" || recs[1][1] != "Товар в валюте 0" {
			t.Fatalf("skipped.csv: %v %q", err, b)
		}
		if code, b := e.api("PUT", "/api/v1/currencies/ГРН", map[string]any{"name": "Гривна", "active": true, "rate": "2.2"}); code != 200 ||
			!strings.Contains(string(b), `"code":"UAH"`) {
			t.Fatalf("activate ГРН: %d %s", code, b)
		}
		importSet(t, e, "s07_209_currencies")
		if p := e.product("Товар в валюте 0", "CUR-0"); p.Price != 10000 || p.Currency != "UAH" {
			t.Fatalf("after activation: %+v", p)
		}
		if en := e.entries()[0]; en.PartlyFailed || len(en.Skipped) != 0 {
			t.Fatalf("next exchange: %+v", en)
		}
		// An alias of one's own.
		if code, b := e.api("PUT", "/api/v1/currency-aliases/гривен", map[string]any{"code": "UAH"}); code != 200 {
			t.Fatalf("alias: %d %s", code, b)
		}
		if code, b := e.api("GET", "/api/v1/currency-aliases", nil); code != 200 || !strings.Contains(string(b), `"alias":"ГРИВЕН"`) {
			t.Fatalf("aliases: %d %s", code, b)
		}
	})
}

// Units named by attributes only are one unit with those named by text,
// and the dictionary keeps their ОКЕИ code.
func TestUnitsDictionary(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.settings(func(s *exchange.Settings) {})
		importSet(t, e, "s01_203_basic")
		importSet(t, e, "s03_205_attribute_units_warehouses")
		us, err := e.app.Store.ListUnits(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, u := range us {
			got[u.Name] = u.OKEI + "/" + u.Title
		}
		for name, want := range map[string]string{"шт": "796/Штука", "кг": "166/Килограмм", "м": "006/Метр", "упак": "778/Упаковка"} {
			if got[name] != want {
				t.Errorf("unit %q: %q, want %q (all: %v)", name, got[name], want, got)
			}
		}
		for name := range got {
			if name == "Штука" || name == "796" || name == "PCE" {
				t.Errorf("unit %q kept apart from шт", name)
			}
		}
		if p := e.product("Лист гипсокартона", "LS-2"); p.Unit != "шт" {
			t.Fatalf("attribute-only unit: %+v", p)
		}
	})
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
