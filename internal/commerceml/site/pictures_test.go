package site_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"slices"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/api"
	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/commerceml/site"
)

// picturePNG and pictureJPEG are small real pictures, different for each
// seed.
func picturePNG(t *testing.T, seed uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	for i := range img.Pix {
		img.Pix[i] = seed + uint8(i)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pictureJPEG(t *testing.T, seed uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := range 8 {
		for y := range 8 {
			img.Set(x, y, color.RGBA{seed, uint8(x * 30), uint8(y * 30), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func importWithPictures(pictures map[string][]string) string {
	var b strings.Builder
	b.WriteString(head1C + `<Классификатор><Ид>cls</Ид><Наименование>Классификатор</Наименование></Классификатор>
<Каталог СодержитТолькоИзменения="false"><Ид>cat</Ид><ИдКлассификатора>cls</ИдКлассификатора><Наименование>Каталог</Наименование><Товары>
`)
	for _, g := range []string{"good-a", "good-b", "good-c"} {
		fmt.Fprintf(&b, `<Товар><Ид>%s</Ид><Артикул>%s</Артикул><Наименование>Товар %s</Наименование><БазоваяЕдиница Код="796">шт</БазоваяЕдиница>`, g, strings.ToUpper(g[5:]), g[5:])
		for _, p := range pictures[g] {
			fmt.Fprintf(&b, `<Картинка>%s</Картинка>`, p)
		}
		b.WriteString("</Товар>\n")
	}
	b.WriteString(`</Товары></Каталог></КоммерческаяИнформация>`)
	return b.String()
}

// sitePictures are a database's pictures, by product article, each as
// "type sha256 size", in order.
func sitePictures(t *testing.T, in *instance) map[string][]string {
	t.Helper()
	rows, err := in.d.Read.QueryContext(in.ctx, `SELECT p.article, i.content_type, i.sha256, i.size, i.data FROM product_images i JOIN products p ON p.id = i.product_id
		ORDER BY p.article, i.position`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var article, ct, sum string
		var size int64
		var data []byte
		if err := rows.Scan(&article, &ct, &sum, &size, &data); err != nil {
			t.Fatal(err)
		}
		if int64(len(data)) != size {
			t.Errorf("%s: %d bytes kept, size says %d", article, len(data), size)
		}
		out[article] = append(out[article], fmt.Sprintf("%s %s %d", ct, sum, size))
	}
	return out
}

// Pictures flow 1C → Obmen → site: 1C uploads import_files/ with its
// catalog, Obmen keeps them with the products (a picture named but not
// uploaded is a problem of the journal, not a failure), and the catalog
// export to the site (zipped) carries them byte for byte; "only changed"
// sends a changed picture again.
// With zip=no the pictures go one by one (mode=file with their
// import_files/ names) before the documents.
func TestPicturesToSite(t *testing.T) {
	for _, zipped := range []bool{true, false} {
		t.Run(map[bool]string{true: "zip", false: "files"}[zipped], func(t *testing.T) { picturesToSite(t, zipped) })
	}
}

func picturesToSite(t *testing.T, zipped bool) {
	pair(t, func(t *testing.T, one, shop *instance) {
		one.enable1C()
		if !zipped {
			ss := exchange.DefaultSettings()
			ss.Enabled, ss.StepMillis, ss.Zip = true, 50, false
			if code := shop.api("PUT", "/api/v1/exchanges/settings", ss, nil); code != 200 {
				t.Fatalf("site's exchange settings: %d", code)
			}
		}
		a1, a2, b1 := pictureJPEG(t, 10), picturePNG(t, 20), pictureJPEG(t, 30)
		pics := map[string][]string{
			"good-a": {"import_files/a1/a1f0.jpg", "import_files/a2/a2f0.png"},
			"good-b": {"import_files/b1/b1f0.jpg", "import_files/zz/missing.jpg"},
		}
		from1C(t, one,
			[2]string{"import_files/a1/a1f0.jpg", string(a1)}, [2]string{"import_files/a2/a2f0.png", string(a2)}, [2]string{"import_files/b1/b1f0.jpg", string(b1)},
			[2]string{"import.xml", importWithPictures(pics)},
			[2]string{"offers.xml", offers1C(false, [5]string{"good-a", "100", "80", "5", "1"}, [5]string{"good-b", "200", "160", "7", "2"}, [5]string{"good-c", "300", "240", "9", "3"})})
		got := sitePictures(t, one)
		if len(got["A"]) != 2 || len(got["B"]) != 1 || len(got["C"]) != 0 || !strings.HasPrefix(got["A"][0], "image/jpeg ") || !strings.HasPrefix(got["A"][1], "image/png ") {
			t.Fatalf("Obmen's pictures after 1C: %v", got)
		}
		var problems string
		if err := one.d.Read.QueryRowContext(one.ctx, "SELECT problems FROM cml_exchanges WHERE direction <> 'site' AND problems LIKE '%missing.jpg%'").Scan(&problems); err != nil {
			t.Errorf("the picture not uploaded is not named in the journal: %v", err)
		}

		var created site.Settings
		if code := one.api("POST", "/api/v1/site-exchanges", site.Settings{URL: shop.srv.URL + "/1c_exchange.php", Login: "admin", Password: shop.key,
			PriceType: "Розничная", OnlyChanged: true}, &created); code != 201 {
			t.Fatalf("create: %d", code)
		}
		run := func() site.RunResult {
			t.Helper()
			res := one.runOK(created.ID, "catalog")
			return res
		}
		res := run()
		if c := res.Counts["picture"]; c == nil || c.Sent != 3 {
			t.Errorf("pictures sent: %+v, want 3", c)
		}
		if want := map[bool]string{true: "catalog.zip", false: "import.xml"}[zipped]; !slices.Contains(res.Files, want) || slices.Contains(res.Files, "catalog.zip") != zipped {
			t.Errorf("files of the run: %v, want %s", res.Files, want)
		}
		if site := sitePictures(t, shop); fmt.Sprint(site) != fmt.Sprint(got) {
			t.Errorf("the site's pictures:\n%v\nwant (byte for byte):\n%v", site, got)
		}

		// 1C changes good-b's picture: the next "only changed" run sends
		// good-b with it, and nothing of the others.
		b2 := picturePNG(t, 99)
		from1C(t, one, [2]string{"import_files/b2/b2f0.png", string(b2)},
			[2]string{"import.xml", importWithPictures(map[string][]string{"good-a": pics["good-a"], "good-b": {"import_files/b2/b2f0.png"}})})
		res = run()
		if c := res.Counts["picture"]; c == nil || c.Sent != 1 {
			t.Errorf("pictures sent after a change: %+v, want 1", c)
		}
		got = sitePictures(t, one)
		if len(got["B"]) != 1 || !strings.HasPrefix(got["B"][0], "image/png ") {
			t.Fatalf("Obmen's pictures of good-b: %v", got["B"])
		}
		if site := sitePictures(t, shop); fmt.Sprint(site) != fmt.Sprint(got) {
			t.Errorf("the site's pictures after the change:\n%v\nwant:\n%v", site, got)
		}
	})
}

// A product put into an exported catalog from the catalog (its items
// replaced, the product's row untouched) reaches the site in the next
// "only changed" run with its older pictures: the run's time alone would
// skip them, the record of what the site has (site_pictures) does not.
// A picture the site has by the same name and bytes is not sent again.
func TestOnlyChangedNewInCatalogGetsPictures(t *testing.T) {
	pair(t, func(t *testing.T, one, shop *instance) {
		one.enable1C()
		a1, b1 := pictureJPEG(t, 11), picturePNG(t, 21)
		from1C(t, one,
			[2]string{"import_files/a1/a1f1.jpg", string(a1)}, [2]string{"import_files/b1/b1f1.png", string(b1)},
			[2]string{"import.xml", importWithPictures(map[string][]string{"good-a": {"import_files/a1/a1f1.jpg"}, "good-b": {"import_files/b1/b1f1.png"}})},
			[2]string{"offers.xml", offers1C(false, [5]string{"good-a", "100", "80", "5", "1"}, [5]string{"good-b", "200", "160", "7", "2"}, [5]string{"good-c", "300", "240", "9", "3"})})
		ids := map[string]int64{}
		rows, err := one.d.Read.QueryContext(one.ctx, "SELECT article, id FROM products")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a string
			var id int64
			if err := rows.Scan(&a, &id); err != nil {
				t.Fatal(err)
			}
			ids[a] = id
		}
		rows.Close()
		var cat struct {
			ID int64 `json:"id"`
		}
		if code := one.api("POST", "/api/v1/catalogs", map[string]any{"name": "Витрина"}, &cat); code != 201 {
			t.Fatalf("catalog: %d", code)
		}
		items := func(articles ...string) {
			t.Helper()
			var body api.CatalogItems
			for _, a := range articles {
				body.ProductIDs = append(body.ProductIDs, ids[a])
			}
			if code := one.api("PUT", fmt.Sprintf("/api/v1/catalogs/%d/items", cat.ID), body, nil); code != 200 {
				t.Fatalf("catalog items: %d", code)
			}
		}
		items("A")
		var created site.Settings
		if code := one.api("POST", "/api/v1/site-exchanges", site.Settings{URL: shop.srv.URL + "/1c_exchange.php", Login: "admin", Password: shop.key,
			PriceType: "Розничная", OnlyChanged: true, Catalogs: []int64{cat.ID}}, &created); code != 201 {
			t.Fatalf("create: %d", code)
		}
		run := func() site.RunResult {
			t.Helper()
			res := one.runOK(created.ID, "catalog")
			return res
		}
		sent := func(res site.RunResult, kind string) int {
			if c := res.Counts[kind]; c != nil {
				return c.Sent
			}
			return 0
		}
		res := run()
		if sent(res, "product") != 1 || sent(res, "picture") != 1 {
			t.Fatalf("first run: %+v, want good-a with its picture", res.Counts)
		}
		items("A", "B")
		res = run()
		if sent(res, "picture") != 1 {
			t.Errorf("good-b newly in the catalog: pictures sent %d, want its 1 (counts %+v)", sent(res, "picture"), res.Counts)
		}
		got, site := sitePictures(t, one), sitePictures(t, shop)
		if len(site["B"]) != 1 || site["B"][0] != got["B"][0] {
			t.Errorf("the site's pictures of good-b: %v, want %v", site["B"], got["B"])
		}
		// Nothing changed since: nothing sent, no picture again.
		res = run()
		if sent(res, "picture") != 0 || sent(res, "product") != 0 {
			t.Errorf("a run with nothing changed sent %+v", res.Counts)
		}
	})
}

// variantPictures are a database's pictures of variants, each as
// "product article / variant name: type sha256".
func variantPictures(t *testing.T, in *instance) []string {
	t.Helper()
	rows, err := in.d.Read.QueryContext(in.ctx, `SELECT p.article, v.name, i.content_type, i.sha256 FROM product_images i
		JOIN products p ON p.id = i.product_id JOIN product_variants v ON v.id = i.variant_id ORDER BY p.article, v.name, i.position`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var article, name, ct, sum string
		if err := rows.Scan(&article, &name, &ct, &sum); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s / %s: %s %s", article, name, ct, sum))
	}
	return out
}

// offersVariants1C: good-a's two variants (red and blue), each offer
// naming its pictures.
func offersVariants1C(pictures map[string][]string) string {
	var b strings.Builder
	b.WriteString(head1C + `<ПакетПредложений СодержитТолькоИзменения="false"><Ид>cat#</Ид><Наименование>Пакет</Наименование><ИдКаталога>cat</ИдКаталога><ИдКлассификатора>cls</ИдКлассификатора>
<ТипыЦен><ТипЦены><Ид>pt-retail</Ид><Наименование>Розничная</Наименование><Валюта>RUB</Валюта></ТипЦены></ТипыЦен><Предложения>`)
	for i, c := range []string{"red", "blue"} {
		fmt.Fprintf(&b, `<Предложение><Ид>good-a#%s</Ид><Артикул>A-%s</Артикул><Наименование>Товар a (%s)</Наименование><БазоваяЕдиница Код="796">шт</БазоваяЕдиница>`, c, c, c)
		for _, p := range pictures[c] {
			fmt.Fprintf(&b, `<Картинка>%s</Картинка>`, p)
		}
		fmt.Fprintf(&b, `<ХарактеристикиТовара><ХарактеристикаТовара><Наименование>Цвет</Наименование><Значение>%s</Значение></ХарактеристикаТовара></ХарактеристикиТовара>
<Цены><Цена><ИдТипаЦены>pt-retail</ИдТипаЦены><ЦенаЗаЕдиницу>%d</ЦенаЗаЕдиницу><Валюта>RUB</Валюта></Цена></Цены><Количество>%d</Количество></Предложение>
`, c, 100+i, 5+i)
	}
	b.WriteString(`</Предложения></ПакетПредложений></КоммерческаяИнформация>`)
	return b.String()
}

// A variant's pictures (УТ 11 writes a characteristic's pictures in its
// offer): 1C → Obmen keeps them with the variant; Obmen → site sends
// them in the variant's offer, byte for byte; a later offers file that
// names a picture without sending it again keeps it; one naming none
// leaves them.
func TestVariantPictures(t *testing.T) {
	pair(t, func(t *testing.T, one, shop *instance) {
		one.enable1C()
		red, blue1, blue2 := pictureJPEG(t, 40), picturePNG(t, 50), pictureJPEG(t, 60)
		pics := map[string][]string{"red": {"import_files/r1/red.jpg"}, "blue": {"import_files/b1/blue1.png", "import_files/b2/blue2.jpg"}}
		from1C(t, one,
			[2]string{"import_files/r1/red.jpg", string(red)}, [2]string{"import_files/b1/blue1.png", string(blue1)}, [2]string{"import_files/b2/blue2.jpg", string(blue2)},
			[2]string{"import.xml", importWithPictures(nil)},
			[2]string{"offers.xml", offersVariants1C(pics)})
		got := variantPictures(t, one)
		if len(got) != 3 || !strings.HasPrefix(got[0], "A / Товар a (blue): image/png ") || !strings.HasPrefix(got[2], "A / Товар a (red): image/jpeg ") {
			t.Fatalf("Obmen's pictures of variants after 1C:\n%s", strings.Join(got, "\n"))
		}
		// Named again without the files, and a variant naming none:
		// nothing changes.
		from1C(t, one, [2]string{"offers.xml", offersVariants1C(map[string][]string{"blue": pics["blue"]})})
		if again := variantPictures(t, one); fmt.Sprint(again) != fmt.Sprint(got) {
			t.Errorf("after offers naming the pictures without sending them:\n%s\nwant:\n%s", strings.Join(again, "\n"), strings.Join(got, "\n"))
		}

		var created site.Settings
		if code := one.api("POST", "/api/v1/site-exchanges", site.Settings{URL: shop.srv.URL + "/1c_exchange.php", Login: "admin", Password: shop.key,
			PriceType: "Розничная"}, &created); code != 201 {
			t.Fatalf("create: %d", code)
		}
		res := one.runOK(created.ID, "catalog")
		if c := res.Counts["picture"]; c == nil || c.Sent != 3 {
			t.Errorf("pictures sent: %+v, want 3", c)
		}
		if s := variantPictures(t, shop); fmt.Sprint(s) != fmt.Sprint(got) {
			t.Errorf("the site's pictures of variants:\n%s\nwant:\n%s", strings.Join(s, "\n"), strings.Join(got, "\n"))
		}
	})
}
