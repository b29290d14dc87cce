package web_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestBrowserNamesAndFormats is what a person sees on a deal at 1366 px:
// the company and contacts by name as links (not numbers), the amount as
// "45 000,50 ₽", a product row's price whole in its input and the rows'
// table inside the card, "нет" for a deal not closed; and a new activity
// linked to a company chosen by typing part of its name.
func TestBrowserNamesAndFormats(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	s, bg := e.app.Store, context.Background()
	acc, err := s.CreateAccount(bg, e.admin, crm.Account{Title: "ООО Ромашка", INN: "7707083893"})
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := s.CreateContact(bg, e.admin, crm.Contact{Name: "Иван", LastName: "Петров"})
	c2, _ := s.CreateContact(bg, e.admin, crm.Contact{Name: "Мария", LastName: "Сидорова"})
	p, err := s.CreateProduct(bg, e.admin, crm.Product{Name: "Баннер 3×6", Price: 150050})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.CreateDeal(bg, e.admin, crm.Deal{Title: "Наружная реклама", AccountID: acc.ID, ContactIDs: []int64{c1.ID, c2.ID},
		Opportunity: 4500050, Currency: "RUB", ProductRows: []crm.LineItem{{ProductID: p.ID, Name: "Баннер 3×6 с очень длинным названием для проверки ширины", Price: 150050, Quantity: 3000}}})
	if err != nil {
		t.Fatal(err)
	}
	bs := newBrowserSession(t, e)
	base := e.srv.URL
	bs.run("laptop", chromedp.EmulateViewport(1366, 768))
	bs.run("deal", chromedp.Navigate(base+"/e/deal/"+strconv.FormatInt(d.ID, 10)), chromedp.WaitVisible(chromedp.CSS(`#items`)))
	accLink := `/e/account/` + strconv.FormatInt(acc.ID, 10)
	for _, c := range []struct{ name, js, want string }{
		{"company link", `document.querySelector('[data-field="account_id"] a[href="` + accLink + `"]')?.textContent || ""`, "ООО Ромашка"},
		{"contacts", `Array.from(document.querySelectorAll('[data-field="contact_ids"] a')).map(a => a.textContent).join(" | ")`, "Петров Иван | Сидорова Мария"},
		{"amount", `document.getElementById("v-opportunity").textContent.trim()`, "4\u00a0501,50\u00a0₽"},
		{"closed", `document.querySelector('[data-field="closed"] span:last-child').textContent.trim()`, "нет"},
		{"price input", `document.getElementById("ip-0").value`, "1500.50"},
		{"price whole", `String(document.getElementById("ip-0").scrollWidth <= document.getElementById("ip-0").clientWidth)`, "true"},
		{"rows inside the card", `String(document.querySelector("#items table").getBoundingClientRect().right <= document.getElementById("items").getBoundingClientRect().right + 1)`, "true"},
		{"row sum", `document.getElementById("sum-0").textContent.trim()`, "4\u00a0501,50"},
	} {
		if got := bs.eval(c.js); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	bs.run("deals", chromedp.Navigate(base+"/e/deal"), chromedp.WaitVisible(chromedp.CSS(`#list`)))
	if got := bs.eval(`document.querySelector('#list a[href="` + accLink + `"]')?.textContent || ""`); got != "ООО Ромашка" {
		t.Errorf("the deals list's company: %q", got)
	}

	// A new activity: its record is a company found by typing "Ромаш".
	bs.run("new activity",
		chromedp.Navigate(base+"/e/activity/new"),
		chromedp.WaitVisible(chromedp.CSS(`#f-subject`)),
		chromedp.SendKeys(chromedp.CSS(`#f-subject`), "Позвонить в Ромашку"),
	)
	bs.setSelect(`#f-kind`, "call")
	bs.setSelect(`#f-owner_type`, "account")
	bs.run("type", chromedp.SendKeys(chromedp.CSS(`#f-owner_id`), "Ромаш"))
	bs.waitJS("matches", `document.querySelector("#f-owner_id-options [role=option]") !== null`)
	if got := bs.eval(`document.querySelector("#f-owner_id-options [role=option]").firstChild.textContent`); got != "ООО Ромашка" {
		t.Fatalf("the picker offers %q", got)
	}
	bs.run("choose", chromedp.KeyEvent(kb.Enter))
	bs.waitJS("chosen", `document.querySelector(".ref-picker .chip a") !== null`)
	bs.run("save", chromedp.Click(chromedp.CSS(`#save`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	acts, _, err := s.ListActivities(bg, store.ListParams{Q: "Ромашку"})
	if err != nil || len(acts) != 1 || acts[0].OwnerType != "account" || acts[0].OwnerID != acc.ID {
		t.Fatalf("the activity: %+v %v", acts, err)
	}
	if got := bs.eval(`document.querySelector('[data-field="owner_id"] a')?.textContent || ""`); got != "ООО Ромашка" {
		t.Errorf("the activity's record: %q", got)
	}
	if got := bs.eval(`document.getElementById("v-done").textContent.trim()`); got != "нет" {
		t.Errorf("Выполнено: %q, want нет", got)
	}
}
