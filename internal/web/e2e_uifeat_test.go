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
	e := newEnv(t, storetest.OpenAny(t))
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
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
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

	// Kanban: 55 deals in a stage; the column shows 50, "show more" (by
	// the keyboard) brings the rest, and a card it brought drags.
	var lastID int64
	for i := range 55 {
		d, err := s.CreateDeal(bg, e.admin, crm.Deal{Title: "Поставка " + strconv.Itoa(i), StageID: "NEW", Opportunity: 10000})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			lastID = d.ID // the oldest change: on the second page
		}
	}
	run("kanban",
		chromedp.Navigate(base+"/kanban"),
		chromedp.WaitVisible(chromedp.CSS(`.column[data-stage="NEW"] button.more`)),
	)
	waitJS("first page", `document.querySelectorAll('.column[data-stage="NEW"] .kcard').length === 50`)
	run("show more",
		chromedp.Focus(chromedp.CSS(`.column[data-stage="NEW"] button.more`)),
		chromedp.KeyEvent(kb.Enter),
	)
	waitJS("second page", `document.querySelectorAll('.column[data-stage="NEW"] .kcard').length === 55 && !document.querySelector('.column[data-stage="NEW"] button.more')`)
	if c, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#count-NEW`))); err != nil || c != "55" {
		t.Errorf("NEW count %q (%v)", c, err)
	}
	dealCard := `#deal-` + strconv.FormatInt(lastID, 10)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){
			const card = document.querySelector(`+strconv.Quote(dealCard)+`);
			const col = document.querySelector('.column[data-stage="PREPARATION"]');
			const dt = new DataTransfer();
			card.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: dt}));
			col.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: dt}));
			col.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: dt}));
			return true;
		})()`)); err != nil {
		t.Fatalf("drop: %v", err)
	}
	run("after drop", chromedp.WaitVisible(chromedp.CSS(`.column[data-stage="PREPARATION"] `+dealCard)))
	if d, _ := s.GetDeal(bg, lastID); d.StageID != "PREPARATION" {
		t.Fatalf("a card from 'show more' dropped: stage %q", d.StageID)
	}

	// Calendar: drag an activity to the next day (it keeps its time),
	// then to 15:00 of the day view, then move it with the keyboard.
	day := time.Now()
	if day.Day() > 20 {
		day = day.AddDate(0, 0, -10) // keep tomorrow inside the month shown
	}
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.Local)
	start, end := day.Add(10*time.Hour+30*time.Minute), day.Add(11*time.Hour)
	act, err := s.CreateActivity(bg, e.admin, crm.Activity{Kind: "call", Subject: "Позвонить прорабу", StartAt: &start, EndAt: &end})
	if err != nil {
		t.Fatal(err)
	}
	ev := `#ev-` + strconv.FormatInt(act.ID, 10)
	drag := func(step, target string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){
				const ev = document.querySelector(`+strconv.Quote(ev)+`);
				const slot = document.querySelector(`+strconv.Quote(target)+`);
				const dt = new DataTransfer();
				ev.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: dt}));
				slot.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: dt}));
				slot.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: dt}));
				return true;
			})()`)); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	at := func(want time.Time) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			a, _ := s.GetActivity(bg, act.ID)
			if a.StartAt != nil && a.StartAt.Equal(want) && a.EndAt != nil && a.EndAt.Sub(*a.StartAt) == 30*time.Minute {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("activity at %v – %v, want %v and 30 minutes", a.StartAt, a.EndAt, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	tomorrow := day.AddDate(0, 0, 1)
	navigateAfterSubmit(ctx, base+"/calendar?view=month&date="+day.Format(time.DateOnly))
	run("calendar month", chromedp.WaitVisible(chromedp.CSS(ev)))
	drag("drag to tomorrow", `.cal-day[data-date="`+tomorrow.Format(time.DateOnly)+`"]`)
	at(tomorrow.Add(10*time.Hour + 30*time.Minute))
	navigateAfterSubmit(ctx, base+"/calendar?view=day&date="+tomorrow.Format(time.DateOnly))
	run("calendar day", chromedp.WaitVisible(chromedp.CSS(ev)))
	drag("drag to 15:00", `tr.cal-slot[data-time="15:00"]`)
	at(tomorrow.Add(15 * time.Hour))
	// The keyboard: ⇄ (a summary), the date and time, Enter.
	mv := `#mv-` + strconv.FormatInt(act.ID, 10)
	run("keyboard move",
		chromedp.WaitVisible(chromedp.CSS(`tr.cal-slot[data-time="15:00"] `+ev)),
		chromedp.Focus(chromedp.CSS(ev+` summary`)),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(mv)),
		chromedp.SetValue(chromedp.CSS(mv), day.Format(time.DateOnly)+"T09:15"),
		chromedp.Focus(chromedp.CSS(mv)),
		chromedp.KeyEvent(kb.Enter),
	)
	at(day.Add(9*time.Hour + 15*time.Minute))
	// A click on an empty part of a day opens a new activity then.
	navigateAfterSubmit(ctx, base+"/calendar?view=day&date="+day.Format(time.DateOnly))
	run("click empty slot",
		chromedp.WaitVisible(chromedp.CSS(`tr.cal-slot[data-time="13:00"]`)),
		chromedp.Click(chromedp.CSS(`tr.cal-slot[data-time="13:00"] td`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-subject`)),
	)
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#f-start_at`))); err != nil || v != day.Format(time.DateOnly)+"T13:00" {
		t.Errorf("new activity from an empty slot starts at %q (%v)", v, err)
	}
}
