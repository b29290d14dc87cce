package crm

import "time"

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
