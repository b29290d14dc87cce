package site_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/commerceml/client"
	"github.com/obmen/obmen/internal/commerceml/site"
	"golang.org/x/text/encoding/charmap"
)

// from1C plays 1C toward an instance: the files go up with mode=file and
// the documents are imported in order (pictures are only uploaded).
func from1C(t *testing.T, in *instance, files ...[2]string) {
	t.Helper()
	c := &client.Client{URL: in.srv.URL + "/1c_exchange.php", Login: "admin", Password: in.key}
	if err := c.Checkauth(in.ctx, "catalog"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Init(in.ctx, "catalog"); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := c.Upload(in.ctx, "catalog", f[0], strings.NewReader(f[1])); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(f[0], "import_files/") {
			continue // a picture: uploaded only
		}
		if _, err := c.Import(in.ctx, "catalog", f[0], nil); err != nil {
			t.Fatalf("1C's %s: %v", f[0], err)
		}
	}
}

const head1C = `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.08" ДатаФормирования="2026-12-05T10:00:00">
`

func import1C() string {
	return head1C + `<Классификатор><Ид>cls</Ид><Наименование>Классификатор</Наименование></Классификатор>
<Каталог СодержитТолькоИзменения="false"><Ид>cat</Ид><ИдКлассификатора>cls</ИдКлассификатора><Наименование>Каталог</Наименование><Товары>
<Товар><Ид>good-a</Ид><Артикул>A-1</Артикул><Наименование>Товар А</Наименование><БазоваяЕдиница Код="796">шт</БазоваяЕдиница></Товар>
<Товар><Ид>good-b</Ид><Артикул>B-1</Артикул><Наименование>Товар Б</Наименование><БазоваяЕдиница Код="796">шт</БазоваяЕдиница></Товар>
<Товар><Ид>good-c</Ид><Артикул>C-1</Артикул><Наименование>Товар В</Наименование><БазоваяЕдиница Код="796">шт</БазоваяЕдиница></Товар>
</Товары></Каталог></КоммерческаяИнформация>`
}

// offers1C: each good's retail and wholesale price and stock in two
// warehouses; only changes when part is true.
func offers1C(part bool, goods ...[5]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, head1C+`<ПакетПредложений СодержитТолькоИзменения="%t"><Ид>cat#</Ид><Наименование>Пакет</Наименование><ИдКаталога>cat</ИдКаталога><ИдКлассификатора>cls</ИдКлассификатора>
<ТипыЦен><ТипЦены><Ид>pt-retail</Ид><Наименование>Розничная</Наименование><Валюта>RUB</Валюта></ТипЦены><ТипЦены><Ид>pt-whole</Ид><Наименование>Оптовая</Наименование><Валюта>RUB</Валюта></ТипЦены></ТипыЦен>
<Склады><Склад><Ид>wh-1</Ид><Наименование>Основной</Наименование></Склад><Склад><Ид>wh-2</Ид><Наименование>Дальний</Наименование></Склад></Склады>
<Предложения>`, part)
	for _, g := range goods {
		// id, retail, wholesale, stock in wh-1, stock in wh-2
		fmt.Fprintf(&b, `<Предложение><Ид>%s</Ид><Цены><Цена><ИдТипаЦены>pt-retail</ИдТипаЦены><ЦенаЗаЕдиницу>%s</ЦенаЗаЕдиницу><Валюта>RUB</Валюта></Цена>
<Цена><ИдТипаЦены>pt-whole</ИдТипаЦены><ЦенаЗаЕдиницу>%s</ЦенаЗаЕдиницу><Валюта>RUB</Валюта></Цена></Цены>
<Склад ИдСклада="wh-1" КоличествоНаСкладе="%s"/><Склад ИдСклада="wh-2" КоличествоНаСкладе="%s"/></Предложение>
`, g[0], g[1], g[2], g[3], g[4])
	}
	b.WriteString(`</Предложения></ПакетПредложений></КоммерческаяИнформация>`)
	return b.String()
}

var offerIDRE = regexp.MustCompile(`<Предложение>\s*<Ид>([^<]+)</Ид>`)

// "Only changed" sends a product whose wholesale price alone changed in
// 1C, then one whose stock moved between warehouses (the same total),
// with the products' rows left as they were: each next offers document
// holds exactly that product.
func TestOnlyChangedPricesAndStocks(t *testing.T) {
	pair(t, func(t *testing.T, one, shop *instance) {
		one.enable1C()
		from1C(t, one, [2]string{"import.xml", import1C()},
			[2]string{"offers.xml", offers1C(false, [5]string{"good-a", "100", "80", "5", "1"}, [5]string{"good-b", "200", "160", "7", "2"}, [5]string{"good-c", "300", "240", "9", "3"})})

		var created site.Settings
		if code := one.api("POST", "/api/v1/site-exchanges", site.Settings{URL: shop.srv.URL + "/1c_exchange.php", Login: "admin", Password: shop.key,
			PriceType: "Розничная", ExtraPriceTypes: []string{"Оптовая"}, Warehouses: []string{"wh-1", "wh-2"}, OnlyChanged: true}, &created); code != 201 {
			t.Fatalf("create: %d", code)
		}
		run := func() []string {
			t.Helper()
			res := one.runOK(created.ID, "catalog")
			var path string
			if err := one.d.Read.QueryRowContext(one.ctx, "SELECT file_path FROM cml_exchanges WHERE id = $1", res.EntryID).Scan(&path); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(filepath.Dir(path), "offers.xml"))
			if err != nil {
				t.Fatal(err)
			}
			if b, err = charmap.Windows1251.NewDecoder().Bytes(b); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range offerIDRE.FindAllStringSubmatch(string(b), -1) {
				ids = append(ids, m[1])
			}
			return ids
		}
		if ids := run(); len(ids) != 3 {
			t.Fatalf("the first export sent %v, want all three", ids)
		}
		if ids := run(); len(ids) != 0 {
			t.Errorf("nothing changed, yet %v went", ids)
		}
		// The exchange may stamp a product's row as it applies offers; the
		// rows are set back to long ago so that only the prices and stocks
		// tell what changed.
		untouch := func() { one.exec("UPDATE products SET updated_at = 1") }
		untouch()
		// Only good-a's wholesale price.
		from1C(t, one, [2]string{"offers.xml", offers1C(true, [5]string{"good-a", "100", "85", "5", "1"})})
		untouch()
		if ids := run(); strings.Join(ids, ",") != "good-a" {
			t.Errorf("after a price change the export sent %v, want good-a", ids)
		}
		// Only good-b's stock, moved between warehouses.
		from1C(t, one, [2]string{"offers.xml", offers1C(true, [5]string{"good-b", "200", "160", "6", "3"})})
		untouch()
		if ids := run(); strings.Join(ids, ",") != "good-b" {
			t.Errorf("after a stock change the export sent %v, want good-b", ids)
		}
		var wh2 string
		if err := shop.d.Read.QueryRowContext(shop.ctx, "SELECT CAST(s.quantity AS TEXT) FROM product_stocks s JOIN products p ON p.id = s.product_id WHERE p.article = 'B-1' AND s.warehouse = 'wh-2'").Scan(&wh2); err != nil || wh2 != "3000" {
			t.Errorf("the site's stock of good-b in wh-2: %q %v, want 3000", wh2, err)
		}
		if ids := run(); len(ids) != 0 {
			t.Errorf("nothing changed since, yet %v went", ids)
		}
	})
}
