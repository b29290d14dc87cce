package web

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

type calItem struct {
	ID                  int64
	Time, Subject, Link string
	Start               string // the start as a datetime-local input holds it
	Done                bool
	// Booking: a resource booking's event in a user's calendar (moved
	// with the booking, not here); Key sets its element id apart, as one
	// booking is in the calendar of each user involved.
	Booking bool
	Key     string
	Detail  string // the booking's resources, time and service
	// Repeat: an occurrence of a recurring activity other than its first
	// (a link to the activity; not moved on its own).
	Repeat bool
}

// calEntry is an activity or a booking's event as the views place it.
type calEntry struct {
	item       calItem
	start, end time.Time // end == start: no length
	noTime     bool      // an activity with a due date only (all day)
}

// calEvView is what the "cal-ev" template gets: the page and an item;
// Prefix sets its element ids apart where an item is shown twice (the
// week's hourly grid beside its list of days).
type calEvView struct {
	V      *view
	Item   calItem
	Prefix string
}

type calDay struct {
	Date    string // YYYY-MM-DD
	Label   string
	Weekday string // its weekday's short name, shown on a phone
	Other   bool   // outside the month shown
	Today   bool
	Items   []calItem
	NewURL  string
	DayURL  string
	Hour    int // day view: the hour of this slot
	HourTxt string
}

type calendarData struct {
	View, Date, User string
	Title            string
	Users            []option
	Weekdays         []string
	Days             []calDay
	Week             *weekGrid // the week view's hourly grid (wide screens)
	PrevURL, NextURL string
	TodayURL         string
	Views            []option
	Here             string // this calendar's URL, where a move comes back to
}

var weekdays = map[string][]string{
	"ru": {"Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"},
	"en": {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"},
}

// calendar shows activities by month, week or day, of one user or of all;
// every day (and every hour of a day) has a link that creates an activity
// starting then.
func (u *UI) calendar(w http.ResponseWriter, r *http.Request, rq *request) {
	q := r.URL.Query()
	view := q.Get("view")
	if view != "day" && view != "week" {
		view = "month"
	}
	now := time.Now().In(rq.Loc)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, rq.Loc)
	if d, err := time.ParseInLocation(time.DateOnly, q.Get("date"), rq.Loc); err == nil {
		day = d
	}
	userID := rq.User.ID
	if v := q.Get("user"); v != "" {
		userID, _ = strconv.ParseInt(v, 10, 64)
	}
	var from, to, prev, next time.Time
	switch view {
	case "day":
		from, to = day, day.AddDate(0, 0, 1)
		prev, next = day.AddDate(0, 0, -1), day.AddDate(0, 0, 1)
	case "week":
		from = day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
		to = from.AddDate(0, 0, 7)
		prev, next = day.AddDate(0, 0, -7), day.AddDate(0, 0, 7)
	default:
		first := time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, rq.Loc)
		from = first.AddDate(0, 0, -((int(first.Weekday()) + 6) % 7))
		to = from.AddDate(0, 0, 42)
		prev, next = first.AddDate(0, -1, 0), first.AddDate(0, 1, 0)
	}
	acts, err := u.store.Calendar(r.Context(), userID, from.UTC(), to.UTC())
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	books, err := u.store.CalendarBookings(r.Context(), userID, from.UTC(), to.UTC())
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	lk := u.lookupsFor(r.Context(), rq)
	user := strconv.FormatInt(userID, 10)
	link := func(view string, d time.Time) string {
		return "/calendar?" + url.Values{"view": {view}, "date": {d.Format(time.DateOnly)}, "user": {user}}.Encode()
	}
	newURL := func(at time.Time) string {
		return "/e/activity/new?" + url.Values{"start_at": {at.Format(time.RFC3339)}, "assigned_by_id": {user}}.Encode()
	}
	d := calendarData{View: view, Date: day.Format(time.DateOnly), User: user, Weekdays: weekdays[rq.Lang],
		PrevURL: link(view, prev), NextURL: link(view, next), TodayURL: link(view, now), Here: link(view, day)}
	d.Users = append([]option{{"0", rq.T("cal.everyone")}}, lk.options(field{Kind: kUser}, nil, rq.T)[1:]...)
	for _, v := range []string{"month", "week", "day"} {
		d.Views = append(d.Views, option{link(v, day), rq.T("cal." + v)})
	}
	var entries []calEntry
	for _, a := range acts {
		at := a.EndAt
		if a.StartAt != nil {
			at = a.StartAt
		}
		it := calItem{ID: a.ID, Key: "ev-" + strconv.FormatInt(a.ID, 10), Subject: a.Subject, Link: "/e/activity/" + strconv.FormatInt(a.ID, 10), Done: a.Done}
		e := calEntry{item: it, noTime: a.StartAt == nil}
		if at != nil {
			e.start = at.In(rq.Loc)
			e.item.Time = e.start.Format("15:04")
			e.item.Start = e.start.Format("2006-01-02T15:04")
		}
		e.end = e.start
		if a.StartAt != nil && a.EndAt != nil {
			e.end = a.EndAt.In(rq.Loc)
		}
		entries = append(entries, e)
	}
	// A recurring activity (a rule a CalDAV client wrote) is one record:
	// its other occurrences in the range are laid out from its rule, each
	// a link to it, moved only with the whole series (on its card).
	rec, xs, err := u.store.CalendarRecurring(r.Context(), userID, to.UTC())
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	for _, a := range rec {
		for _, at := range crm.Occurrences(a, xs[a.ID], rq.Loc, from.UTC(), to.UTC()) {
			if at.Equal(*a.StartAt) {
				continue // the activity itself, listed above
			}
			start := at.In(rq.Loc)
			it := calItem{ID: a.ID, Key: "ev-" + strconv.FormatInt(a.ID, 10) + "-" + start.Format("20060102T1504"), Subject: a.Subject,
				Link: "/e/activity/" + strconv.FormatInt(a.ID, 10), Time: start.Format("15:04"), Repeat: true}
			e := calEntry{item: it, start: start, end: start}
			if a.EndAt != nil && a.EndAt.After(*a.StartAt) {
				e.end = start.Add(a.EndAt.Sub(*a.StartAt))
			}
			entries = append(entries, e)
		}
	}
	for _, b := range books {
		start := b.StartAt.In(rq.Loc)
		it := calItem{ID: b.ID, Booking: true, Key: "bk-" + strconv.FormatInt(b.ID, 10) + "-" + strconv.FormatInt(b.UserID, 10),
			Subject: b.Title, Time: start.Format("15:04"), Detail: b.Summary(rq.Loc)}
		if userID == 0 {
			it.Subject += " — " + lk.userName(b.UserID)
		}
		if b.Entity != "" {
			it.Link = "/e/" + b.Entity + "/" + strconv.FormatInt(b.RecordID, 10)
		}
		entries = append(entries, calEntry{item: it, start: start, end: b.EndAt.In(rq.Loc)})
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].start.Before(entries[j].start) })
	if view == "day" {
		d.Title = day.Format("02.01.2006")
		for h := 0; h < 24; h++ {
			slot := day.Add(time.Duration(h) * time.Hour)
			cd := calDay{Date: d.Date, Hour: h, HourTxt: slot.Format("15:04"), NewURL: newURL(slot)}
			for _, e := range entries {
				s := e.start
				if (s.Before(day) && h == 0) || (!s.Before(slot) && s.Before(slot.Add(time.Hour))) {
					cd.Items = append(cd.Items, e.item)
				}
			}
			if len(cd.Items) > 0 || (h >= 8 && h <= 20) {
				d.Days = append(d.Days, cd)
			}
		}
	} else {
		n := int(to.Sub(from).Hours()/24 + 0.5)
		if view == "month" {
			d.Title = rq.T("month."+strconv.Itoa(int(day.Month()))) + " " + strconv.Itoa(day.Year())
		} else {
			d.Title = from.Format("02.01") + " – " + to.AddDate(0, 0, -1).Format("02.01.2006")
		}
		for k := 0; k < n; k++ {
			dd := from.AddDate(0, 0, k)
			cd := calDay{Date: dd.Format(time.DateOnly), Label: dd.Format("2"), Weekday: d.Weekdays[(int(dd.Weekday())+6)%7], Other: view == "month" && dd.Month() != day.Month(),
				Today: dd.Format(time.DateOnly) == now.Format(time.DateOnly), NewURL: newURL(dd.Add(9 * time.Hour)), DayURL: link("day", dd)}
			for _, e := range entries {
				if !e.start.Before(dd) && e.start.Before(dd.AddDate(0, 0, 1)) {
					cd.Items = append(cd.Items, e.item)
				}
			}
			d.Days = append(d.Days, cd)
		}
		if view == "week" {
			var spans []weekSpan
			for _, e := range entries {
				spans = append(spans, weekSpan{Item: e.item, AllDay: e.noTime, Start: e.start, End: e.end})
			}
			d.Week = buildWeek(from, spans, d.Days, newURL)
		}
	}
	if lk.err != nil {
		u.failErr(w, r, rq, lk.err)
		return
	}
	u.render(w, r, rq, http.StatusOK, "calendar", rq.T("cal.title"), "calendar", d)
}

// moveActivity reschedules an activity: start_at is the new start (local
// time, as a datetime-local input sends it); the end moves with it, so the
// activity keeps its length. An activity dropped on another day or hour of
// the calendar and the keyboard's "move" form send the same request.
func (u *UI) moveActivity(w http.ResponseWriter, r *http.Request, rq *request) {
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	// Access first: another's activity is not found whatever the form
	// says (a 422 would tell that the id exists).
	if _, err := u.store.GetActivity(r.Context(), id); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	at, err := time.ParseInLocation("2006-01-02T15:04", strings.TrimSpace(r.PostFormValue("start_at")), rq.Loc)
	if err != nil {
		u.fail(w, r, rq, http.StatusUnprocessableEntity, rq.T("f.start_at")+": "+rq.T("err.date"))
		return
	}
	_, err = u.store.UpdateActivity(r.Context(), rq.Actor(), id, func(a *crm.Activity) error {
		start := at.UTC()
		if a.StartAt != nil && a.EndAt != nil {
			end := start.Add(a.EndAt.Sub(*a.StartAt))
			a.EndAt = &end
		}
		a.StartAt = &start
		return nil
	})
	if err != nil {
		if fe, ok := crm.AsFieldError(err); ok {
			u.fail(w, r, rq, http.StatusUnprocessableEntity, rq.T("f."+fe.Field)+": "+fieldMessage(rq, fe))
			return
		}
		u.failErr(w, r, rq, err)
		return
	}
	to := r.PostFormValue("back")
	if !strings.HasPrefix(to, "/calendar?") && to != "/calendar" {
		to = "/calendar"
	}
	back(w, r, to+"#ev-"+strconv.FormatInt(id, 10))
}
