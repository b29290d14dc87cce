// Package caldav maps activities and bookings to iCalendar and back, and
// serves them as CalDAV calendars (backend.go).
//
// The mapping keeps what a client wrote: the UID, the zone its times were
// written in (TZID with its VTIMEZONE, UTC, floating or all-day dates),
// the RRULE and EXDATEs of a repeating meeting (one activity, not one per
// occurrence), and every property or component the CRM has no field for
// (VALARM, ATTENDEE, LOCATION, RECURRENCE-ID overrides…) in
// crm.ActivityICal, so the object a client reads back is the one it wrote.
package caldav

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"

	"github.com/obmen/obmen/internal/crm"
)

// PropKind tells a call from a meeting among the VEVENTs Obmen serves.
const PropKind = "X-OBMEN-KIND"

// NoSubject is the subject of an event or task written without SUMMARY:
// phones let one save an event with no title, the CRM wants one.
const NoSubject = "(без названия)"

const (
	dateLayout     = "20060102"
	localLayout    = "20060102T150405"
	utcLayout      = "20060102T150405Z"
	prodID         = "-//Obmen//CalDAV//RU"
	maxSubjectRune = 500
)

// Object is a calendar object as a client wrote it: the activity fields it
// gives and what is kept beside them.
type Object struct {
	// Todo is true for a VTODO (a task), false for a VEVENT.
	Todo        bool
	Kind        string // crm.ActivityMeeting, ActivityCall or ActivityTask
	Subject     string
	Description string
	Start, End  *time.Time
	Priority    string // "low", "normal", "high"
	Done        bool
	ICal        crm.ActivityICal
}

// Apply puts the object's fields on a, leaving what iCalendar does not
// carry (the linked record, the call's numbers) as they were.
func (o Object) Apply(a *crm.Activity) {
	switch {
	case o.Todo:
		a.Kind = crm.ActivityTask
		a.Done = o.Done
	case a.Kind == crm.ActivityCall || a.Kind == crm.ActivityMeeting:
		// A client that drops X-OBMEN-KIND does not turn a call into a
		// meeting.
		if o.Kind == crm.ActivityCall {
			a.Kind = o.Kind
		}
	default:
		a.Kind = o.Kind
	}
	a.Subject, a.Description = o.Subject, o.Description
	a.StartAt, a.EndAt = o.Start, o.End
	a.Priority = o.Priority
}

// extra is the JSON of crm.ActivityICal.Extra.
type extra struct {
	Props     ical.Props        `json:"props,omitempty"`
	Children  []*ical.Component `json:"children,omitempty"`
	Overrides []*ical.Component `json:"overrides,omitempty"`
}

// handled are the properties of the master component that map to
// activity fields or are written anew from the activity.
var handled = map[string]bool{
	ical.PropUID: true, ical.PropSummary: true, ical.PropDescription: true,
	ical.PropDateTimeStart: true, ical.PropDateTimeEnd: true, ical.PropDuration: true, ical.PropDue: true,
	ical.PropRecurrenceRule: true, ical.PropExceptionDates: true, ical.PropPriority: true,
	ical.PropDateTimeStamp: true, ical.PropCreated: true, ical.PropLastModified: true, PropKind: true,
}

// Parse reads one calendar object: one VEVENT or VTODO (the master), the
// RECURRENCE-ID overrides that share its UID, and the VTIMEZONEs its times
// name. loc is the installation's zone, in which floating times and
// all-day dates are read. Errors name the component and property at fault.
func Parse(cal *ical.Calendar, loc *time.Location) (Object, error) {
	var master *ical.Component
	var overrides, zones []*ical.Component
	for _, c := range cal.Children {
		switch c.Name {
		case ical.CompTimezone:
			zones = append(zones, c)
		case ical.CompEvent, ical.CompToDo:
			if c.Props.Get(ical.PropRecurrenceID) != nil {
				overrides = append(overrides, c)
				continue
			}
			if master != nil {
				return Object{}, fmt.Errorf("caldav: more than one %s without RECURRENCE-ID: a calendar object holds one event or task", c.Name)
			}
			master = c
		}
	}
	if master == nil {
		if len(overrides) > 0 {
			return Object{}, errors.New("caldav: only RECURRENCE-ID overrides, no master VEVENT or VTODO")
		}
		return Object{}, errors.New("caldav: no VEVENT or VTODO in the calendar object")
	}
	o := Object{Todo: master.Name == ical.CompToDo, Priority: "normal"}
	uid, err := text(master, ical.PropUID)
	if err != nil {
		return Object{}, err
	}
	if uid == "" {
		return Object{}, fmt.Errorf("caldav: %s: UID is missing", master.Name)
	}
	o.ICal.UID = uid
	for _, ov := range overrides {
		if ov.Name != master.Name {
			return Object{}, fmt.Errorf("caldav: a %s override of a %s", ov.Name, master.Name)
		}
		if u, _ := ov.Props.Text(ical.PropUID); u != uid {
			return Object{}, fmt.Errorf("caldav: %s with RECURRENCE-ID: UID %q is not the master's %q", ov.Name, u, uid)
		}
	}
	tz := zoneSet{zones: zones, loc: loc}
	if o.Subject, err = text(master, ical.PropSummary); err != nil {
		return Object{}, err
	}
	if o.Subject = strings.TrimSpace(o.Subject); o.Subject == "" {
		o.Subject = NoSubject
	}
	if r := []rune(o.Subject); len(r) > maxSubjectRune {
		o.Subject = string(r[:maxSubjectRune])
	}
	if o.Description, err = text(master, ical.PropDescription); err != nil {
		return Object{}, err
	}
	if err := o.parseTimes(master, &tz); err != nil {
		return Object{}, err
	}
	if p := master.Props.Get(ical.PropPriority); p != nil {
		n, err := strconv.Atoi(strings.TrimSpace(p.Value))
		if err != nil || n < 0 || n > 9 {
			return Object{}, fmt.Errorf("caldav: %s: PRIORITY %q is not 0–9", master.Name, p.Value)
		}
		switch {
		case n >= 1 && n <= 4:
			o.Priority = "high"
		case n >= 6:
			o.Priority = "low"
		}
	}
	x := extra{Props: ical.Props{}, Overrides: overrides, Children: master.Children}
	o.Kind = crm.ActivityMeeting
	if o.Todo {
		o.Kind = crm.ActivityTask
		o.Done = todoDone(master)
	} else if k, _ := master.Props.Text(PropKind); k == crm.ActivityCall {
		o.Kind = crm.ActivityCall
	}
	for name, ps := range master.Props {
		if handled[name] {
			continue
		}
		if o.Todo && o.Done && (name == ical.PropStatus || name == ical.PropCompleted || name == ical.PropPercentComplete) {
			continue
		}
		if o.Todo && name == ical.PropCompleted {
			continue
		}
		x.Props[name] = ps
	}
	if o.ICal.Extra, err = marshal(x); err != nil {
		return Object{}, err
	}
	if o.ICal.TZID != "" {
		// Only the zone the times are written in is kept: clients send the
		// one they use, and some send their whole database.
		for _, z := range zones {
			if id, _ := z.Props.Text(ical.PropTimezoneID); id == o.ICal.TZID {
				if o.ICal.Timezones, err = marshal([]*ical.Component{z}); err != nil {
					return Object{}, err
				}
				break
			}
		}
	}
	// What is kept must write out again: go-ical's encoder refuses some
	// objects its decoder reads (two SUMMARYs in an override, say).
	a := crm.Activity{Meta: crm.Meta{ID: 1}}
	o.Apply(&a)
	parts, err := Activity(a, &o.ICal, loc)
	if err == nil {
		_, err = Encode(NewCalendar(parts))
	}
	if err != nil {
		return Object{}, fmt.Errorf("caldav: %s %q cannot be served back: %w", master.Name, uid, err)
	}
	return o, nil
}

// todoDone tells a completed task: STATUS:COMPLETED, a COMPLETED time or
// PERCENT-COMPLETE:100.
func todoDone(c *ical.Component) bool {
	if s, _ := c.Props.Text(ical.PropStatus); strings.EqualFold(s, "COMPLETED") {
		return true
	}
	if c.Props.Get(ical.PropCompleted) != nil {
		if s, _ := c.Props.Text(ical.PropStatus); s == "" {
			return true
		}
	}
	if p := c.Props.Get(ical.PropPercentComplete); p != nil && strings.TrimSpace(p.Value) == "100" {
		return true
	}
	return false
}

func text(c *ical.Component, name string) (string, error) {
	p := c.Props.Get(name)
	if p == nil {
		return "", nil
	}
	s, err := p.Text()
	if err != nil {
		return "", fmt.Errorf("caldav: %s: %s: %w", c.Name, name, err)
	}
	// PostgreSQL refuses invalid UTF-8; a client in another charset
	// loses the odd byte, not the whole event.
	return strings.ToValidUTF8(s, "\uFFFD"), nil
}

func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("caldav: keep unknown properties: %w", err)
	}
	return string(b), nil
}

// parseTimes reads DTSTART, DTEND/DURATION (DUE for a task), RRULE and
// EXDATE; the zone of DTSTART is the object's zone.
func (o *Object) parseTimes(c *ical.Component, tz *zoneSet) error {
	start, err := tz.instant(c, ical.PropDateTimeStart, &o.ICal, true)
	if err != nil {
		return err
	}
	endName := ical.PropDateTimeEnd
	if o.Todo {
		endName = ical.PropDue
	}
	end, err := tz.instant(c, endName, &o.ICal, start == nil)
	if err != nil {
		return err
	}
	if d := c.Props.Get(ical.PropDuration); d != nil && end == nil {
		if start == nil {
			return fmt.Errorf("caldav: %s: DURATION without DTSTART", c.Name)
		}
		dur, err := d.Duration()
		if err != nil || dur < 0 {
			return fmt.Errorf("caldav: %s: DURATION %q is not a positive duration", c.Name, d.Value)
		}
		e := start.Add(dur)
		end = &e
	}
	if !o.Todo && end == nil && start != nil && o.ICal.AllDay {
		// RFC 5545 3.6.1: a DATE DTSTART without DTEND lasts one day.
		e := start.AddDate(0, 0, 1)
		end = &e
	}
	if start != nil && end != nil && end.Before(*start) {
		return fmt.Errorf("caldav: %s: %s is before DTSTART", c.Name, endName)
	}
	if !o.Todo && start == nil {
		return fmt.Errorf("caldav: %s: DTSTART is missing", c.Name)
	}
	o.Start, o.End = start, end
	if p := c.Props.Get(ical.PropRecurrenceRule); p != nil {
		if start == nil {
			return fmt.Errorf("caldav: %s: RRULE without DTSTART", c.Name)
		}
		if _, err := rrule.StrToROption(p.Value); err != nil {
			return fmt.Errorf("caldav: %s: RRULE %q: %w", c.Name, p.Value, err)
		}
		o.ICal.RRule = p.Value
	}
	for _, p := range c.Props.Values(ical.PropExceptionDates) {
		for _, v := range strings.Split(p.Value, ",") {
			q := ical.Prop{Name: p.Name, Params: p.Params, Value: strings.TrimSpace(v)}
			t, err := tz.at(c.Name, &q, nil)
			if err != nil {
				return err
			}
			o.ICal.ExDates = append(o.ICal.ExDates, t)
		}
	}
	return nil
}

// zoneSet reads times in the zones a calendar object defines.
type zoneSet struct {
	zones []*ical.Component
	loc   *time.Location
}

// instant reads the time property name of c; first says it sets the
// object's zone (DTSTART, or DUE of a task without one).
func (z *zoneSet) instant(c *ical.Component, name string, x *crm.ActivityICal, first bool) (*time.Time, error) {
	p := c.Props.Get(name)
	if p == nil {
		return nil, nil
	}
	var set *crm.ActivityICal
	if first {
		set = x
	}
	t, err := z.at(c.Name, p, set)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// at reads one date or date-time value; set, when given, records the form
// it is written in.
func (z *zoneSet) at(comp string, p *ical.Prop, set *crm.ActivityICal) (time.Time, error) {
	v := strings.TrimSpace(p.Value)
	bad := func(err error) error {
		return fmt.Errorf("caldav: %s: %s %q: %w", comp, p.Name, p.Value, err)
	}
	if p.Params.Get(ical.ParamValue) == string(ical.ValueDate) || len(v) == len(dateLayout) {
		t, err := time.ParseInLocation(dateLayout, v, z.loc)
		if err != nil {
			return time.Time{}, bad(errors.New("not a date YYYYMMDD"))
		}
		if set != nil {
			set.AllDay = true
		}
		return t.UTC(), nil
	}
	if strings.HasSuffix(v, "Z") {
		t, err := time.Parse(utcLayout, v)
		if err != nil {
			return time.Time{}, bad(errors.New("not a UTC date-time YYYYMMDDTHHMMSSZ"))
		}
		return t, nil
	}
	loc := z.loc
	if id := p.Params.Get(ical.ParamTimezoneID); id != "" {
		l, err := z.location(id)
		if err != nil {
			return time.Time{}, bad(err)
		}
		loc = l
		if set != nil {
			set.TZID = id
		}
	} else if set != nil {
		set.Floating = true
	}
	t, err := time.ParseInLocation(localLayout, v, loc)
	if err != nil {
		return time.Time{}, bad(errors.New("not a date-time YYYYMMDDTHHMMSS"))
	}
	return t.UTC(), nil
}

// location finds the zone a TZID names: an IANA name Go knows, or else the
// standard offset of the object's VTIMEZONE of that id (Outlook writes
// Windows names such as "Russian Standard Time").
func (z *zoneSet) location(id string) (*time.Location, error) {
	if l, err := time.LoadLocation(strings.TrimPrefix(id, "/")); err == nil && id != "" && !strings.EqualFold(id, "local") {
		return l, nil
	}
	for _, c := range z.zones {
		if got, _ := c.Props.Text(ical.PropTimezoneID); got != id {
			continue
		}
		if l, ok := fixedZone(id, c); ok {
			return l, nil
		}
		return nil, fmt.Errorf("VTIMEZONE %q has no STANDARD TZOFFSETTO", id)
	}
	return nil, fmt.Errorf("TZID %q is neither a known zone nor a VTIMEZONE of the object", id)
}

// fixedZone is the zone of the last STANDARD block's TZOFFSETTO: right for
// the zones without daylight saving that most Russian users are in, and
// the best a server can do with an unknown Windows name otherwise.
func fixedZone(id string, c *ical.Component) (*time.Location, bool) {
	off, ok := 0, false
	for _, s := range c.Children {
		if s.Name != ical.CompTimezoneStandard {
			continue
		}
		p := s.Props.Get(ical.PropTimezoneOffsetTo)
		if p == nil {
			continue
		}
		if n, good := parseOffset(p.Value); good {
			off, ok = n, true
		}
	}
	if !ok {
		return nil, false
	}
	return time.FixedZone(id, off), true
}

// parseOffset reads a UTC offset ±HHMM[SS] into seconds.
func parseOffset(v string) (int, bool) {
	v = strings.TrimSpace(v)
	if len(v) != 5 && len(v) != 7 {
		return 0, false
	}
	sign := 1
	switch v[0] {
	case '-':
		sign = -1
	case '+':
	default:
		return 0, false
	}
	n := 0
	for i := 1; i < len(v); i += 2 {
		d, err := strconv.Atoi(v[i : i+2])
		if err != nil || d < 0 {
			return 0, false
		}
		n = n*60 + d
	}
	if len(v) == 5 {
		n *= 60
	}
	return sign * n, true
}

// Decode reads iCalendar text. go-ical's decoder panics on some malformed
// lines ("X;Y=" at the end of a line indexes past it); the panic becomes
// an error here.
func Decode(r io.Reader) (cal *ical.Calendar, err error) {
	defer func() {
		if p := recover(); p != nil {
			cal, err = nil, fmt.Errorf("caldav: malformed iCalendar: %v", p)
		}
	}()
	cal, err = ical.NewDecoder(r).Decode()
	if err != nil {
		return nil, fmt.Errorf("caldav: %w", err)
	}
	return cal, nil
}
