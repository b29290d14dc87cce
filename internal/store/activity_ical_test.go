package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestCalendarObject: an event a CalDAV client writes is one activity and
// one activity_ical row, written and logged together; a change keeps the
// row; the object is found again by its resource name or UID, only by its
// own user, and only while it is live.
func TestCalendarObject(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		bg := context.Background()
		anna, err := s.CreateUser(bg, admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1")
		if err != nil {
			t.Fatal(err)
		}
		annaActor := crm.Actor{UserID: anna.ID}
		ctx := store.WithScope(bg, anna.ID)
		start := time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC)
		end := start.Add(time.Hour)
		x := crm.ActivityICal{UID: "u-1@thunderbird", Href: "u-1.ics", TZID: "Europe/Moscow", RRule: "FREQ=WEEKLY;BYDAY=MO",
			ExDates: []time.Time{start.AddDate(0, 0, 7)}, Timezones: `[{"Name":"VTIMEZONE"}]`, Extra: `{"props":{"LOCATION":[]}}`}
		a, err := s.WriteCalendarObject(ctx, annaActor, 0, crm.Activity{Kind: crm.ActivityMeeting, Subject: "Планёрка", StartAt: &start, EndAt: &end,
			Meta: crm.Meta{AssignedByID: anna.ID}}, nil, x)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.ActivityICal(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		x.ActivityID = a.ID
		if got.UID != x.UID || got.Href != x.Href || got.RRule != x.RRule || len(got.ExDates) != 1 || !got.ExDates[0].Equal(x.ExDates[0]) ||
			got.Timezones != x.Timezones || got.Extra != x.Extra || got.TZID != x.TZID {
			t.Fatalf("read back %+v, want %+v", got, x)
		}
		for _, key := range [][2]string{{"u-1.ics", ""}, {"other.ics", "u-1@thunderbird"}} {
			if id, err := s.ActivityByHref(ctx, anna.ID, key[0], key[1]); err != nil || id != a.ID {
				t.Errorf("by %v: %d, %v", key, id, err)
			}
		}
		if _, err := s.ActivityByHref(ctx, admin.UserID, "u-1.ics", ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another user's calendar finds it: %v", err)
		}

		// A change of the kept properties only is still logged.
		lastEvent := func() int64 {
			evs, err := s.Events(bg, events.Query{Limit: 10000})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) == 0 {
				return 0
			}
			return evs[len(evs)-1].ID
		}
		before := lastEvent()
		x.Extra = `{"props":{"LOCATION":[{"Name":"LOCATION","Params":{},"Value":"Переговорная"}]}}`
		if _, err := s.WriteCalendarObject(ctx, annaActor, a.ID, crm.Activity{}, func(*crm.Activity) error { return nil }, x); err != nil {
			t.Fatal(err)
		}
		if after := lastEvent(); after <= before {
			t.Errorf("no change event for a changed alarm/location: %d → %d", before, after)
		}
		if got, _ := s.ActivityICal(ctx, a.ID); !strings.Contains(got.Extra, "Переговорная") {
			t.Errorf("kept %q", got.Extra)
		}

		// Validation refuses and writes nothing.
		n0 := lastEvent()
		_, err = s.WriteCalendarObject(ctx, annaActor, 0, crm.Activity{Kind: crm.ActivityMeeting, Subject: "x", StartAt: &end, EndAt: &start,
			Meta: crm.Meta{AssignedByID: anna.ID}}, nil, crm.ActivityICal{UID: "bad"})
		if fe, ok := crm.AsFieldError(err); !ok || fe.Field != "end_at" {
			t.Errorf("end before start: %v", err)
		}
		if n1 := lastEvent(); n1 != n0 {
			t.Errorf("a refused write logged events")
		}

		as, xs, err := s.CalendarActivities(ctx, anna.ID)
		if err != nil || len(as) != 1 || xs[a.ID].UID != x.UID {
			t.Fatalf("calendar: %v %+v %+v", err, as, xs)
		}
		// A manager does not see the admin's calendar.
		if _, err := s.CreateActivity(bg, admin, crm.Activity{Kind: crm.ActivityTask, Subject: "Админская"}); err != nil {
			t.Fatal(err)
		}
		if as, _, err := s.CalendarActivities(ctx, admin.UserID); err != nil || len(as) != 0 {
			t.Errorf("anna sees the admin's calendar: %v %+v", err, as)
		}
		if as, _, err := s.CalendarActivities(bg, admin.UserID); err != nil || len(as) != 1 {
			t.Errorf("admin's calendar: %v %+v", err, as)
		}

		if err := s.Delete(ctx, annaActor, store.EntityActivity, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ActivityByHref(ctx, anna.ID, "u-1.ics", ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a deleted object is found: %v", err)
		}
	})
}

func TestICalFeed(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		bg := context.Background()
		if at, err := s.ICalFeedSince(bg, admin.UserID); err != nil || !at.IsZero() {
			t.Fatalf("no feed yet: %v %v", at, err)
		}
		tok, err := s.NewICalFeed(bg, admin, admin.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if u, err := s.ICalFeedUser(bg, tok); err != nil || u.ID != admin.UserID {
			t.Fatalf("token: %+v %v", u, err)
		}
		tok2, err := s.NewICalFeed(bg, admin, admin.UserID)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{tok, tok2[:len(tok2)-1] + "0", "", "abc_def", strings.Repeat("a", 12) + "_" + strings.Repeat("b", 64)} {
			if bad == tok2 {
				continue
			}
			if _, err := s.ICalFeedUser(bg, bad); !errors.Is(err, store.ErrBadCredentials) {
				t.Errorf("token %q: %v", bad, err)
			}
		}
		if u, err := s.ICalFeedUser(bg, tok2); err != nil || u.ID != admin.UserID {
			t.Fatalf("new token: %v", err)
		}
		if at, _ := s.ICalFeedSince(bg, admin.UserID); at.IsZero() {
			t.Error("no time of the token")
		}
		if err := s.DropICalFeed(bg, admin, admin.UserID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ICalFeedUser(bg, tok2); !errors.Is(err, store.ErrBadCredentials) {
			t.Errorf("dropped token: %v", err)
		}
	})
}
