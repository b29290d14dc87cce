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
	e := newEnv(t, storetest.OpenAny(t))
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

// TestBrowserDistribution: an administrator makes a round-robin rule for
// web forms on the "Распределение лидов" page in Chromium; the next two
// web-form leads go to the two managers in turn.
func TestBrowserDistribution(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	ctx := newChrome(t)
	s := e.app.Store
	bg := context.Background()
	var m []crm.User
	for _, login := range []string{"olga", "pavel"} {
		u, err := s.CreateUser(bg, e.admin, crm.User{Login: login, Role: crm.RoleManager, Active: true}, "manager-password")
		if err != nil {
			t.Fatal(err)
		}
		m = append(m, u)
	}
	chromeSignIn(t, ctx, e.srv.URL)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/admin/users"),
		chromedp.Click(chromedp.CSS(`#to-distribution`)),
		chromedp.WaitVisible(chromedp.CSS(`#rules-empty`)),
		chromedp.SendKeys(chromedp.CSS(`#dr-name`), "Сайт по очереди"),
		chromedp.SetValue(chromedp.CSS(`#dr-channel`), "form"),
		chromedp.Click(chromedp.CSS(`#dr-users input[value="`+strconv.FormatInt(m[0].ID, 10)+`"]`)),
		chromedp.Click(chromedp.CSS(`#dr-users input[value="`+strconv.FormatInt(m[1].ID, 10)+`"]`)),
		chromedp.Click(chromedp.CSS(`#dr-save`)),
		chromedp.WaitVisible(chromedp.CSS(`#rules`)),
	); err != nil {
		t.Fatalf("make the rule: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#rules tbody tr`)))
	if err != nil || !strings.Contains(text, "Сайт по очереди") || !strings.Contains(text, "Веб-формы") || !strings.Contains(text, "olga, pavel") {
		t.Fatalf("rule row %q (%v)", text, err)
	}
	var owners []int64
	for range 2 {
		l, err := s.CreateLead(store.WithIntake(bg, store.Intake{Channel: crm.ChannelForm, FormID: 1}), crm.Actor{Integration: crm.IntegrationWebform},
			crm.Lead{Title: "Заявка с сайта", Meta: crm.Meta{AssignedByID: e.admin.UserID}})
		if err != nil {
			t.Fatal(err)
		}
		owners = append(owners, l.AssignedByID)
	}
	if owners[0] != m[0].ID || owners[1] != m[1].ID {
		t.Fatalf("owners %v", owners)
	}
}

// TestBrowserBell: a manager's bell shows the unread count; when a lead is
// given to them while the page is open, the count goes up by itself
// (htmx asks every 15 s); the notification opens the lead and is read.
func TestBrowserBell(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	ctx := newChrome(t)
	s := e.app.Store
	bg := context.Background()
	if _, err := e.app.Notify.Scan(bg); err != nil { // the first scan starts at the log's end
		t.Fatal(err)
	}
	l, err := s.CreateLead(bg, crm.Actor{Integration: crm.IntegrationWebform}, crm.Lead{Title: "Заявка на песок", Meta: crm.Meta{AssignedByID: e.admin.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Notify.Scan(bg); err != nil {
		t.Fatal(err)
	}
	chromeSignIn(t, ctx, e.srv.URL)
	count := func() string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("#bell-count")||{}).textContent||""`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if c := count(); c != "1" {
		t.Fatalf("bell shows %q", c)
	}
	if _, err := s.CreateLead(bg, crm.Actor{Integration: crm.IntegrationWebform}, crm.Lead{Title: "Ещё заявка", Meta: crm.Meta{AssignedByID: e.admin.UserID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Notify.Scan(bg); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(document.querySelector("#bell-count")||{}).textContent === "2"`, chromedp.WithPollingTimeout(25*time.Second))); err != nil {
		t.Fatalf("the bell did not update itself: %q (%v)", count(), err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#bell`)),
		chromedp.WaitVisible(chromedp.CSS(`#notifications`)),
		chromedp.Click(chromedp.CSS(`#notifications li:last-child button`)),
		chromedp.WaitVisible(chromedp.CSS(`#v-title`)),
	); err != nil {
		t.Fatalf("open the notification: %v", err)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.HasSuffix(loc, "/e/lead/"+strconv.FormatInt(l.ID, 10)) {
		t.Fatalf("opened %s", loc)
	}
	if c := count(); c != "1" {
		t.Fatalf("after reading one the bell shows %q", c)
	}
}
