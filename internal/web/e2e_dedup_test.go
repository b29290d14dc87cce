package web_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestBrowserDuplicates: in Chromium a manager types a new contact with
// a phone that exists in another format; the form says so, naming the
// existing contact as a link, and "Всё равно создать" creates it. Then
// the "Дубликаты" page shows the two and merges them field by field.
func TestBrowserDuplicates(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	ctx := newChrome(t)
	base := e.srv.URL
	bg := context.Background()
	first, err := e.app.Store.CreateContact(bg, e.admin, crm.Contact{Name: "Ольга", LastName: "Смирнова", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 913 111-22-33"}}}})
	if err != nil {
		t.Fatal(err)
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	run("sign in",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
		chromedp.SendKeys(chromedp.CSS(`#login`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#password`), adminPassword+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#h-today`)),
	)
	run("new contact with a known phone",
		chromedp.Navigate(base+"/e/contact/new"),
		chromedp.WaitVisible(chromedp.CSS(`#f-name`)),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "Ольга"),
		chromedp.SendKeys(chromedp.CSS(`#f-last_name`), "Смирнова-Петрова"),
		chromedp.SendKeys(chromedp.CSS(`#f-phones`), "8 (913) 111 22 33"),
		chromedp.Click(chromedp.CSS(`#record-form button[type="submit"]:not([name])`)),
		chromedp.WaitVisible(chromedp.CSS(`#dup-warning`)),
	)
	warning := text(`document.querySelector('#dup-warning').innerText`)
	if !strings.Contains(warning, "Похожие записи уже есть") || !strings.Contains(warning, "Смирнова Ольга") || !strings.Contains(warning, "совпадает телефон") {
		t.Errorf("warning: %q", warning)
	}
	if v := text(`document.querySelector('#f-phones').value`); v != "8 (913) 111 22 33" {
		t.Errorf("the typed phone was not kept: %q", v)
	}
	if ls, _, _ := e.app.Store.ListContacts(bg, store.ListParams{}); len(ls) != 1 {
		t.Fatalf("a warned create wrote: %d contacts", len(ls))
	}
	run("create anyway",
		chromedp.Click(chromedp.CSS(`#dup-confirm`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#dup-warning`)),
	)
	if ls, _, _ := e.app.Store.ListContacts(bg, store.ListParams{}); len(ls) != 2 {
		t.Fatalf("after «create anyway»: %d contacts", len(ls))
	}

	run("the duplicates page",
		chromedp.Navigate(base+"/duplicates?entity=contact"),
		chromedp.WaitVisible(chromedp.CSS(`#dup-groups .merge-link`)),
		chromedp.Click(chromedp.CSS(`#dup-groups .merge-link`)),
		chromedp.WaitVisible(chromedp.CSS(`#merge-fields`)),
		chromedp.Click(chromedp.CSS(`input[name="take.last_name"][value="drop"]`)),
		chromedp.Click(chromedp.CSS(`#merge-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`location.pathname === "/e/contact/`+strconv.FormatInt(first.ID, 10)+`"`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Errorf("after the merge the page is %s", text(`location.href`))
	}
	c, err := e.app.Store.GetContact(bg, first.ID)
	if err != nil || c.LastName != "Смирнова-Петрова" {
		t.Errorf("merged = %+v, %v", c, err)
	}
	if ls, _, _ := e.app.Store.ListContacts(bg, store.ListParams{}); len(ls) != 1 {
		t.Errorf("after the merge: %d live contacts", len(ls))
	}
}
