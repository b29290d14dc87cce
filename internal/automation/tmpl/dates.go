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
		if len(x) > 256 { // before trimming, which may scan it all
			return moment{}, false
		}
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
