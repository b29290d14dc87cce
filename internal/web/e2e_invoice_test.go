package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestBrowserInvoicePage opens an invoice's public page in Chromium
// without signing in: the printed invoice shows with its stylesheet
// applied under the CSP (no inline style), the total in words, and its
// PDF link answers a PDF.
func TestBrowserInvoicePage(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	s, bg := e.app.Store, context.Background()
	pm, err := s.CreatePaymentMethod(bg, e.admin, crm.PaymentMethod{Name: "Счёт", ClientType: crm.ClientContact, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateContact(bg, e.admin, crm.Contact{Name: "Мария", LastName: "Иванова"})
	if err != nil {
		t.Fatal(err)
	}
	deal, err := s.CreateDeal(bg, e.admin, crm.Deal{Title: "Заказ", ContactIDs: []int64{c.ID},
		ProductRows: []crm.LineItem{{Name: "Плитка керамогранит матовая, 600×600×10 мм", Price: 150050, Quantity: 21000, Unit: "м²"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.BillDeal(bg, e.admin, deal.ID, store.BillOptions{ContactMethodID: pm.ID, PublicBase: e.srv.URL + "/i/"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := newChrome(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(b.PublicURL), chromedp.WaitVisible(chromedp.CSS(`#title`))); err != nil {
		t.Fatal(err)
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	title, words := eval(`document.querySelector("#title").innerText`), eval(`document.querySelector("#words").innerText`)
	buyer, pdfHref := eval(`document.querySelector("#buyer").innerText`), eval(`document.querySelector("#pdf").href`)
	// The stylesheet applied: the items table's borders collapse.
	collapse := eval(`getComputedStyle(document.querySelector("#items")).borderCollapse`)
	pdfType := eval(`fetch(document.querySelector("#pdf").href).then(r => r.headers.get("content-type"))`)
	// 1500.50 × 21 = 31 510.50
	if !strings.HasPrefix(title, "Счёт на оплату № "+b.Invoice.Number+" от ") || words != "Тридцать одна тысяча пятьсот десять рублей 50 копеек" ||
		!strings.HasPrefix(buyer, "Иванова Мария") || collapse != "collapse" || pdfType != "application/pdf" || !strings.HasSuffix(pdfHref, ".pdf") {
		t.Fatalf("title %q, words %q, buyer %q, border-collapse %q, pdf %q %q", title, words, buyer, collapse, pdfHref, pdfType)
	}
	// The client opens the payment link on a phone: at 390 px neither the
	// page nor the rows' table is wider than the screen.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#items`))); err != nil {
		t.Fatal(err)
	}
	var w [3]int // the page's width, the rows' right edge, the window's width
	if err := json.Unmarshal([]byte(eval(`JSON.stringify([document.documentElement.scrollWidth,
		Math.ceil(document.querySelector("#items").getBoundingClientRect().right), innerWidth])`)), &w); err != nil {
		t.Fatal(err)
	}
	if w[2] != 390 || w[0] > w[2] || w[1] > w[2] {
		t.Fatalf("at 390 px: the page is %d px wide, the rows end at %d px, the window is %d px", w[0], w[1], w[2])
	}
}
