package tmpl

import (
	"fmt"
	"math"
	"time"
)

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
	out := formatDate(m.in(loc), layout)
	if err := r.charge(dateCost + len(out)); err != nil {
		return nil, err
	}
	return out, nil
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
