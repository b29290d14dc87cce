package tmpl

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// zonedLayouts carry their own offset.
var zonedLayouts = []string{
	time.RFC3339, // fractional seconds are accepted too
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04Z07:00",
}

// naiveLayouts are read in the render's zone.
var naiveLayouts = []string{
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2.1.2006 15:04:05",
	"2.1.2006 15:04",
}

// dateLayouts are calendar dates without a time of day.
var dateLayouts = []string{"2006-01-02", "2.1.2006"}

// moment is a parsed date or time. A calendar date (dateOnly) has no zone
// of its own: it is the same day wherever it is shown.
type moment struct {
	t        time.Time
	dateOnly bool
}

// in returns the moment in loc: a time converted, a date kept as the
// same calendar day at midnight.
func (m moment) in(loc *time.Location) time.Time {
	if m.dateOnly {
		y, mo, d := m.t.Date()
		return time.Date(y, mo, d, 0, 0, 0, 0, loc)
	}
	return m.t.In(loc)
}

// parseMoment reads a time.Time or text in one of the layouts above; loc
// is the zone of text without an offset. With numbers, a number (or text
// of 9 to 13 digits) is unix time: seconds, or milliseconds from 1e11 up
// (JavaScript timestamps). ok is false when v is none of these.
func parseMoment(v any, loc *time.Location, numbers bool) (moment, bool) {
	switch x := v.(type) {
	case time.Time:
		return moment{t: x}, true
	case string:
		s := strings.TrimSpace(x)
		if len(s) < 8 || len(s) > 40 {
			return moment{}, false
		}
		for _, l := range zonedLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return moment{t: t}, true
			}
		}
		for _, l := range naiveLayouts {
			if t, err := time.ParseInLocation(l, s, loc); err == nil {
				return moment{t: t}, true
			}
		}
		for _, l := range dateLayouts {
			if t, err := time.ParseInLocation(l, s, loc); err == nil {
				return moment{t: t, dateOnly: true}, true
			}
		}
		if !numbers || len(s) < 9 || len(s) > 13 || strings.Trim(s, "0123456789") != "" {
			return moment{}, false
		}
	}
	if !numbers {
		return moment{}, false
	}
	n, ok := toNumber(v)
	if !ok {
		return moment{}, false
	}
	f := n.float()
	if math.Abs(f) >= 1e11 {
		f /= 1000
	}
	if math.IsNaN(f) || math.Abs(f) >= 1e11 { // year 5138; beyond is a mistake
		return moment{}, false
	}
	sec, frac := math.Modf(f)
	return moment{t: time.Unix(int64(sec), int64(frac*1e9)).In(loc)}, true
}

// momentArg reads a date argument of our functions; present is false for
// nil and blank text.
func momentArg(v any, loc *time.Location) (m moment, present bool, err error) {
	if isBlank(v) {
		return moment{}, false, nil
	}
	m, ok := parseMoment(v, loc, true)
	if !ok {
		return moment{}, true, fmt.Errorf("cannot read %s as a date", quoteValue(v))
	}
	return m, true, nil
}

// zoneArg reads an optional IANA zone name at args[i]; the render's zone
// when absent or blank.
func zoneArg(r *run, args []any, i int) (*time.Location, error) {
	if len(args) <= i || isBlank(args[i]) {
		return r.loc, nil
	}
	name, ok := args[i].(string)
	if !ok {
		return nil, fmt.Errorf("time zone must be a name like %q, got %s", DefaultZone, kindName(args[i]))
	}
	return loadZone(strings.TrimSpace(name))
}

// DefaultDateLayout is date()'s layout when none is given.
const DefaultDateLayout = "DD.MM.YYYY"

// fnDate is date(v[, layout[, tz]]): v (a time, date text or unix time)
// written per layout (see formatDate) in zone tz, by default the render's
// zone. Text without an offset is a time in the render's zone; a calendar
// date stays the same day in any zone. nil and blank text give "".
func fnDate(r *run, args []any) (any, error) {
	if err := arity(args, 1, 3); err != nil {
		return nil, err
	}
	m, present, err := momentArg(args[0], r.loc)
	if err != nil || !present {
		return "", err
	}
	layout := DefaultDateLayout
	if len(args) >= 2 && !isBlank(args[1]) {
		s, ok := args[1].(string)
		if !ok {
			return nil, fmt.Errorf("layout must be text like %q, got %s", DefaultDateLayout, kindName(args[1]))
		}
		if len(s) > 256 {
			return nil, fmt.Errorf("layout longer than 256 bytes")
		}
		layout = s
	}
	loc, err := zoneArg(r, args, 2)
	if err != nil {
		return nil, err
	}
	return formatDate(m.in(loc), layout), nil
}

// fnNow is now(): the render's clock in the render's zone.
func fnNow(r *run, args []any) (any, error) {
	if err := arity(args, 0, 0); err != nil {
		return nil, err
	}
	return r.now().In(r.loc), nil
}

// maxShift bounds add_days and add_hours (about 2700 years in days).
const maxShift = 1_000_000

// fnAddDays is add_days(v, n): calendar days, so a day across a
// daylight-saving change is still midnight to midnight. The result is a
// time in the render's zone; nil gives nil.
func fnAddDays(r *run, args []any) (any, error) {
	if err := arity(args, 2, 2); err != nil {
		return nil, err
	}
	m, present, err := momentArg(args[0], r.loc)
	if err != nil || !present {
		return nil, err
	}
	n, err := intArg(args[1], "days")
	if err != nil {
		return nil, err
	}
	if n > maxShift || n < -maxShift {
		return nil, fmt.Errorf("days %d is out of range", n)
	}
	return m.in(r.loc).AddDate(0, 0, n), nil
}

// fnAddHours is add_hours(v, n): n may be fractional (1.5 is 90 minutes).
// The result is a time in the render's zone; nil gives nil.
func fnAddHours(r *run, args []any) (any, error) {
	if err := arity(args, 2, 2); err != nil {
		return nil, err
	}
	m, present, err := momentArg(args[0], r.loc)
	if err != nil || !present {
		return nil, err
	}
	n, ok := toNumber(args[1])
	if !ok {
		return nil, fmt.Errorf("hours must be a number, got %s", quoteValue(args[1]))
	}
	h := n.float()
	if math.IsNaN(h) || math.Abs(h) > maxShift {
		return nil, fmt.Errorf("hours %s is out of range", quoteValue(args[1]))
	}
	return m.in(r.loc).Add(time.Duration(h * float64(time.Hour))), nil
}
