package action

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/automation"
)

type delayIn struct {
	Seconds float64 `json:"seconds"`
	Minutes float64 `json:"minutes"`
	Hours   float64 `json:"hours"`
	Days    float64 `json:"days"`
	// Until is a moment: RFC 3339, or "YYYY-MM-DD HH:MM" in Moscow time.
	Until string `json:"until" auto:"type=datetime"`
}

type delayOut struct {
	Until time.Time `json:"until"`
}

// Bounds of a pause.
const (
	minDelay = time.Second
	maxDelay = 366 * 24 * time.Hour
)

// delay makes the run wait: for a while, or until a moment. A moment
// already past does not stop the run: it goes on at once.
func delay(d Deps) automation.Action {
	spec := automation.Spec{Name: "delay", Group: GroupFlow}
	return define[delayIn, delayOut](spec, func(ctx context.Context, c *automation.Call, in delayIn) (any, error) {
		now := nowOf(c, d)
		until, err := delayUntil(in, now)
		if err != nil {
			return nil, err
		}
		out := delayOut{Until: until.UTC()}
		if c.DryRun {
			return automation.Preview{DryRun: true, Would: "wait until " + out.Until.Format(time.RFC3339), Send: out}, nil
		}
		if until.Sub(now) >= minDelay {
			c.WaitUntil(until)
		}
		return out, nil
	})
}

func delayUntil(in delayIn, now time.Time) (time.Time, error) {
	parts := []struct {
		field string
		n     float64
		unit  time.Duration
	}{{"days", in.Days, 24 * time.Hour}, {"hours", in.Hours, time.Hour}, {"minutes", in.Minutes, time.Minute}, {"seconds", in.Seconds, time.Second}}
	var total float64
	field := ""
	for _, p := range parts {
		if p.n < 0 || math.IsNaN(p.n) || math.IsInf(p.n, 0) {
			return time.Time{}, automation.InputErrorf(p.field, "must be a number not below 0")
		}
		if p.n > 0 && field == "" {
			field = p.field
		}
		total += p.n * float64(p.unit)
	}
	if s := strings.TrimSpace(in.Until); s != "" {
		if field != "" {
			return time.Time{}, automation.InputErrorf("until", "give either until or %s, not both", field)
		}
		t, err := parseMoment(s)
		if err != nil {
			return time.Time{}, automation.InputErrorf("until", "%q is not a moment: use 2025-03-01T09:00:00+03:00 or 2025-03-01 09:00 (Moscow time)", s)
		}
		if t.Sub(now) > maxDelay {
			return time.Time{}, automation.InputErrorf("until", "is more than 366 days ahead")
		}
		return t, nil
	}
	if field == "" {
		field = "minutes"
	}
	if total < float64(minDelay) {
		return time.Time{}, automation.InputErrorf(field, "the pause must last at least 1 second: give minutes, hours, days or until")
	}
	if total > float64(maxDelay) {
		return time.Time{}, automation.InputErrorf(field, "the pause must not be longer than 366 days")
	}
	return now.Add(time.Duration(total)), nil
}

// parseMoment reads RFC 3339, or a local date and time in Moscow.
func parseMoment(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	loc, err := time.LoadLocation(automation.DefaultTZ)
	if err != nil {
		loc = time.FixedZone("MSK", 3*60*60)
	}
	var last error
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		t, err := time.ParseInLocation(layout, s, loc)
		if err == nil {
			return t, nil
		}
		last = err
	}
	return time.Time{}, last
}
