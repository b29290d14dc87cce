package web

import (
	"testing"
	"time"
)

// TestBuildWeek: boxes start at their time and are as tall as they last,
// overlapping ones side by side, a due date only or a day-long one in the
// all-day row, and the hours stretched to what the week holds.
func TestBuildWeek(t *testing.T) {
	loc := time.FixedZone("UTC+5", 5*3600)
	mon := time.Date(2026, 12, 7, 0, 0, 0, 0, loc)
	at := func(day, h, m int) time.Time {
		return mon.AddDate(0, 0, day).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	spans := []weekSpan{
		{Item: calItem{ID: 1}, Start: at(2, 10, 30), End: at(2, 12, 0)},
		{Item: calItem{ID: 2}, Start: at(2, 11, 0), End: at(2, 11, 30)},
		{Item: calItem{ID: 3}, Start: at(2, 14, 0), End: at(2, 14, 0)}, // no length
		{Item: calItem{ID: 4}, Start: at(3, 9, 0), AllDay: true},
		{Item: calItem{ID: 5}, Start: at(4, 0, 0), End: at(5, 0, 0)},  // a whole day
		{Item: calItem{ID: 6}, Start: at(5, 6, 15), End: at(5, 7, 0)}, // before office hours
	}
	g := buildWeek(mon, spans, nil, func(time.Time) string { return "" })
	if len(g.Days) != 7 {
		t.Fatalf("%d days", len(g.Days))
	}
	if first, last := g.Hours[0].Text, g.Hours[len(g.Hours)-1].Text; first != "06:00" || last != "20:00" {
		t.Fatalf("hours %s–%s, want 06:00–20:00", first, last)
	}
	hours := float64(len(g.Hours)) // 15 rows: 06:00 … 20:00
	want := map[int64]weekPlaced{
		1: {Top: weekPct(4*time.Hour+30*time.Minute, time.Duration(hours)*time.Hour), Height: weekPct(90*time.Minute, time.Duration(hours)*time.Hour), Lane: 0, Lanes: 2},
		2: {Top: weekPct(5*time.Hour, time.Duration(hours)*time.Hour), Height: weekPct(30*time.Minute, time.Duration(hours)*time.Hour), Lane: 1, Lanes: 2},
		3: {Top: weekPct(8*time.Hour, time.Duration(hours)*time.Hour), Height: weekPct(30*time.Minute, time.Duration(hours)*time.Hour), Lane: 0, Lanes: 1},
	}
	wed := g.Days[2]
	if len(wed.Placed) != 3 {
		t.Fatalf("Wednesday has %d boxes", len(wed.Placed))
	}
	for _, p := range wed.Placed {
		w := want[p.Item.ID]
		if p.Top != w.Top || p.Height != w.Height || p.Lane != w.Lane || p.Lanes != w.Lanes {
			t.Errorf("activity %d: top %v height %v lane %d/%d, want %v %v %d/%d", p.Item.ID, p.Top, p.Height, p.Lane, p.Lanes, w.Top, w.Height, w.Lane, w.Lanes)
		}
	}
	if len(g.Days[3].AllDay) != 1 || g.Days[3].AllDay[0].ID != 4 || len(g.Days[4].AllDay) != 1 || g.Days[4].AllDay[0].ID != 5 {
		t.Errorf("all-day row: Thu %v, Fri %v", g.Days[3].AllDay, g.Days[4].AllDay)
	}
	if len(g.Days[5].Placed) != 1 || g.Days[5].Placed[0].Top != weekPct(15*time.Minute, time.Duration(hours)*time.Hour) {
		t.Errorf("Saturday 06:15: %+v", g.Days[5].Placed)
	}
	if s := g.Days[0].Slots[4]; s.Time != "10:00" {
		t.Errorf("Monday's fifth hour %q", s.Time)
	}
}
