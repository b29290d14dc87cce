package google_test

import (
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connector/google"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func (e *env) activities() map[int64]crm.Activity {
	e.t.Helper()
	as, _, err := e.st.ListActivities(e.ctx, store.ListParams{Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[int64]crm.Activity{}
	for _, a := range as {
		out[a.ID] = a
	}
	return out
}

func bySubject(as map[int64]crm.Activity, s string) (crm.Activity, int) {
	var found crm.Activity
	n := 0
	for _, a := range as {
		if a.Subject == s {
			found, n = a, n+1
		}
	}
	return found, n
}

func eventBySummary(evs map[string]map[string]any, s string) (string, map[string]any, int) {
	var id string
	var ev map[string]any
	n := 0
	for k, v := range evs {
		if v["summary"] == s {
			id, ev, n = k, v, n+1
		}
	}
	return id, ev, n
}

func at(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func TestCalendarSync(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.connect()
		e.settings(func(s *google.Settings) { s.Contacts = false })
		weekly := []any{"RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20270301T000000Z", "EXDATE;TZID=Europe/Moscow:20261214T100000"}
		e.f.addEvent(map[string]any{"summary": "Планёрка", "recurrence": weekly,
			"start": map[string]any{"dateTime": "2026-12-07T10:00:00+03:00", "timeZone": "Europe/Moscow"},
			"end":   map[string]any{"dateTime": "2026-12-07T10:30:00+03:00", "timeZone": "Europe/Moscow"}}, past)
		e.f.addEvent(map[string]any{"summary": "Отпуск", "start": map[string]any{"date": "2026-12-20"}, "end": map[string]any{"date": "2026-12-27"}}, past)
		e.f.addEvent(map[string]any{"summary": "", "description": "без темы", "start": map[string]any{"dateTime": "2026-12-08T09:00:00Z"},
			"end": map[string]any{"dateTime": "2026-12-08T09:15:00Z"}}, past)
		mine, err := e.st.CreateActivity(e.ctx, e.actor, crm.Activity{Kind: crm.ActivityMeeting, Subject: "Встреча с клиентом",
			StartAt: at("2026-12-09T12:00:00Z"), EndAt: at("2026-12-09T13:00:00Z"), Meta: crm.Meta{AssignedByID: e.user}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.CreateActivity(e.ctx, e.actor, crm.Activity{Kind: crm.ActivityTask, Subject: "Задача без времени",
			Meta: crm.Meta{AssignedByID: e.user}}); err != nil {
			t.Fatal(err)
		}

		res := e.run()
		if !res.Calendar.Full || res.Calendar.ToObmen.Created != 3 || res.Calendar.ToGoogle.Created != 1 {
			t.Fatalf("first run: %+v", res.Calendar)
		}
		as := e.activities()
		plan, _ := bySubject(as, "Планёрка")
		if plan.StartAt == nil || !plan.StartAt.Equal(*at("2026-12-07T07:00:00Z")) || !plan.EndAt.Equal(*at("2026-12-07T07:30:00Z")) {
			t.Fatalf("Планёрка: %+v", plan)
		}
		if rr, err := e.sv.Recurrence(e.ctx, e.user, plan.ID); err != nil || len(rr) != 2 || rr[0] != weekly[0] {
			t.Fatalf("recurrence kept: %v %v", rr, err)
		}
		if _, n := bySubject(as, "(без названия)"); n != 1 {
			t.Fatal("the untitled event did not come as (без названия)")
		}
		if _, ev, n := eventBySummary(e.f.liveEvents(), "Встреча с клиентом"); n != 1 || ev["start"].(map[string]any)["dateTime"] != "2026-12-09T12:00:00Z" {
			t.Fatalf("pushed event: %v", ev)
		}
		if _, _, n := eventBySummary(e.f.liveEvents(), "Задача без времени"); n != 0 {
			t.Fatal("a task without a time went to the calendar")
		}

		// Idle.
		if res := e.run(); res.Calendar.Full || res.Calendar.ToObmen != (google.Counts{}) || res.Calendar.ToGoogle != (google.Counts{}) {
			t.Fatalf("idle: %+v", res.Calendar)
		}

		// Obmen moves the series' time: the rule stays in Google (a patch
		// of the mapped fields only) and the all-day event stays all-day.
		if _, err := e.st.UpdateActivity(e.ctx, e.actor, plan.ID, func(a *crm.Activity) error {
			a.StartAt, a.EndAt = at("2026-12-07T08:00:00Z"), at("2026-12-07T08:45:00Z")
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		vac, _ := bySubject(e.activities(), "Отпуск")
		if _, err := e.st.UpdateActivity(e.ctx, e.actor, vac.ID, func(a *crm.Activity) error { a.Description = "Сочи"; return nil }); err != nil {
			t.Fatal(err)
		}
		// Google renames the client meeting.
		id, _, _ := eventBySummary(e.f.liveEvents(), "Встреча с клиентом")
		e.f.editEvent(id, time.Now(), func(ev map[string]any) { ev["summary"] = "Встреча с клиентом (перенесена)" })
		res = e.run()
		if res.Calendar.ToGoogle.Updated != 2 || res.Calendar.ToObmen.Updated != 1 {
			t.Fatalf("changes: %+v", res.Calendar)
		}
		_, ev, _ := eventBySummary(e.f.liveEvents(), "Планёрка")
		if r := ev["recurrence"].([]any); len(r) != 2 || r[0] != weekly[0] || ev["start"].(map[string]any)["dateTime"] != "2026-12-07T08:00:00Z" {
			t.Fatalf("series in Google: %v", ev)
		}
		_, ev, _ = eventBySummary(e.f.liveEvents(), "Отпуск")
		if ev["start"].(map[string]any)["date"] != "2026-12-20" || ev["description"] != "Сочи" {
			t.Fatalf("all-day event in Google: %v", ev)
		}
		if got, _ := e.st.GetActivity(e.ctx, mine.ID); got.Subject != "Встреча с клиентом (перенесена)" {
			t.Fatalf("renamed in Google: %+v", got)
		}

		// The token expires (410): a full listing, no duplicates.
		e.f.expireTokens()
		res = e.run()
		if !res.Calendar.Full || res.Calendar.ToObmen.Created != 0 || res.Calendar.ToGoogle.Created != 0 {
			t.Fatalf("after 410: %+v", res.Calendar)
		}
		if len(e.activities()) != 5 || len(e.f.liveEvents()) != 4 {
			t.Fatalf("%d activities, %d events", len(e.activities()), len(e.f.liveEvents()))
		}

		// Deletes both ways.
		if err := e.st.Delete(e.ctx, e.actor, store.EntityActivity, mine.ID); err != nil {
			t.Fatal(err)
		}
		id, _, _ = eventBySummary(e.f.liveEvents(), "Отпуск")
		e.f.editEvent(id, time.Now(), func(ev map[string]any) { ev["status"] = "cancelled" })
		res = e.run()
		if res.Calendar.ToGoogle.Deleted != 1 || res.Calendar.ToObmen.Deleted != 1 {
			t.Fatalf("deletes: %+v", res.Calendar)
		}
		if _, n := bySubject(e.activities(), "Отпуск"); n != 0 {
			t.Fatal("Отпуск still in Obmen")
		}
		if len(e.f.liveEvents()) != 2 {
			t.Fatalf("%d events left, want 2", len(e.f.liveEvents()))
		}
	})
}

func TestCalendarConflicts(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rule       string
		googleLate bool
		want       string
	}{
		{"later/google-later", google.LaterWins, true, "Гугл"},
		{"later/obmen-later", google.LaterWins, false, "Обмен"},
		{"obmen/google-later", google.ObmenWins, true, "Обмен"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, d *db.DB) {
				e := newEnv(t, d)
				e.connect()
				e.settings(func(s *google.Settings) { s.Contacts = false; s.Conflict = tc.rule })
				a, err := e.st.CreateActivity(e.ctx, e.actor, crm.Activity{Kind: crm.ActivityCall, Subject: "Созвон",
					StartAt: at("2026-12-10T09:00:00Z"), Meta: crm.Meta{AssignedByID: e.user}})
				if err != nil {
					t.Fatal(err)
				}
				e.run()
				id, ev, _ := eventBySummary(e.f.liveEvents(), "Созвон")
				if ev["end"].(map[string]any)["dateTime"] != "2026-12-10T10:00:00Z" {
					t.Fatalf("a call without an end goes for an hour: %v", ev)
				}
				googleAt := time.Now().Add(-time.Hour)
				if tc.googleLate {
					googleAt = time.Now().Add(time.Hour)
				}
				if _, err := e.st.UpdateActivity(e.ctx, e.actor, a.ID, func(a *crm.Activity) error { a.Description = "Обмен"; return nil }); err != nil {
					t.Fatal(err)
				}
				e.f.editEvent(id, googleAt, func(ev map[string]any) { ev["description"] = "Гугл" })
				e.run()
				got, _ := e.st.GetActivity(e.ctx, a.ID)
				remote := e.f.liveEvents()[id]["description"]
				if got.Description != tc.want || remote != tc.want {
					t.Fatalf("Obmen %q, Google %q, want both %q", got.Description, remote, tc.want)
				}
			})
		})
	}
}

// Removed and set up again, the sync pairs what both sides have — events
// by title and start, contacts by e-mail — and duplicates nothing.
func TestResetupNoDuplicates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.connect()
		e.settings(nil)
		e.f.addEvent(map[string]any{"summary": "Обед", "start": map[string]any{"dateTime": "2026-12-11T12:00:00Z"},
			"end": map[string]any{"dateTime": "2026-12-11T13:00:00Z"}}, past)
		e.f.addPerson(map[string]any{"names": names("Вера", "Почтова"), "emailAddresses": emails("vera@example.ru")}, past)
		if _, err := e.st.CreateActivity(e.ctx, e.actor, crm.Activity{Kind: crm.ActivityMeeting, Subject: "Ужин",
			StartAt: at("2026-12-11T19:00:00Z"), EndAt: at("2026-12-11T21:00:00Z"), Meta: crm.Meta{AssignedByID: e.user}}); err != nil {
			t.Fatal(err)
		}
		e.contact(crm.Contact{Name: "Глеб", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 912 000-11-22"}}}})
		e.run()
		if err := e.sv.Remove(e.ctx, e.user); err != nil {
			t.Fatal(err)
		}
		e.connect()
		e.settings(nil)
		res := e.run()
		if res.Contacts.ToObmen.Created+res.Contacts.ToGoogle.Created+res.Calendar.ToObmen.Created+res.Calendar.ToGoogle.Created != 0 {
			t.Fatalf("duplicates after setting up again: %+v", res)
		}
		if len(e.activities()) != 2 || len(e.f.liveEvents()) != 2 || len(e.contacts()) != 2 || len(e.f.livePersons()) != 2 {
			t.Fatalf("%d activities, %d events, %d contacts, %d people", len(e.activities()), len(e.f.liveEvents()), len(e.contacts()), len(e.f.livePersons()))
		}
	})
}
