package web_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestBrowserBookingCalendar: a resource booking is in the calendar of
// each user involved under that user's own title — in the week's hourly
// grid at its time, and at phone width in the list of days with its
// resources and time under the title — and not in the calendar of a user
// it does not involve. The resources page fits a phone.
func TestBrowserBookingCalendar(t *testing.T) {
	e := newEnvWith(t, storetest.OpenAny(t), func(c *config.Config) { c.TimeZone = "Europe/Moscow" })
	bg := context.Background()
	s := e.app.Store
	anna, err := s.CreateUser(bg, e.admin, crm.User{Login: "anna", FirstName: "Анна", Role: crm.RoleManager, Active: true}, "manager-password")
	if err != nil {
		t.Fatal(err)
	}
	oleg, err := s.CreateUser(bg, e.admin, crm.User{Login: "oleg", FirstName: "Олег", Role: crm.RoleManager, Active: true}, "manager-password")
	if err != nil {
		t.Fatal(err)
	}
	room, err := s.CreateResource(bg, e.admin, crm.Resource{Kind: "room", Name: "Кабинет 2", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	msk := time.FixedZone("MSK", 3*3600)
	b, err := s.CreateBooking(bg, e.admin, crm.Booking{ResourceIDs: []int64{room.ID}, Service: "Приём врача",
		StartAt: time.Date(2026, 12, 9, 11, 0, 0, 0, msk), EndAt: time.Date(2026, 12, 9, 12, 30, 0, 0, msk),
		Users: []crm.BookingUser{{UserID: e.admin.UserID, Title: "Иванова, первичный приём"}, {UserID: anna.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	key := func(u int64) string { return "bk-" + strconv.FormatInt(b.ID, 10) + "-" + strconv.FormatInt(u, 10) }
	cal := func(user int64) string {
		return e.srv.URL + "/calendar?view=week&date=2026-12-09&user=" + strconv.FormatInt(user, 10)
	}
	bs := newBrowserSession(t, e)
	bs.run("wide", chromedp.EmulateViewport(1366, 768), chromedp.Navigate(cal(e.admin.UserID)),
		chromedp.WaitVisible(chromedp.CSS(`#wk-col-2026-12-09 #wk-`+key(e.admin.UserID))))
	bs.run("shot", shot(bs.dir, "calendar-booking"))
	got := bs.eval(`(function(){
		const ev = document.getElementById('wk-` + key(e.admin.UserID) + `');
		const hour = document.querySelector('#wk-col-2026-12-09 .wk-hour[data-time="11:00"]').getBoundingClientRect();
		const box = ev.closest('.wk-box').getBoundingClientRect();
		const out = [];
		if (!ev.textContent.includes('11:00 Иванова, первичный приём')) out.push("text " + ev.textContent.trim());
		if (!ev.title.includes('Кабинет 2 · 09.12.2026 11:00–12:30 · Приём врача')) out.push("title " + ev.title);
		if (Math.abs(box.top - hour.top) > 2) out.push("box at " + box.top + ", 11:00 at " + hour.top);
		if (Math.abs(box.height - 1.5 * hour.height) > 2) out.push("90 min box " + box.height + ", hour " + hour.height);
		if (ev.querySelector('form, [draggable]') || ev.draggable) out.push("a booking is moved here");
		if (document.getElementById('wk-` + key(anna.ID) + `')) out.push("anna's event in the admin's calendar");
		return out.join("; ");
	})()`)
	if got != "" {
		t.Fatal(got)
	}
	bs.noHorizontalScroll("week with a booking")

	// Anna's calendar: her event, titled by the service.
	bs.run("anna", chromedp.Navigate(cal(anna.ID)), chromedp.WaitVisible(chromedp.CSS(`#wk-`+key(anna.ID))))
	if txt := bs.eval(`document.getElementById('wk-` + key(anna.ID) + `').textContent`); !strings.Contains(txt, "11:00 Приём врача") {
		t.Fatalf("anna's event %q", txt)
	}
	// Oleg is not involved.
	bs.run("oleg", chromedp.Navigate(cal(oleg.ID)), chromedp.WaitVisible(chromedp.CSS(`#week-grid`)))
	if n := bs.eval(`String(document.querySelectorAll('.ev.booking').length)`); n != "0" {
		t.Fatalf("%s bookings in oleg's calendar", n)
	}

	// A phone: the list of days, the booking with its resources and time.
	bs.run("phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(cal(e.admin.UserID)),
		chromedp.WaitVisible(chromedp.CSS(`#calendar #`+key(e.admin.UserID))))
	bs.run("phone shot", shot(bs.dir, "calendar-booking-phone"))
	got = bs.eval(`(function(){
		const ev = document.getElementById('` + key(e.admin.UserID) + `');
		const detail = ev.querySelector('.ev-detail');
		const out = [];
		if (detail.offsetParent === null) out.push("the resources and time are hidden");
		if (!detail.textContent.includes('Кабинет 2')) out.push("detail " + detail.textContent);
		if (ev.getBoundingClientRect().right > document.documentElement.clientWidth + 1) out.push("the event sticks out");
		return out.join("; ");
	})()`)
	if got != "" {
		t.Fatal(got)
	}
	bs.noHorizontalScroll("week with a booking at phone width")

	// The administrators' resources page fits a phone too, and keeps to
	// the Content-Security-Policy.
	bs.run("resources", watchCSP(), chromedp.Navigate(e.srv.URL+"/admin/resources"),
		chromedp.WaitVisible(chromedp.CSS(`#res-`+strconv.FormatInt(room.ID, 10)+` input[name=name]`)))
	bs.run("resources shot", shot(bs.dir, "resources-phone"))
	if v := bs.eval(`JSON.stringify(window.__cspViolations || [])`); v != "[]" {
		t.Errorf("the resources page breaks the Content-Security-Policy: %s", v)
	}
	bs.noHorizontalScroll("resources page at phone width")
}
