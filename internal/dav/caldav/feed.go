package caldav

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// DefaultFeedPerIP limits the read-only feed per client address: calendar
// apps poll it every few minutes, a guesser of tokens gets one a second.
func DefaultFeedPerIP() *httpx.Limiter { return httpx.NewLimiter(time.Second, 30) }

// Feed is the read-only iCalendar of a user for apps that only subscribe
// (GET /ical/<token>.ics): their meetings, calls and tasks, and the
// bookings they take part in, as the CalDAV calendars serve them. ctx is
// scoped to the user.
func Feed(ctx context.Context, s *store.Store, loc *time.Location, u crm.User) ([]byte, error) {
	as, xs, err := s.CalendarActivities(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	var parts []Parts
	for _, a := range as {
		if !OnCalendar(a) {
			continue
		}
		x := xs[a.ID]
		p, err := Activity(a, &x, loc)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	bs, err := s.Bookings(ctx, store.BookingFilter{UserID: u.ID, From: time.Now().AddDate(0, -3, 0)})
	if err != nil {
		return nil, fmt.Errorf("caldav: feed bookings of user %d: %w", u.ID, err)
	}
	for _, b := range bs {
		parts = append(parts, Booking(b, u.ID))
	}
	cal := NewCalendar(parts...)
	name := escapeText("Obmen: " + displayName(u))
	cal.Props.Set(raw("X-WR-CALNAME", name))
	cal.Props.Set(raw(ical.PropRefreshInterval, "PT15M"))
	cal.Props.Get(ical.PropRefreshInterval).Params.Set(ical.ParamValue, string(ical.ValueDuration))
	cal.Props.Set(raw("X-PUBLISHED-TTL", "PT15M"))
	if len(cal.Children) == 0 {
		// go-ical refuses an empty VCALENDAR; a subscriber still gets a
		// valid (empty) calendar.
		return []byte("BEGIN:VCALENDAR\r\nPRODID:" + prodID + "\r\nVERSION:2.0\r\nX-WR-CALNAME:" + name + "\r\nEND:VCALENDAR\r\n"), nil
	}
	return Encode(cal)
}

// escapeText writes a TEXT value (RFC 5545 3.3.11).
func escapeText(v string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(v)
}
