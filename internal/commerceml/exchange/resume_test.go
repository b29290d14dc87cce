package exchange_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/commerceml/exchange"
)

// An import stopped by a restart resumes on 1C's next call, and no part
// of the catalog is visible before it is complete.
func TestResumeAfterRestart(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.settings(func(s *exchange.Settings) { s.StepMillis = 1 })
		var imp bytes.Buffer
		if err := genCatalog(&imp, 3000); err != nil {
			t.Fatal(err)
		}
		c := e.oneC()
		c.checkauth("catalog")
		if out := c.upload("catalog", "import.xml", imp.Bytes(), 1<<20); out != "success\n" {
			t.Fatal(out)
		}
		_, out := c.call("catalog", "import", map[string][]string{"filename": {"import.xml"}}, nil)
		if !strings.HasPrefix(out, "progress\nimport.xml: ") {
			t.Fatalf("first step: %q", out)
		}
		if n := len(e.products()); n != 0 {
			t.Fatalf("%d products visible mid-import", n)
		}
		e.restart()
		if n := len(e.products()); n != 0 {
			t.Fatalf("%d products after the restart", n)
		}
		out, progress := c.importAll("import.xml")
		if out != "success\n" {
			t.Fatalf("after restart: %q", out)
		}
		t.Logf("%d progress answers after the restart", progress)
		ps := e.products()
		if len(ps) != 3000 {
			t.Fatalf("%d products, want 3000 exactly once", len(ps))
		}
		en := e.entries()[0]
		if en.Counts["product"].Created != 3000 || en.Counts["catalog"].Created != 101 {
			t.Fatalf("journal counts %+v %+v", en.Counts["product"], en.Counts["catalog"])
		}
	})
}

// Every schema version and both encodings give the same catalog; the
// orders of 2.04 (cp1251), 2.07, 2.08 (containers) and 2.10 give the
// same statuses.
func TestSchemaVersions(t *testing.T) {
	pairs := [][2]string{
		{"import_204_cp1251.xml", "offers_204_cp1251.xml"},
		{"import_205_bom.xml", "offers_205_bom.xml"},
		{"import_207.xml", "offers_207.xml"},
		{"import0_1_208.xml", "offers0_1_208.xml"},
		{"import0_1_210_cp1251.xml", "offers0_1_210.xml"},
	}
	orders := []string{"orders_204_cp1251.xml", "orders_207.xml", "orders_208.xml", "orders_210_cp1251.xml"}
	each(t, func(t *testing.T, e *env) {
		e.settings(func(s *exchange.Settings) {})
		var first string
		for i, p := range pairs {
			// Each pair on a clean catalog.
			err := e.d.Write(e.ctx, func(ctx context.Context, tx *sql.Tx) error {
				for _, tbl := range []string{"catalog_items", "products", "services", "catalogs", "external_ids"} {
					if _, err := tx.ExecContext(ctx, "DELETE FROM "+tbl); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			c := e.oneC()
			c.checkauth("catalog")
			name := strings.Replace(strings.SplitN(p[0], "_", 2)[0], "import0", "import0_1", 1) + ".xml"
			oname := strings.Replace(name, "import", "offers", 1)
			if out := c.upload("catalog", name, testdata(t, p[0]), 1<<20); out != "success\n" {
				t.Fatal(out)
			}
			if out := c.upload("catalog", oname, testdata(t, p[1]), 1<<20); out != "success\n" {
				t.Fatal(out)
			}
			for _, n := range []string{name, oname} {
				if out, _ := c.importAll(n); out != "success\n" {
					t.Fatalf("%s: %s: %q", p[0], n, out)
				}
			}
			var lines []string
			for _, pr := range e.products() {
				lines = append(lines, fmt.Sprintf("%s|%s|%s|%s|%s|%s|%d", pr.Name, pr.Article, pr.Unit, pr.Price, pr.Stock, pr.Currency, len(pr.CatalogIDs)))
			}
			sort.Strings(lines)
			got := strings.Join(lines, "\n")
			if i == 0 {
				first = got
				want := "Дрель ударная|DR-500|шт|4500.00|12|RUB|2\nДрель ударная|DR-700|шт|6100.50|3|RUB|2\n" +
					"Кабель ВВГ 3х2,5||м|87.20|1520.5|RUB|2\nПлитка настенная||м2|1290.00|40|EUR|2"
				if got != want {
					t.Fatalf("%s:\n%s\nwant\n%s", p[0], got, want)
				}
			} else if got != first {
				t.Errorf("%s differs from 2.04:\n%s", p[0], got)
			}
		}
		for i, o := range orders {
			c := e.oneC()
			c.checkauth("sale")
			data, name, chunk := testdata(t, o), o, 1<<20
			if i%2 == 1 {
				// As a zip, in small chunks: imported when whole.
				data, name, chunk = zipOf(t, map[string][]byte{o: data}), "orders.zip", 700
			} else {
				chunk = 1500 // chunks of XML: imported after the last
			}
			out := c.upload("sale", name, data, chunk)
			if out != "success\n" {
				t.Fatalf("%s: %q", o, out)
			}
			en := e.entries()[0]
			// No such orders in Obmen: all five skipped, none created.
			if en.Status != "success" || en.Counts["sales_order"].Skipped != 5 {
				t.Fatalf("%s: %+v", o, en)
			}
		}
	})
}
