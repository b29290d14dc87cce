package web_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

// chromeSignIn signs in as admin in Chromium.
func chromeSignIn(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
		chromedp.SendKeys(chromedp.CSS(`#login`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#password`), adminPassword+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#h-today`)),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
}

// TestBrowserGlobalSearch: a manager types the last 7 digits of a phone
// into the header's search box, presses Enter and sees the lead with its
// phone as a tel: link and its e-mail as a mailto: link.
func TestBrowserGlobalSearch(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	ctx := newChrome(t)
	l, err := e.app.Store.CreateLead(context.Background(), e.admin, crm.Lead{Title: "Заявка на песок", Name: "Ёжиков",
		Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 (916) 123-45-67"}}, Emails: []crm.Comm{{Value: "ezh@mail.ru"}}}})
	if err != nil {
		t.Fatal(err)
	}
	chromeSignIn(t, ctx, e.srv.URL)
	hit := `#hit-lead-` + strconv.FormatInt(l.ID, 10)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/e/deal"),
		chromedp.WaitVisible(chromedp.CSS(`#global-q`)),
		chromedp.SendKeys(chromedp.CSS(`#global-q`), "123-45-67"+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(hit)),
	); err != nil {
		t.Fatalf("search: %v", err)
	}
	tel, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("`+hit+` a.tel").href`))
	if err != nil || tel != "tel:+79161234567" {
		t.Fatalf("phone link %q (%v)", tel, err)
	}
	mail, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("`+hit+` a.mailto").href`))
	if err != nil || mail != "mailto:ezh@mail.ru" {
		t.Fatalf("e-mail link %q (%v)", mail, err)
	}
	// Cyrillic in another case, from the search page itself.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/search"),
		chromedp.WaitVisible(chromedp.CSS(`#search-q`)),
		chromedp.SendKeys(chromedp.CSS(`#search-q`), "ЁЖИКОВ"+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(hit)),
	); err != nil {
		t.Fatalf("search by name: %v", err)
	}
}
