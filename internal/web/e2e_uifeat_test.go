package web_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestBrowserInlineKanbanCalendar drives real Chromium through the card's
// in-place editing (mouse and keyboard: Enter saves, Escape cancels,
// leaving the field saves, an error shows beside the field), the
// kanban's "show more", and moving an activity on the calendar (drag and
// drop, and the keyboard's date and time input).
func TestBrowserInlineKanbanCalendar(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	ctx := newChrome(t)
	base := e.srv.URL
	s := e.app.Store
	bg := context.Background()
	l, err := s.CreateLead(bg, e.admin, crm.Lead{Title: "Заявка на кирпич", Name: "Анна"})
	if err != nil {
		t.Fatal(err)
	}
	clear := func(sel string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`(function(){ const el = document.querySelector(`+strconv.Quote(sel)+`); el.value = ""; return true })()`)(ctx, t)
			return err
		})
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	waitJS := func(step, cond string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("%s: waiting for %s: %v", step, cond, err)
		}
	}
	// focused waits a little for the focus to reach want (htmx settles
	// the swapped content a moment after it shows) and returns where it is.
	focused := func(want string) string {
		t.Helper()
		_, _ = chromedp.Run(ctx, chromedp.Poll[bool](`document.activeElement && document.activeElement.id === `+strconv.Quote(want),
			chromedp.WithPollingTimeout(3*time.Second)))
		id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	run("sign in",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
		chromedp.SendKeys(chromedp.CSS(`#login`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#password`), adminPassword+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#h-today`)),
	)
	card := base + "/e/lead/" + strconv.FormatInt(l.ID, 10)

	// Mouse: click the title, type, Enter saves.
	run("inline title",
		chromedp.Navigate(card),
		chromedp.WaitVisible(chromedp.CSS(`#v-title`)),
		chromedp.Click(chromedp.CSS(`#v-title`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-title`)),
	)
	if f := focused("f-title"); f != "f-title" {
		t.Fatalf("after a click on the value the focus is on %q", f)
	}
	run("type title",
		clear(`#f-title`),
		chromedp.SendKeys(chromedp.CSS(`#f-title`), "Заявка на 5000 кирпичей"+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#v-title`)),
	)
	waitJS("title saved", `document.querySelector('#v-title').textContent.includes('5000 кирпичей')`)
	if got, _ := s.GetLead(bg, l.ID); got.Title != "Заявка на 5000 кирпичей" {
		t.Fatalf("title after Enter: %q", got.Title)
	}
	if f := focused("v-title"); f != "v-title" {
		t.Errorf("after saving the focus is on %q, want the value again", f)
	}

	// Keyboard only: Tab to the name, Enter opens it, Escape cancels.
	run("keyboard open",
		chromedp.Focus(chromedp.CSS(`#v-name`)),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#f-name`)),
	)
	if f := focused("f-name"); f != "f-name" {
		t.Fatalf("after Enter on the value the focus is on %q", f)
	}
	run("escape",
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "ЗАБЫТЬ"),
		chromedp.KeyEvent(kb.Escape),
		chromedp.WaitVisible(chromedp.CSS(`#v-name`)),
	)
	if got, _ := s.GetLead(bg, l.ID); got.Name != "Анна" {
		t.Fatalf("Escape saved the name: %q", got.Name)
	}
	if f := focused("v-name"); f != "v-name" {
		t.Errorf("after Escape the focus is on %q", f)
	}

	// A bad e-mail: the error beside the field, nothing saved.
	run("bad e-mail",
		chromedp.Click(chromedp.CSS(`#v-emails`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-emails`)),
		chromedp.SendKeys(chromedp.CSS(`#f-emails`), "не-адрес"+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#e-emails`)),
	)
	if got, _ := s.GetLead(bg, l.ID); len(got.Emails) != 0 {
		t.Fatalf("a bad e-mail was saved: %+v", got.Emails)
	}
	// Correct it; leaving the field saves: Tab goes to its "Save" and
	// "Cancel" buttons, the third Tab out of it.
	run("fix e-mail",
		clear(`#f-emails`),
		chromedp.SendKeys(chromedp.CSS(`#f-emails`), "anna@example.ru"),
		chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent(kb.Tab),
	)
	waitJS("e-mail saved on blur", `document.querySelector('#v-emails') !== null && document.querySelector('#v-emails').textContent.includes('anna@example.ru')`)
	if got, _ := s.GetLead(bg, l.ID); len(got.Emails) != 1 || got.Emails[0].Value != "anna@example.ru" {
		t.Fatalf("e-mail after blur: %+v", got.Emails)
	}
	run("inline screenshot", chromedp.Click(chromedp.CSS(`#v-comments`)), chromedp.WaitVisible(chromedp.CSS(`#f-comments`)), shot(t.TempDir(), "inline"))
}
