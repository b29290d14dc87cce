package crm

import (
	"slices"
	"time"

	"github.com/teambition/rrule-go"
)

// ActivityICal is what a CalDAV client said of an activity beyond the
// activity's own fields, so that the event or task it reads back is the
// one it wrote: its UID and resource name, the time zone its times were
// written in, the recurrence, and every property and component the CRM
// has no field for (VALARM, ATTENDEE, LOCATION, RECURRENCE-ID overrides…).
// An activity made in the CRM has none until a client writes it.
type ActivityICal struct {
	ActivityID int64 `json:"activity_id"`
	// UID is the iCalendar UID; Href the resource name the client PUT it
	// under ("" for the default "<id>.ics").
	UID  string `json:"uid"`
	Href string `json:"href"`
	// TZID names the zone of DTSTART/DTEND ("" UTC); Floating marks times
	// written without a zone, AllDay dates without a time.
	TZID     string `json:"tzid"`
	Floating bool   `json:"floating"`
	AllDay   bool   `json:"all_day"`
	// RRule is the RRULE value; ExDates the excluded occurrences.
	RRule   string      `json:"rrule"`
	ExDates []time.Time `json:"exdates"`
	// Timezones holds the VTIMEZONE components the client sent and Extra
	// the other kept properties and components, both as JSON written and
	// read by internal/dav/caldav.
	Timezones string `json:"timezones"`
	Extra     string `json:"extra"`
}

// MaxOccurrences caps the occurrences Occurrences lists for one range.
const MaxOccurrences = 400

// Occurrences are the starts of a recurring activity's occurrences in
// [from, to): its RRULE laid from its start in the zone its times were
// written in (x.TZID; else loc, the zone the user sees), less its
// EXDATEs. The activity's own start is among them when in range. None
// when it has no rule, no start, or a rule that does not read.
func Occurrences(a Activity, x ActivityICal, loc *time.Location, from, to time.Time) []time.Time {
	if x.RRule == "" || a.StartAt == nil || !a.StartAt.Before(to) {
		return nil
	}
	opt, err := rrule.StrToROption(x.RRule)
	if err != nil {
		return nil
	}
	zone := loc
	if x.TZID != "" {
		if l, err := time.LoadLocation(x.TZID); err == nil {
			zone = l
		}
	}
	opt.Dtstart = a.StartAt.In(zone)
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return nil
	}
	// An occurrence that began before from but lasts into it is shown.
	length := time.Duration(0)
	if a.EndAt != nil && a.EndAt.After(*a.StartAt) {
		length = a.EndAt.Sub(*a.StartAt)
	}
	var out []time.Time
	it := r.Iterator()
	// A rule of every minute laid from years ago is not walked to the end.
	steps := 0
	for t, ok := it(); ok && t.Before(to) && len(out) < MaxOccurrences && steps < 200_000; t, ok = it() {
		steps++
		if t.Add(length).Before(from) || (length > 0 && t.Add(length).Equal(from)) {
			continue
		}
		if slices.ContainsFunc(x.ExDates, func(d time.Time) bool { return d.Equal(t) }) {
			continue
		}
		out = append(out, t.UTC())
	}
	return out
}
