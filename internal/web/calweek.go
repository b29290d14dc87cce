package web

import (
	"sort"
	"time"
)

// The week view's hourly grid: a column per day, a row per hour, each
// activity placed at its start and as tall as it lasts, side by side with
// those it overlaps; activities with no time of day (a due date only) or
// lasting a day or more sit in the all-day row on top. Times are the
// user's (the caller gives them in the user's zone). At phone width the
// page shows the week as a list of days instead (CSS).

// weekSpan is an activity as the grid places it.
type weekSpan struct {
	Item       calItem
	Start, End time.Time // End == Start: no length (shown as half an hour)
	AllDay     bool
}

type weekGrid struct {
	Hours []weekHour // the rows, first to last hour shown
	Days  []weekDay
}

type weekHour struct {
	Text string // "09:00"
}

type weekDay struct {
	calDay
	AllDay []calItem
	Slots  []weekSlot
	Placed []weekPlaced
}

// weekSlot is one hour of one day: a drop target and a "new activity"
// link starting then.
type weekSlot struct {
	Time, NewURL string
}

// weekPlaced is a timed activity's box: Top and Height in percent of the
// day's column, Lane of Lanes side by side.
type weekPlaced struct {
	Item        calItem
	Top, Height float64
	Lane, Lanes int
	End         string // "11:30", for the box's label
}

// shortest is how tall an activity with no length (or a very short one)
// is drawn, so that its subject can be read.
const shortest = 30 * time.Minute

// buildWeek lays spans out over the seven days from from (midnight of
// Monday in the user's zone); days are the week's days as the list shows
// them (labels, links).
func buildWeek(from time.Time, spans []weekSpan, days []calDay, newURL func(time.Time) string) *weekGrid {
	// Office hours always; earlier or later ones when something is then.
	first, last := 8, 20
	for _, sp := range spans {
		if sp.AllDay || sp.End.Sub(sp.Start) >= 24*time.Hour {
			continue
		}
		if h := sp.Start.Hour(); h < first {
			first = h
		}
		end := sp.End
		if end.Sub(sp.Start) < shortest {
			end = sp.Start.Add(shortest)
		}
		h := end.Hour()
		if end.Minute() > 0 || end.Second() > 0 {
			h++
		}
		if !sameDay(end, sp.Start) {
			h = 24
		}
		if h-1 > last {
			last = min(h-1, 23)
		}
	}
	g := &weekGrid{}
	for h := first; h <= last; h++ {
		g.Hours = append(g.Hours, weekHour{Text: time.Date(2000, 1, 1, h, 0, 0, 0, time.UTC).Format("15:04")})
	}
	for k := 0; k < 7; k++ {
		dd := from.AddDate(0, 0, k)
		wd := weekDay{}
		if k < len(days) {
			wd.calDay = days[k]
		}
		for h := first; h <= last; h++ {
			at := time.Date(dd.Year(), dd.Month(), dd.Day(), h, 0, 0, 0, dd.Location())
			wd.Slots = append(wd.Slots, weekSlot{Time: at.Format("15:04"), NewURL: newURL(at)})
		}
		top := time.Date(dd.Year(), dd.Month(), dd.Day(), first, 0, 0, 0, dd.Location())
		bottom := time.Date(dd.Year(), dd.Month(), dd.Day(), last+1, 0, 0, 0, dd.Location())
		span := bottom.Sub(top)
		var timed []weekSpan
		for _, sp := range spans {
			if !sameDay(sp.Start, dd) {
				continue
			}
			if sp.AllDay || sp.End.Sub(sp.Start) >= 24*time.Hour {
				wd.AllDay = append(wd.AllDay, sp.Item)
				continue
			}
			timed = append(timed, sp)
		}
		for _, pl := range lanes(timed) {
			sp := pl.span
			end := sp.End
			if end.Sub(sp.Start) < shortest {
				end = sp.Start.Add(shortest)
			}
			if end.After(bottom) {
				end = bottom
			}
			p := weekPlaced{Item: sp.Item, Lane: pl.lane, Lanes: pl.lanes,
				Top:    weekPct(sp.Start.Sub(top), span),
				Height: weekPct(end.Sub(sp.Start), span)}
			if sp.End.After(sp.Start) {
				p.End = sp.End.Format("15:04")
			}
			wd.Placed = append(wd.Placed, p)
		}
		g.Days = append(g.Days, wd)
	}
	return g
}

func sameDay(a, b time.Time) bool {
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}

func weekPct(part, whole time.Duration) float64 {
	v := float64(part) / float64(whole) * 100
	return float64(int(v*100+0.5)) / 100 // two decimals are plenty for CSS
}

type laned struct {
	span        weekSpan
	lane, lanes int
}

// lanes puts overlapping activities side by side: each takes the first
// lane free at its start; a cluster of activities that overlap one
// another shares the number of lanes the cluster needs.
func lanes(spans []weekSpan) []laned {
	sort.SliceStable(spans, func(i, j int) bool {
		if !spans[i].Start.Equal(spans[j].Start) {
			return spans[i].Start.Before(spans[j].Start)
		}
		return spans[i].End.After(spans[j].End)
	})
	endOf := func(sp weekSpan) time.Time {
		if sp.End.Sub(sp.Start) < shortest {
			return sp.Start.Add(shortest)
		}
		return sp.End
	}
	var out []laned
	var laneEnds []time.Time // per lane, when it is free again
	clusterStart, clusterEnd := 0, time.Time{}
	closeCluster := func() {
		for i := clusterStart; i < len(out); i++ {
			out[i].lanes = len(laneEnds)
		}
	}
	for _, sp := range spans {
		if len(out) > 0 && !sp.Start.Before(clusterEnd) {
			closeCluster()
			clusterStart, laneEnds = len(out), nil
		}
		lane := -1
		for i, e := range laneEnds {
			if !sp.Start.Before(e) {
				lane = i
				break
			}
		}
		if lane < 0 {
			lane = len(laneEnds)
			laneEnds = append(laneEnds, time.Time{})
		}
		laneEnds[lane] = endOf(sp)
		if endOf(sp).After(clusterEnd) {
			clusterEnd = endOf(sp)
		}
		out = append(out, laned{span: sp, lane: lane})
	}
	closeCluster()
	return out
}
