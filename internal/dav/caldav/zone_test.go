package caldav_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dav/davtest"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

const floatingEvent = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:floating-1\r\nDTSTAMP:20261201T000000Z\r\n" +
	"DTSTART:20261208T100000\r\nDTEND:20261208T110000\r\nSUMMARY:Плавающее время\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

// TestFloatingTimes: a time with no TZID and no Z is the user's time as
// the UI has it — their own zone, else the installation's setting (which
// overrides the configuration's) — and events made in the CRM are
// written with the TZID of that zone and its VTIMEZONE.
func TestFloatingTimes(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		bg := context.Background()
		alice, bob := davtest.Manager(t, s, admin, "alice"), davtest.Manager(t, s, admin, "bob")
		// The configuration says Moscow (server uses msk); the admin chose
		// Yekaterinburg (UTC+5) in the UI; bob chose Vladivostok (UTC+10).
		if err := s.SetSetting(bg, admin, "time_zone", "Asia/Yekaterinburg"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPref(bg, bob.ID, "time_zone", "Asia/Vladivostok"); err != nil {
			t.Fatal(err)
		}
		srv := server(t, s)
		for _, tc := range []struct {
			user crm.User
			want time.Time
			tzid string
		}{
			{alice, time.Date(2026, 12, 8, 5, 0, 0, 0, time.UTC), "Asia/Yekaterinburg"},
			{bob, time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC), "Asia/Vladivostok"},
		} {
			c := call{t: t, base: srv.URL, login: tc.user.Login, password: tc.user.Login + "-Secret-1"}
			href := "/dav/principals/" + tc.user.Login + "/calendars/activities/floating-1.ics"
			if resp, body := c.do("PUT", href, icsType, floatingEvent); resp.StatusCode/100 != 2 {
				t.Fatalf("%s: PUT: %d %s", tc.user.Login, resp.StatusCode, body)
			}
			as, _, err := s.CalendarActivities(bg, tc.user.ID)
			if err != nil || len(as) != 1 {
				t.Fatalf("%s: %v %v", tc.user.Login, err, as)
			}
			if as[0].StartAt == nil || !as[0].StartAt.Equal(tc.want) || as[0].EndAt == nil || !as[0].EndAt.Equal(tc.want.Add(time.Hour)) {
				t.Errorf("%s: floating 10:00 stored as %v–%v, want %v", tc.user.Login, as[0].StartAt, as[0].EndAt, tc.want)
			}
			// Written back as the client wrote it: floating, 10:00 in that zone.
			resp, body := c.do("GET", href, "", "")
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "DTSTART:20261208T100000\r\n") {
				t.Errorf("%s: GET: %d\n%s", tc.user.Login, resp.StatusCode, body)
			}
			// An event made in the CRM: in the user's zone too, not UTC.
			at := time.Date(2026, 12, 9, 9, 30, 0, 0, time.UTC)
			made, err := s.CreateActivity(bg, admin, crm.Activity{Kind: crm.ActivityCall, Subject: "Звонок", StartAt: &at, Meta: crm.Meta{AssignedByID: tc.user.ID}})
			if err != nil {
				t.Fatal(err)
			}
			resp, body = c.do("GET", "/dav/principals/"+tc.user.Login+"/calendars/activities/"+strconv.FormatInt(made.ID, 10)+".ics", "", "")
			wantStart := "DTSTART;TZID=" + tc.tzid + ":" + at.In(mustZone(t, tc.tzid)).Format("20060102T150405")
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, wantStart) || !strings.Contains(body, "BEGIN:VTIMEZONE") {
				t.Errorf("%s: a CRM event: %d, want %s in\n%s", tc.user.Login, resp.StatusCode, wantStart, body)
			}
		}
	})
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
