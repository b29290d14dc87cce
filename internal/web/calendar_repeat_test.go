package web_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// TestCalendarRecurring: a weekly meeting a CalDAV client wrote is one
// activity, and the calendar shows each of its occurrences in the range
// (its EXDATE left out, none after its COUNT), each a link to it.
func TestCalendarRecurring(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if err := e.app.Store.SetSetting(ctx, e.admin, "time_zone", "Europe/Moscow"); err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC) // Tuesdays 10:00 Moscow
		end := start.Add(time.Hour)
		a, err := e.app.Store.WriteCalendarObject(ctx, e.admin, 0, crm.Activity{Kind: crm.ActivityMeeting, Subject: "Планёрка",
			StartAt: &start, EndAt: &end, Meta: crm.Meta{AssignedByID: e.admin.UserID}}, nil,
			crm.ActivityICal{UID: "weekly-1", TZID: "Europe/Moscow", RRule: "FREQ=WEEKLY;COUNT=5",
				ExDates: []time.Time{time.Date(2026, 12, 15, 7, 0, 0, 0, time.UTC)}})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		p := b.get("/calendar?view=month&date=2026-12-01&user=0")
		if p.Status != http.StatusOK {
			t.Fatalf("month: %d", p.Status)
		}
		if n := strings.Count(p.Body, "10:00 Планёрка"); n != 4 {
			t.Errorf("December shows the meeting %d times, want 4 (1, 8, 22, 29 — not the 15th)", n)
		}
		for _, day := range []struct {
			date string
			want bool
		}{{"2026-12-08", true}, {"2026-12-15", false}, {"2026-12-29", true}, {"2027-01-05", false}} {
			p := b.get("/calendar?view=day&user=0&date=" + day.date)
			if got := strings.Contains(p.Body, "10:00 Планёрка"); got != day.want {
				t.Errorf("%s: shown %t, want %t", day.date, got, day.want)
			}
			if day.want && day.date != "2026-12-01" && (!strings.Contains(p.Body, "/e/activity/"+strconv.FormatInt(a.ID, 10)) || !strings.Contains(p.Body, "ev repeat")) {
				t.Errorf("%s: the occurrence is not a link to activity %d marked as repeating", day.date, a.ID)
			}
		}
		p = b.get("/calendar?view=week&user=0&date=2026-12-22")
		if !strings.Contains(p.Body, "10:00 Планёрка") {
			t.Errorf("the week of the 22nd lacks the meeting")
		}
	})
}
