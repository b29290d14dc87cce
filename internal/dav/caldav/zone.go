package caldav

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-ical"
)

// zoneKey is the key of the time zone the UI shows times in: a user's
// preference, else the installation's setting (internal/web/timezone.go
// writes both under this key); else Backend.Loc, the configuration's.
const zoneKey = "time_zone"

// zoneTTL is how long a user's zone is cached: a list or a multiget asks
// for it once an object.
const zoneTTL = 30 * time.Second

type cachedZone struct {
	loc *time.Location
	at  time.Time
}

// zoneCache holds users' zones for zoneTTL.
type zoneCache struct{ m sync.Map }

// zone is the time zone of user's times, as the UI has it: floating
// times are read in it and events written with its TZID.
func (b *Backend) zone(ctx context.Context, userID int64) *time.Location {
	if v, ok := b.zones.m.Load(userID); ok && time.Since(v.(cachedZone).at) < zoneTTL {
		return v.(cachedZone).loc
	}
	loc := b.Loc
	if name, err := b.Store.GetPref(ctx, userID, zoneKey); err == nil && name != "" {
		if l, err := time.LoadLocation(name); err == nil {
			loc = l
		}
	} else if name, err := b.Store.GetSetting(ctx, zoneKey); err == nil && name != "" {
		if l, err := time.LoadLocation(name); err == nil {
			loc = l
		}
	}
	b.zones.m.Store(userID, cachedZone{loc: loc, at: time.Now()})
	return loc
}

// named tells a zone a TZID can name: an IANA zone other than UTC.
func named(loc *time.Location) bool {
	n := loc.String()
	return loc != time.UTC && n != "UTC" && n != "Local" && n != "" && strings.Contains(n, "/")
}

// vtimezone describes loc as a VTIMEZONE, with the rules it has in the
// year of at: one STANDARD block for a zone without summer time, else a
// STANDARD and a DAYLIGHT block with yearly rules of the day each
// change falls on (the second Sunday of March, the last of October…).
func vtimezone(loc *time.Location, at time.Time) *ical.Component {
	tz := ical.NewComponent(ical.CompTimezone)
	tz.Props.SetText(ical.PropTimezoneID, loc.String())
	year := at.In(loc).Year()
	end := time.Date(year+1, 1, 1, 0, 0, 0, 0, loc)
	var changes []time.Time
	for t := time.Date(year, 1, 1, 0, 0, 0, 0, loc); ; {
		_, next := t.ZoneBounds()
		if next.IsZero() || !next.Before(end) || len(changes) > 4 {
			break
		}
		changes = append(changes, next)
		t = next
	}
	block := func(kind string, from, to int, name string, start time.Time) *ical.Component {
		c := ical.NewComponent(kind)
		p := ical.NewProp(ical.PropDateTimeStart)
		p.Value = start.Format(localLayout)
		c.Props.Set(p)
		c.Props.Set(raw(ical.PropTimezoneOffsetFrom, offset(from)))
		c.Props.Set(raw(ical.PropTimezoneOffsetTo, offset(to)))
		if name != "" && !strings.ContainsAny(name, "+-0123456789") {
			c.Props.SetText(ical.PropTimezoneName, name)
		}
		return c
	}
	if len(changes) == 0 {
		name, off := time.Date(year, 1, 1, 0, 0, 0, 0, loc).Zone()
		tz.Children = append(tz.Children, block(ical.CompTimezoneStandard, off, off, name, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)))
		return tz
	}
	for _, ch := range changes {
		_, from := ch.Add(-time.Second).Zone()
		name, to := ch.Zone()
		kind := ical.CompTimezoneStandard
		if ch.IsDST() {
			kind = ical.CompTimezoneDaylight
		}
		// DTSTART is the wall time the change happens at, in the offset
		// before it.
		wall := ch.In(time.FixedZone("", from))
		c := block(kind, from, to, name, time.Date(1970, wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, time.UTC))
		// The rule is the wall time's weekday in its month: the nth, or
		// the last when it is in the month's last seven days.
		n := (wall.Day()-1)/7 + 1
		if wall.AddDate(0, 0, 7).Month() != wall.Month() {
			n = -1
		}
		day := strings.ToUpper(wall.Weekday().String()[:2])
		c.Props.Set(raw(ical.PropRecurrenceRule, fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=%d%s", int(wall.Month()), n, day)))
		// The first year the rule is known to hold: DTSTART in that year
		// on that day.
		first := time.Date(year, wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, time.UTC)
		c.Props.Get(ical.PropDateTimeStart).Value = first.Format(localLayout)
		tz.Children = append(tz.Children, c)
	}
	return tz
}

// offset writes seconds east of UTC as ±HHMM (±HHMMSS when it has seconds).
func offset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	s := fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec/60%60)
	if sec%60 != 0 {
		s += fmt.Sprintf("%02d", sec%60)
	}
	return s
}
