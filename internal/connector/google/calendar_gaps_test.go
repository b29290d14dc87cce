package google_test

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/connector/google"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/jobs"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestEventPatchIfMatch: an event patch carries the ETag the sync last
// saw; when the event changed in Google meanwhile (412), it is read
// again and the conflict rule decides — a later change in Google comes
// to Obmen, else Obmen's patch goes again, once, on the fresh ETag.
func TestEventPatchIfMatch(t *testing.T) {
	for _, tc := range []struct {
		rule    string
		want    string
		patches int
	}{
		{google.LaterWins, "Гугл", 1},
		{google.ObmenWins, "Обмен", 2},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, d *db.DB) {
				e := newEnv(t, d)
				e.connect()
				e.settings(func(s *google.Settings) { s.Contacts = false; s.Conflict = tc.rule })
				a, err := e.st.CreateActivity(e.ctx, e.actor, crm.Activity{Kind: crm.ActivityMeeting, Subject: "Встреча",
					StartAt: at("2026-12-10T09:00:00Z"), EndAt: at("2026-12-10T10:00:00Z"), Meta: crm.Meta{AssignedByID: e.user}})
				if err != nil {
					t.Fatal(err)
				}
				e.run()
				id, ev, _ := eventBySummary(e.f.liveEvents(), "Встреча")
				if ev == nil {
					t.Fatal("the event was not made")
				}
				if _, err := e.st.UpdateActivity(e.ctx, e.actor, a.ID, func(a *crm.Activity) error { a.Description = "Обмен"; return nil }); err != nil {
					t.Fatal(err)
				}
				// Another device changes the event between the sync's
				// listing and its patch.
				e.f.mu.Lock()
				e.f.racePatch[id] = func(ev map[string]any) { ev["description"] = "Гугл" }
				e.f.mu.Unlock()
				e.run()
				e.f.mu.Lock()
				ifMatch := append([]string(nil), e.f.ifMatch...)
				e.f.mu.Unlock()
				if len(ifMatch) != tc.patches || ifMatch[0] == "" {
					t.Errorf("PATCHes with If-Match %q, want %d, the first with the stored ETag", ifMatch, tc.patches)
				}
				got, _ := e.st.GetActivity(e.ctx, a.ID)
				remote := e.f.liveEvents()[id]["description"]
				if got.Description != tc.want || remote != tc.want {
					t.Errorf("Obmen %q, Google %q, want both %q", got.Description, remote, tc.want)
				}
				// Settled: the next run changes nothing on either side.
				res := e.run()
				if res.Calendar.ToObmen.Updated+res.Calendar.ToGoogle.Updated != 0 {
					t.Errorf("a run after the conflict: %+v", res.Calendar)
				}
			})
		})
	}
}

// TestRecurringExceptions: an occurrence of a recurring event changed
// in Google (recurringEventId, originalStartTime) comes to Obmen as an
// activity of its own at its new time; cancelled there, it goes.
func TestRecurringExceptions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.connect()
		e.settings(func(s *google.Settings) { s.Contacts = false })
		series := e.f.addEvent(map[string]any{"summary": "Планёрка", "recurrence": []any{"RRULE:FREQ=WEEKLY;BYDAY=TU"},
			"start": map[string]any{"dateTime": "2026-12-08T09:00:00Z"}, "end": map[string]any{"dateTime": "2026-12-08T10:00:00Z"}}, past)
		e.f.mu.Lock()
		occ := series + "_20261215T090000Z"
		e.f.version++
		e.f.events[occ] = &fevent{Data: map[string]any{"summary": "Планёрка (перенесена)", "recurringEventId": series,
			"originalStartTime": map[string]any{"dateTime": "2026-12-15T09:00:00Z"},
			"start":             map[string]any{"dateTime": "2026-12-16T12:00:00Z"}, "end": map[string]any{"dateTime": "2026-12-16T13:00:00Z"}},
			Version: e.f.version, Updated: past}
		e.f.mu.Unlock()
		res := e.run()
		as := e.activities()
		s, n := bySubject(as, "Планёрка")
		if n != 1 || s.StartAt == nil || !s.StartAt.Equal(*at("2026-12-08T09:00:00Z")) {
			t.Fatalf("the series: %d %+v", n, s)
		}
		x, n := bySubject(as, "Планёрка (перенесена)")
		if n != 1 || x.StartAt == nil || !x.StartAt.Equal(*at("2026-12-16T12:00:00Z")) || res.Calendar.ToObmen.Created != 2 {
			t.Fatalf("the moved occurrence: %d %+v (%+v)", n, x, res.Calendar)
		}
		if rec, err := e.sv.Recurrence(e.ctx, e.user, s.ID); err != nil || len(rec) != 1 {
			t.Errorf("the series' rule: %v %v", rec, err)
		}
		// Changed in Obmen, the occurrence goes back to its own event.
		if _, err := e.st.UpdateActivity(e.ctx, e.actor, x.ID, func(a *crm.Activity) error { a.Subject = "Планёрка (в среду)"; return nil }); err != nil {
			t.Fatal(err)
		}
		e.run()
		if got := e.f.liveEvents()[occ]["summary"]; got != "Планёрка (в среду)" {
			t.Errorf("the occurrence in Google: %v", got)
		}
		// Cancelled in Google: gone from Obmen; the series stays.
		e.f.editEvent(occ, past, func(ev map[string]any) { ev["status"] = "cancelled" })
		e.run()
		if got, _ := e.st.GetActivity(e.ctx, x.ID); got.DeletedAt == nil {
			t.Errorf("the cancelled occurrence is still in Obmen")
		}
		if got, _ := e.st.GetActivity(e.ctx, s.ID); got.DeletedAt != nil {
			t.Errorf("the series went with its occurrence")
		}
	})
}

// TestTickJobEndToEnd: through River as the app runs it — a CRM change
// pokes the service, the debounce enqueues the tick job, the worker runs
// the due sync against the fake Google; a change in Google comes back
// by the scheduled tick.
func TestTickJobEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.connect()
		e.settings(func(s *google.Settings) { s.Contacts = false })
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := jobs.Migrate(ctx, d); err != nil {
			t.Fatal(err)
		}
		r, err := jobs.New(ctx, d, slog.New(slog.DiscardHandler), e.sv.Register, func(c *river.Config) {
			c.FetchCooldown, c.FetchPollInterval = 5*time.Millisecond, 20*time.Millisecond
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, c := context.WithTimeout(context.Background(), 20*time.Second)
			defer c()
			_ = r.Stop(sctx)
			r.Close()
		})
		enqueue := func(ctx context.Context) error {
			return d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				return r.InsertTx(ctx, tx, google.TickArgs{}, &river.InsertOpts{MaxAttempts: 1})
			})
		}
		e.sv.Start(ctx, enqueue)
		defer e.sv.Stop()
		wait := func(what string, ok func() bool) {
			t.Helper()
			for deadline := time.Now().Add(60 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%s: not within a minute", what)
				}
			}
		}
		a, err := e.st.CreateActivity(e.ctx, e.actor, crm.Activity{Kind: crm.ActivityCall, Subject: "Звонок через очередь",
			StartAt: at("2026-12-11T08:00:00Z"), Meta: crm.Meta{AssignedByID: e.user}})
		if err != nil {
			t.Fatal(err)
		}
		e.sv.Poke()
		var id string
		wait("the CRM's call in Google", func() bool {
			id, _, _ = eventBySummary(e.f.liveEvents(), "Звонок через очередь")
			return id != ""
		})
		// Google → Obmen: the event changes there; the tick job runs
		// the sync that is due.
		e.f.editEvent(id, time.Now().Add(time.Hour), func(ev map[string]any) { ev["summary"] = "Звонок (изменён в Google)" })
		if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE google_syncs SET due_at = 0")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := enqueue(ctx); err != nil {
			t.Fatal(err)
		}
		wait("Google's change in the CRM", func() bool {
			got, _ := e.st.GetActivity(e.ctx, a.ID)
			return strings.Contains(got.Subject, "изменён в Google")
		})
	})
}
