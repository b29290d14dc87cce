package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestBrowserWeekHours: on a wide screen the week is an hourly grid in
// the user's time zone — an activity's box starts at its time and is as
// tall as it lasts, one it overlaps stands beside it, a task with a due
// date only sits in the all-day row — and a box dragged to an hour moves
// the activity there; at phone width the week stays a list of days.
func TestBrowserWeekHours(t *testing.T) {
	e := newEnvWith(t, storetest.OpenAny(t), func(c *config.Config) { c.TimeZone = "Europe/Moscow" })
	bg := context.Background()
	s := e.app.Store
	b := e.browser()
	b.signIn()
	// The user works in Yekaterinburg (UTC+5); the server's zone is not it.
	if p := b.post("/settings", url.Values{"time_zone": {"Asia/Yekaterinburg"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("my zone: %d", p.Status)
	}
	utc := func(d, h, m int) *time.Time { v := time.Date(2026, 12, d, h, m, 0, 0, time.UTC); return &v }
	long, err := s.CreateActivity(bg, e.admin, crm.Activity{Kind: "meeting", Subject: "Встреча на объекте", StartAt: utc(9, 5, 30), EndAt: utc(9, 7, 0)})
	if err != nil {
		t.Fatal(err)
	}
	short, err := s.CreateActivity(bg, e.admin, crm.Activity{Kind: "call", Subject: "Звонок", StartAt: utc(9, 6, 0), EndAt: utc(9, 6, 30)})
	if err != nil {
		t.Fatal(err)
	}
	task, err := s.CreateActivity(bg, e.admin, crm.Activity{Kind: "task", Subject: "Сдать отчёт", EndAt: utc(10, 7, 0)})
	if err != nil {
		t.Fatal(err)
	}
	id := func(a crm.Activity) string { return strconv.FormatInt(a.ID, 10) }
	bs := newBrowserSession(t, e)
	week := e.srv.URL + "/calendar?view=week&date=2026-12-09&user=0"
	bs.run("wide", chromedp.EmulateViewport(1366, 768), chromedp.Navigate(week), chromedp.WaitVisible(chromedp.CSS(`#week-grid`)))
	bs.run("shot", shot(bs.dir, "calendar-week"))
	// Geometry, in pixels, relative to the 10:00 hour of Wednesday (10:30
	// in Yekaterinburg is 05:30 UTC).
	geo := bs.eval(`(function(){
		const hour = document.querySelector('#wk-col-2026-12-09 .wk-hour[data-time="10:00"]').getBoundingClientRect();
		const a = document.getElementById('wk-ev-` + id(long) + `').closest('.wk-box').getBoundingClientRect();
		const b = document.getElementById('wk-ev-` + id(short) + `').closest('.wk-box').getBoundingClientRect();
		const col = document.getElementById('wk-col-2026-12-09').getBoundingClientRect();
		const r = (x) => Math.round(x * 10) / 10;
		const out = [];
		if (Math.abs(a.top - (hour.top + hour.height / 2)) > 2) out.push("10:30 box top " + r(a.top) + ", hour 10 at " + r(hour.top) + "+" + r(hour.height));
		if (Math.abs(a.height - 1.5 * hour.height) > 2) out.push("90 min box " + r(a.height) + " px, hour " + r(hour.height));
		if (Math.abs(b.top - (hour.top + hour.height)) > 2) out.push("11:00 box top " + r(b.top));
		if (Math.abs(b.height - hour.height / 2) > 2) out.push("30 min box " + r(b.height));
		if (!(b.left >= a.right - 3)) out.push("overlapping boxes not side by side: " + r(a.left) + "–" + r(a.right) + " and " + r(b.left) + "–" + r(b.right));
		if (a.left < col.left - 1 || b.right > col.right + 1) out.push("boxes outside their day");
		if (document.querySelector('.cal-weeklist').offsetParent !== null) out.push("the list of days shows on a wide screen");
		if (!document.querySelector('#wk-all-2026-12-10 #wk-ev-` + id(task) + `')) out.push("the due-date task is not in Thursday's all-day row");
		return out.join("; ");
	})()`)
	if geo != "" {
		t.Fatal(geo)
	}
	bs.noHorizontalScroll("week by hours")

	// Drag the meeting to Friday 15:00 (10:00 UTC), keeping its 90 minutes.
	if _, err := chromedp.Run(bs.ctx, chromedp.Evaluate[bool](`(function(){
		const ev = document.getElementById('wk-ev-`+id(long)+`');
		const slot = document.querySelector('#wk-col-2026-12-11 .wk-hour[data-time="15:00"]');
		const dt = new DataTransfer();
		ev.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: dt}));
		slot.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: dt}));
		slot.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: dt}));
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got, _ := s.GetActivity(bg, long.ID)
		if got.StartAt != nil && got.StartAt.Equal(*utc(11, 10, 0)) && got.EndAt != nil && got.EndAt.Sub(*got.StartAt) == 90*time.Minute {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the drop: %v – %v, want Friday 15:00 Yekaterinburg for 90 minutes", got.StartAt, got.EndAt)
		}
	}
	navigateAfterSubmit(bs.ctx, week)
	bs.run("after the drop", chromedp.WaitVisible(chromedp.CSS(`#wk-col-2026-12-11 #wk-ev-`+id(long))))

	// A phone: the week is the list of days, with no sideways scroll.
	bs.run("phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(week), chromedp.WaitVisible(chromedp.CSS(`#calendar #ev-`+id(short))))
	if shown := bs.eval(`(function(){ return (document.getElementById('week-grid').offsetParent === null) + " " + (document.getElementById('calendar').offsetParent !== null) })()`); shown != "true true" {
		t.Fatalf("at 390 px the grid is hidden and the list shown: %s", shown)
	}
	bs.noHorizontalScroll("week at phone width")
}

// navigateAfterSubmit opens url in a tab whose form (a drop's move) was
// just submitted: the browser may still be following the submit's
// redirect when the database shows the change, and that navigation can
// abort this one (net::ERR_ABORTED) — it is tried again then; what the
// page must show is waited for by the caller.
func navigateAfterSubmit(ctx context.Context, url string) {
	for try := 1; try <= 3; try++ {
		if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}
