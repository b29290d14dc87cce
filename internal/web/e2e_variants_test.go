package web_test

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

// seedVariants gives a product two variants (as the 1C exchange writes
// them) and returns their ids.
func seedVariants(t *testing.T, e *env, productID int64) (red, blue int64) {
	t.Helper()
	err := e.app.DB.Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO product_variants (product_id, id1c, name, article, characteristics, price, currency, stock)
			VALUES ($1, $2, 'Футболка (красная, XL)', 'TS-R-XL', '[{"name":"Цвет","value":"красный"},{"name":"Размер","value":"XL"}]', 120000, 'RUB', 5000)
			RETURNING id`, productID, "g"+strconv.FormatInt(productID, 10)+"#red").Scan(&red); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO product_variants (product_id, id1c, name, characteristics, price, currency, stock)
			VALUES ($1, $2, '', '[{"name":"Цвет","value":"синий"},{"name":"Размер","value":"M"}]', 110000, 'RUB', 0)
			RETURNING id`, productID, "g"+strconv.FormatInt(productID, 10)+"#blue").Scan(&blue)
	})
	if err != nil {
		t.Fatal(err)
	}
	return red, blue
}

// TestBrowserVariantPicker is a manager on a phone (390 px) adding a row
// to an order: the product is found by typing part of its name, the row
// takes its name and price, a picker of its variants appears (each with
// its characteristics, price and stock), choosing one sets the row's
// price to the variant's, and the saved row names the variant.
func TestBrowserVariantPicker(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	s, bg := e.app.Store, context.Background()
	p, err := s.CreateProduct(bg, e.admin, crm.Product{Name: "Футболка хлопковая", Price: 100000, Unit: "шт"})
	if err != nil {
		t.Fatal(err)
	}
	red, _ := seedVariants(t, e, p.ID)
	o, err := s.CreateSalesOrder(bg, e.admin, crm.SalesOrder{})
	if err != nil {
		t.Fatal(err)
	}
	card := e.srv.URL + "/e/sales_order/" + strconv.FormatInt(o.ID, 10)
	bs := newBrowserSession(t, e)
	bs.run("phone", chromedp.EmulateViewport(390, 844))
	bs.run("order", chromedp.Navigate(card), chromedp.WaitVisible(chromedp.CSS(`#items`)))
	if got := bs.eval(`document.querySelector("#ivr-0") ? "picker" : "none"`); got != "none" {
		t.Fatalf("a row without a product shows a variant picker")
	}
	bs.center(`#ipr-0`)
	bs.run("type", chromedp.SendKeys(chromedp.CSS(`#ipr-0`), "Футбол"))
	bs.waitJS("matches", `document.querySelector("#ipr-0-options [role=option]") !== null`)
	if got := bs.eval(`document.querySelector("#ipr-0-options [role=option]").firstChild.textContent`); got != "Футболка хлопковая" {
		t.Fatalf("the product picker offers %q", got)
	}
	bs.run("choose", chromedp.KeyEvent(kb.Enter))
	// The picker came in an htmx swap: its change trigger is bound once
	// htmx has processed it and the swap has settled.
	bs.waitJS("variants", `document.querySelector("#ivr-0") !== null && !!document.querySelector("#ivr-0")["htmx-internal-data"] && !document.querySelector(".htmx-settling, .htmx-swapping, .htmx-request")`)
	for _, c := range []struct{ name, js, want string }{
		{"name", `document.getElementById("in-0").value`, "Футболка хлопковая"},
		{"price of the product", `document.getElementById("ip-0").value`, "1000.00"},
		{"unit", `document.getElementById("iu-0").value`, "шт"},
		{"chosen product", `document.querySelector("#items .item-product .chip a")?.textContent || ""`, "Футболка хлопковая"},
		{"options", `Array.from(document.querySelectorAll("#ivr-0 option")).map(o => o.textContent).join(" | ")`,
			"— без варианта — | Цвет: красный; Размер: XL — 1\u00a0200,00 RUB, остаток 5 | Цвет: синий; Размер: M — 1\u00a0100,00 RUB, остаток 0"},
	} {
		if got := bs.eval(c.js); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	bs.noHorizontalScroll("order with the variant picker")
	bs.setSelect(`#ivr-0`, strconv.FormatInt(red, 10))
	bs.waitJS("variant price", `document.getElementById("ip-0") && document.getElementById("ip-0").value === "1200.00"`)
	if got := bs.eval(`document.getElementById("in-0").value`); got != "Футболка (красная, XL)" {
		t.Errorf("name after the variant: %q", got)
	}
	bs.noHorizontalScroll("order with a variant chosen")
	bs.center(`#items-save`)
	bs.run("save", chromedp.Click(chromedp.CSS(`#items-save`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	got, err := s.GetSalesOrder(bg, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Items) != 1 || got.Items[0].ProductID != p.ID || got.Items[0].VariantID != red || got.Items[0].Price != 120000 {
		t.Fatalf("saved rows: %+v", got.Items)
	}
	// Shown again, the row's picker has the variant chosen.
	if v := bs.eval(`document.getElementById("ivr-0").value`); v != strconv.FormatInt(red, 10) {
		t.Errorf("the saved row's variant picker shows %q", v)
	}
	if strings.Contains(bs.eval(`document.body.innerText`), "variant_id") {
		t.Errorf("the page shows an untranslated field name")
	}
}
