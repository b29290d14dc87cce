package caldav

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/obmen/obmen/internal/crm"
)

// UID is the UID of an activity no client has written.
func UID(activityID int64) string { return "obmen-activity-" + strconv.FormatInt(activityID, 10) }

// BookingUID is the UID of a booking's event.
func BookingUID(bookingID int64) string { return "obmen-booking-" + strconv.FormatInt(bookingID, 10) }

// OnCalendar tells whether an activity is served at all: meetings and
// calls with a time, and every task (a task without a due date is still a
// task); e-mails are not calendar items.
func OnCalendar(a crm.Activity) bool {
	switch a.Kind {
	case crm.ActivityTask:
		return true
	case crm.ActivityMeeting, crm.ActivityCall:
		return a.StartAt != nil || a.EndAt != nil
	}
	return false
}

// Parts are the components of one calendar object: the VTIMEZONEs its
// times name, then the master and its overrides.
type Parts struct {
	Zones []*ical.Component
	Items []*ical.Component
}

// NewCalendar wraps components in a VCALENDAR.
func NewCalendar(ps ...Parts) *ical.Calendar {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropProductID, prodID)
	cal.Props.SetText(ical.PropVersion, "2.0")
	seen := map[string]bool{}
	for _, p := range ps {
		for _, z := range p.Zones {
			id, _ := z.Props.Text(ical.PropTimezoneID)
			if !seen[id] {
				seen[id] = true
				cal.Children = append(cal.Children, z)
			}
		}
	}
	for _, p := range ps {
		cal.Children = append(cal.Children, p.Items...)
	}
	return cal
}

// Encode writes a calendar as iCalendar text.
func Encode(cal *ical.Calendar) ([]byte, error) {
	var b bytes.Buffer
	if err := ical.NewEncoder(&b).Encode(cal); err != nil {
		return nil, fmt.Errorf("caldav: encode: %w", err)
	}
	return b.Bytes(), nil
}

// Activity renders an activity (with what a client kept beside it, x may
// be nil) as a VEVENT or, for a task, a VTODO. loc is the installation's
// zone, in which floating times and all-day dates were read.
func Activity(a crm.Activity, x *crm.ActivityICal, loc *time.Location) (Parts, error) {
	if x == nil {
		x = &crm.ActivityICal{}
	}
	var kept extra
	if x.Extra != "" {
		if err := json.Unmarshal([]byte(x.Extra), &kept); err != nil {
			return Parts{}, fmt.Errorf("caldav: activity %d: kept properties: %w", a.ID, err)
		}
	}
	var parts Parts
	if x.TZID != "" && x.Timezones != "" {
		if err := json.Unmarshal([]byte(x.Timezones), &parts.Zones); err != nil {
			return Parts{}, fmt.Errorf("caldav: activity %d: kept VTIMEZONE: %w", a.ID, err)
		}
	}
	tz := zoneSet{zones: parts.Zones, loc: loc}
	zone, err := tz.writeZone(x)
	if err != nil {
		return Parts{}, fmt.Errorf("caldav: activity %d: %w", a.ID, err)
	}
	if x.UID == "" && zone.tzid == "" && !zone.floating && !zone.allDay && named(loc) && (a.StartAt != nil || a.EndAt != nil) {
		// An activity no client has written: its times in loc, the
		// user's zone, with its TZID and VTIMEZONE, so that a client
		// shows it as the UI does and a weekly meeting keeps its hour
		// across summer time. (What a client wrote keeps its form: a
		// TZID, UTC, or floating — read and written in loc.)
		zone.tzid, zone.loc = loc.String(), loc
		at := a.EndAt
		if a.StartAt != nil {
			at = a.StartAt
		}
		parts.Zones = []*ical.Component{vtimezone(loc, *at)}
	}
	todo := a.Kind == crm.ActivityTask
	c := ical.NewComponent(ical.CompEvent)
	if todo {
		c.Name = ical.CompToDo
	}
	uid := x.UID
	if uid == "" {
		uid = UID(a.ID)
	}
	c.Props.SetText(ical.PropUID, uid)
	c.Props.SetDateTime(ical.PropDateTimeStamp, a.UpdatedAt.UTC())
	if !a.CreatedAt.IsZero() {
		c.Props.SetDateTime(ical.PropCreated, a.CreatedAt.UTC())
	}
	if !a.UpdatedAt.IsZero() {
		c.Props.SetDateTime(ical.PropLastModified, a.UpdatedAt.UTC())
	}
	c.Props.SetText(ical.PropSummary, a.Subject)
	if a.Description != "" {
		c.Props.SetText(ical.PropDescription, a.Description)
	}
	start, end := a.StartAt, a.EndAt
	if !todo && start == nil {
		start = end
	}
	if start != nil {
		c.Props.Set(zone.prop(ical.PropDateTimeStart, *start))
	}
	if end != nil && (todo || start == nil || !end.Equal(*start)) {
		name := ical.PropDateTimeEnd
		if todo {
			name = ical.PropDue
		}
		c.Props.Set(zone.prop(name, *end))
	}
	switch a.Priority {
	case "high":
		c.Props.Set(raw(ical.PropPriority, "1"))
	case "low":
		c.Props.Set(raw(ical.PropPriority, "9"))
	}
	if a.Kind == crm.ActivityCall {
		c.Props.Set(raw(PropKind, crm.ActivityCall))
	}
	if x.RRule != "" && start != nil {
		c.Props.Set(raw(ical.PropRecurrenceRule, x.RRule))
	}
	for _, t := range x.ExDates {
		c.Props.Add(zone.prop(ical.PropExceptionDates, t))
	}
	for name, ps := range kept.Props {
		if handled[name] || (todo && a.Done && (name == ical.PropStatus || name == ical.PropPercentComplete || name == ical.PropCompleted)) {
			continue
		}
		c.Props[name] = ps
	}
	if todo {
		switch {
		case a.Done:
			c.Props.SetText(ical.PropStatus, "COMPLETED")
			at := a.UpdatedAt
			if a.CompletedAt != nil {
				at = *a.CompletedAt
			}
			c.Props.SetDateTime(ical.PropCompleted, at.UTC())
			c.Props.Set(raw(ical.PropPercentComplete, "100"))
		case c.Props.Get(ical.PropStatus) == nil:
			c.Props.SetText(ical.PropStatus, "NEEDS-ACTION")
		case strings.EqualFold(c.Props.Get(ical.PropStatus).Value, "COMPLETED"):
			// Reopened in the CRM.
			c.Props.SetText(ical.PropStatus, "NEEDS-ACTION")
			c.Props.Del(ical.PropPercentComplete)
		}
	}
	c.Children = kept.Children
	parts.Items = append([]*ical.Component{c}, kept.Overrides...)
	if zone.tzid == "" {
		parts.Zones = nil
	}
	return parts, nil
}

// Booking renders a booking as the VEVENT of one user's calendar: under
// that user's title for it, the resources as its LOCATION.
func Booking(b crm.Booking, userID int64) Parts {
	c := ical.NewComponent(ical.CompEvent)
	c.Props.SetText(ical.PropUID, BookingUID(b.ID))
	c.Props.SetDateTime(ical.PropDateTimeStamp, b.UpdatedAt.UTC())
	if !b.CreatedAt.IsZero() {
		c.Props.SetDateTime(ical.PropCreated, b.CreatedAt.UTC())
	}
	if !b.UpdatedAt.IsZero() {
		c.Props.SetDateTime(ical.PropLastModified, b.UpdatedAt.UTC())
	}
	title, desc := "", ""
	for _, u := range b.Users {
		if u.UserID == userID {
			title, desc = u.Title, u.Description
		}
	}
	names := make([]string, 0, len(b.Resources))
	for _, r := range b.Resources {
		names = append(names, r.Name)
	}
	if title == "" {
		title = b.Service
	}
	if title == "" {
		title = "Бронирование: " + strings.Join(names, ", ")
	}
	c.Props.SetText(ical.PropSummary, title)
	if desc != "" {
		c.Props.SetText(ical.PropDescription, desc)
	}
	if len(names) > 0 {
		c.Props.SetText(ical.PropLocation, strings.Join(names, ", "))
	}
	c.Props.SetDateTime(ical.PropDateTimeStart, b.StartAt.UTC())
	c.Props.SetDateTime(ical.PropDateTimeEnd, b.EndAt.UTC())
	c.Props.SetText(ical.PropTransparency, "OPAQUE")
	return Parts{Items: []*ical.Component{c}}
}

// writeZone is how an object's times are written: in its TZID, floating
// or as dates in loc, or in UTC.
type writeZone struct {
	tzid     string
	loc      *time.Location
	floating bool
	allDay   bool
}

func (z *zoneSet) writeZone(x *crm.ActivityICal) (writeZone, error) {
	w := writeZone{loc: z.loc, floating: x.Floating, allDay: x.AllDay}
	if x.TZID != "" && !x.AllDay {
		l, err := z.location(x.TZID)
		if err != nil {
			return writeZone{}, fmt.Errorf("kept TZID: %w", err)
		}
		w.tzid, w.loc = x.TZID, l
	}
	return w, nil
}

func (w writeZone) prop(name string, t time.Time) *ical.Prop {
	p := ical.NewProp(name)
	switch {
	case w.allDay:
		p.SetValueType(ical.ValueDate)
		p.Value = t.In(w.loc).Format(dateLayout)
	case w.tzid != "":
		p.Params.Set(ical.ParamTimezoneID, w.tzid)
		p.Value = t.In(w.loc).Format(localLayout)
	case w.floating:
		p.Value = t.In(w.loc).Format(localLayout)
	default:
		p.Value = t.UTC().Format(utcLayout)
	}
	return p
}

// raw is a property written as given (SetText would add VALUE=TEXT to
// an integer or an X- property).
func raw(name, value string) *ical.Prop {
	p := ical.NewProp(name)
	p.Value = value
	return p
}
