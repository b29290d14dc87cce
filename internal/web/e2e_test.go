package web_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the end-to-end screenshots into docs/screenshots")

// chromiumPath is Debian's Chromium, installed by scripts/test.sh.
const chromiumPath = "/usr/bin/chromium"

// newChrome starts a headless Chromium with a fresh profile.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing: install it with `apt-get install -y chromium` (scripts/test.sh does)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "ru-RU"),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// shot saves a full-page screenshot at the emulated width: into
// docs/screenshots with -update-screenshots, else into the test's
// temporary directory (OBMEN_SHOT_DIR keeps them). The clip is the
// window's width: headless Chromium's scrollbar takes 15 px of it (a
// phone's overlays the page), and chromedp's FullScreenshot cut that much
// off the right edge of a page at 390 px.
func shot(dir, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		size, err := chromedp.Evaluate[[]float64](`[window.innerWidth, document.documentElement.scrollHeight]`)(ctx, t)
		if err != nil {
			return err
		}
		r, err := cdp.Call(ctx, t, cdppage.CaptureScreenshot, cdppage.CaptureScreenshotParams{
			CaptureBeyondViewport: new(true), FromSurface: new(true), Format: cdppage.CaptureScreenshotFormatPng,
			Clip: &cdppage.Viewport{Width: size[0], Height: size[1], Scale: 1},
		})
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), r.Data, 0o644)
	})
}

// TestBrowserEndToEnd drives real Chromium against the real server:
// keyboard sign-in, create a lead, convert it, move the deal on the
// kanban (drag and drop, then the keyboard path), delete and restore a
// contact, and a CSRF-less POST from the page is refused.
func TestBrowserEndToEnd(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	ctx := newChrome(t)
	dir := t.TempDir()
	if *updateScreenshots {
		dir = filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	base := e.srv.URL
	s := e.app.Store
	bg := context.Background()
	// Some records so that the pages have something to show.
	for i, n := range []string{"Заявка с сайта: кирпич", "Звонок: доставка песка", "Письмо: счёт на плитку"} {
		if _, err := s.CreateLead(bg, e.admin, crm.Lead{Title: n, Name: []string{"Анна", "Олег", "Мария"}[i], Opportunity: crm.Amount(150000 * (i + 1)),
			Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 900 000-00-1" + strconv.Itoa(i)}}}}); err != nil {
			t.Fatal(err)
		}
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}

	// Sign in with the keyboard only: the login field has focus, Tab to
	// the password, Enter submits.
	run("sign in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
		shot(dir, "login"),
		chromedp.Focus(chromedp.CSS(`#login`)),
		chromedp.KeyEvent("admin"),
		chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent(adminPassword),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#h-today`)),
		shot(dir, "home"),
	)

	// Create a lead through the form.
	run("create lead",
		chromedp.Navigate(base+"/e/lead"),
		chromedp.WaitVisible(chromedp.CSS(`#list`)),
		shot(dir, "leads"),
		chromedp.Click(chromedp.CSS(`#new-record`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-title`)),
		chromedp.SendKeys(chromedp.CSS(`#f-title`), "Заявка: 10 тонн цемента"),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "Иван"),
		chromedp.SendKeys(chromedp.CSS(`#f-last_name`), "Петров"),
		chromedp.SendKeys(chromedp.CSS(`#f-company_title`), "ООО Стройка"),
		chromedp.SendKeys(chromedp.CSS(`#f-phones`), "+7 912 345-67-89"),
		chromedp.SendKeys(chromedp.CSS(`#f-emails`), "ivan@stroika.example"),
		chromedp.SendKeys(chromedp.CSS(`#f-opportunity`), "250000"),
		chromedp.Click(chromedp.CSS(`#save`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if loc := location(); !strings.Contains(loc, "/e/lead/") {
		t.Fatalf("after create at %s", loc)
	}
	leads, _, err := s.ListLeads(bg, store.ListParams{Q: "цемента"})
	if err != nil || len(leads) != 1 || leads[0].Phones[0].Normalized != "+79123456789" {
		t.Fatalf("lead from the browser: %+v %v", leads, err)
	}
	leadID := leads[0].ID
	run("card", shot(dir, "lead-card"))

	// Convert it (deal + contact + account).
	run("convert",
		chromedp.Click(chromedp.CSS(`#convert`)),
		chromedp.WaitVisible(chromedp.CSS(`#convert-form`)),
		shot(dir, "convert"),
		chromedp.Click(chromedp.CSS(`#convert-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	l, _ := s.GetLead(bg, leadID)
	if loc := location(); l.DealID == 0 || l.ContactID == 0 || l.AccountID == 0 || !strings.Contains(loc, "/e/deal/"+strconv.FormatInt(l.DealID, 10)) {
		t.Fatalf("converted lead %+v, at %s", l, loc)
	}
	// The deal's product rows: totals follow the typing (htmx), then save.
	run("line items",
		chromedp.SendKeys(chromedp.CSS(`#in-0`), "Цемент М500"),
		chromedp.SendKeys(chromedp.CSS(`#ip-0`), "450"),
		chromedp.SendKeys(chromedp.CSS(`#iq-0`), "3"),
	)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('#t-total').textContent.trim() === '1\u00a0350,00'`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("live total: %v", err)
	}
	run("deal card", shot(dir, "deal-card"))
	// The card already shows the conversion's flash: wait for the page
	// the save leads to, not for any flash.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.beforeSave = true`)); err != nil {
		t.Fatal(err)
	}
	run("save rows", chromedp.Click(chromedp.CSS(`#items-save`)))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		// Errors while the page navigates are expected: ask again.
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.beforeSave && document.querySelector('.flash') !== null`))
		if err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new page after saving the rows: %v", err)
		}
	}
	if d, _ := s.GetDeal(bg, l.DealID); len(d.ProductRows) != 1 || d.Opportunity.String() != "1350.00" && d.ProductRows[0].Sum.String() != "1350.00" {
		t.Fatalf("deal rows after save: %+v", d.ProductRows)
	}

	// Kanban: drag the card to "Подготовка документов" …
	card := `#deal-` + strconv.FormatInt(l.DealID, 10)
	run("kanban drag",
		chromedp.Navigate(base+"/kanban"),
		chromedp.WaitVisible(chromedp.CSS(card)),
		shot(dir, "kanban"),
	)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){
			const card = document.querySelector(`+strconv.Quote(card)+`);
			const col = document.querySelector('.column[data-stage="PREPARATION"]');
			const dt = new DataTransfer();
			card.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: dt}));
			col.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: dt}));
			col.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: dt}));
			return true;
		})()`)); err != nil {
		t.Fatalf("drop: %v", err)
	}
	run("kanban after drop",
		chromedp.WaitVisible(chromedp.CSS(`.column[data-stage="PREPARATION"] `+card)),
	)
	if d, _ := s.GetDeal(bg, l.DealID); d.StageID != "PREPARATION" {
		t.Fatalf("after drop the deal is at %q", d.StageID)
	}
	// … then with the keyboard: the card's stage select and "Move".
	sel := `#stage-` + strconv.FormatInt(l.DealID, 10)
	run("kanban keyboard",
		chromedp.SetValue(chromedp.CSS(sel), "EXECUTING"),
		chromedp.Focus(chromedp.CSS(card+` form.move button`)),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`.column[data-stage="EXECUTING"] `+card)),
	)
	if d, _ := s.GetDeal(bg, l.DealID); d.StageID != "EXECUTING" {
		t.Fatalf("after the keyboard move the deal is at %q", d.StageID)
	}

	// Delete the new contact and restore it from the recycle bin.
	cid := strconv.FormatInt(l.ContactID, 10)
	run("delete contact",
		chromedp.Navigate(base+"/e/contact/"+cid),
		chromedp.WaitVisible(chromedp.CSS(`#delete`)),
		chromedp.Click(chromedp.CSS(`#delete`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		chromedp.Navigate(base+"/recycle"),
		chromedp.WaitVisible(chromedp.CSS(`#bin-contact-`+cid)),
		shot(dir, "recycle"),
		chromedp.Click(chromedp.CSS(`#bin-contact-`+cid+` button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if c, err := s.GetContact(bg, l.ContactID); err != nil || c.DeletedAt != nil {
		t.Fatalf("restored contact: %+v %v", c, err)
	}

	// A POST without the CSRF token, made from the page with the cookie,
	// is refused and writes nothing.
	run("csrf-less post", chromedp.Navigate(base+"/e/lead"), chromedp.WaitVisible(chromedp.CSS(`#list`)))
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch('/e/lead/new', {method: 'POST', body: new URLSearchParams({title: 'подделка'})}).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if status != 403 {
		t.Fatalf("CSRF-less POST: %d", status)
	}
	if ls, _, _ := s.ListLeads(bg, store.ListParams{Q: "подделка"}); len(ls) != 0 {
		t.Fatal("the refused POST wrote a lead")
	}

	// Every validation error is shown beside its field, with what was
	// typed kept.
	run("field error",
		chromedp.Navigate(base+"/e/lead/new"),
		chromedp.WaitVisible(chromedp.CSS(`#f-title`)),
		chromedp.SendKeys(chromedp.CSS(`#f-title`), "Проверка"),
		chromedp.SendKeys(chromedp.CSS(`#f-emails`), "не-адрес"),
		chromedp.SendKeys(chromedp.CSS(`#f-phones`), "12"),
		chromedp.SendKeys(chromedp.CSS(`#f-opportunity`), "много"),
		chromedp.Click(chromedp.CSS(`#save`)),
		chromedp.WaitVisible(chromedp.CSS(`#e-emails`)),
		shot(dir, "field-error"),
	)
	for sel, want := range map[string]string{"#e-emails": "не адрес электронной почты", "#e-phones": "не номер телефона", "#e-opportunity": "Нужно число"} {
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, want) {
			t.Fatalf("error %s: %q, want %q", sel, text, want)
		}
	}
	if kept, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#f-opportunity`))); err != nil || kept != "много" {
		t.Fatalf("typed amount not kept: %q %v", kept, err)
	}
	// The other main pages render and are screenshotted.
	at := time.Now().Truncate(time.Hour).Add(time.Hour)
	if _, err := s.CreateActivity(bg, e.admin, crm.Activity{Kind: "call", Subject: "Перезвонить Петрову", StartAt: &at}); err != nil {
		t.Fatal(err)
	}
	for _, pg := range []struct{ path, wait, name string }{
		{"/calendar", "#calendar", "calendar"},
		{"/integrations", "#integrations", "integrations"},
		{"/import?entity=lead", "#upload", "import"},
		{"/admin/users", "#users", "users"},
		{"/admin/dict", "#statuses", "dictionaries"},
		{"/e/deal?sort=-created_at", "#list", "deals"},
	} {
		run(pg.name, chromedp.Navigate(base+pg.path), chromedp.WaitVisible(chromedp.CSS(pg.wait)), shot(dir, pg.name))
	}

	// Keyboard only: from the top of a page, Tab reaches the skip link
	// first, and Enter on it moves to the content.
	run("skip link", chromedp.Navigate(base+"/e/lead"), chromedp.WaitVisible(chromedp.CSS(`#list`)), chromedp.KeyEvent(kb.Tab))
	focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.className`))
	if err != nil || focused != "skip" {
		t.Fatalf("first Tab focuses %q (%v), want the skip link", focused, err)
	}
}
