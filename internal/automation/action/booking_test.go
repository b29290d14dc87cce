package action

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// bookingFixture is a booking of two resources for two users.
type bookingFixture struct {
	booking     crm.Booking
	anna, boris crm.User
}

func (e *env) bookingFixture() bookingFixture {
	e.t.Helper()
	var f bookingFixture
	room, err := e.s.CreateResource(e.ctx, e.admin, crm.Resource{Kind: "room", Name: "Переговорная", Active: true})
	if err != nil {
		e.t.Fatal(err)
	}
	proj, err := e.s.CreateResource(e.ctx, e.admin, crm.Resource{Kind: "equipment", Name: "Проектор", Active: true})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, u := range []*crm.User{&f.anna, &f.boris} {
		login := "anna"
		if u == &f.boris {
			login = "boris"
		}
		if *u, err = e.s.CreateUser(e.ctx, e.admin, crm.User{Login: login, Role: crm.RoleManager, Active: true}, "manager-password"); err != nil {
			e.t.Fatal(err)
		}
	}
	start := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	f.booking, err = e.s.CreateBooking(e.ctx, e.admin, crm.Booking{ResourceIDs: []int64{proj.ID, room.ID}, StartAt: start, EndAt: start.Add(time.Hour),
		Service: "Консультация", Users: []crm.BookingUser{{UserID: f.anna.ID}, {UserID: f.boris.ID}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

func TestBookingInfo(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		f := e.bookingFixture()
		b := f.booking
		for _, ref := range []any{b.ID, float64(b.ID), itoa(b.ID), " " + itoa(b.ID) + " "} {
			out := e.ok(e.call(), "booking.info", map[string]any{"booking": ref})
			names, _ := out["resource_names"].([]any)
			ids, _ := out["resource_ids"].([]any)
			users, _ := out["users"].([]any)
			if len(names) != 2 || names[0] != "Переговорная" || names[1] != "Проектор" || len(ids) != 2 || ids[0] != b.Resources[0].ID ||
				len(users) != 2 || users[0] != f.anna.ID || users[1] != f.boris.ID || out["service"] != "Консультация" ||
				out["start_at"] != "2026-12-07T10:00:00Z" || out["end_at"] != "2026-12-07T11:00:00Z" || out["booking_id"] != b.ID {
				t.Fatalf("info of %v: %v", ref, out)
			}
		}
		for _, c := range []struct {
			name string
			in   map[string]any
		}{
			{"missing", map[string]any{}},
			{"empty", map[string]any{"booking": ""}},
			{"not a number", map[string]any{"booking": "завтра"}},
			{"negative", map[string]any{"booking": -1}},
			{"an object", map[string]any{"booking": map[string]any{"id": b.ID}}},
		} {
			t.Run(c.name, func(t *testing.T) { e.fails(e.call(), "booking.info", c.in, "booking") })
		}
		_, err := e.run(e.call(), "booking.info", map[string]any{"booking": 999999})
		wantNotFound(t, err, "booking 999999 not found")
	})
}

func TestBookingRename(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		f := e.bookingFixture()
		id := f.booking.ID
		titles := func() []string {
			b, err := e.s.GetBooking(e.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, u := range b.Users {
				out = append(out, u.Title+"|"+u.Description)
			}
			return out
		}
		before := titles()

		// Test mode reads the booking and changes nothing.
		res, err := e.run(e.dry(), "booking.rename", map[string]any{"booking": id, "title": "Встреча"})
		if err != nil {
			t.Fatal(err)
		}
		send := wantPreview(t, res, "rename booking "+itoa(id)+" for 2 users")
		if send["title"] != "Встреча" {
			t.Fatalf("preview %v", send)
		}
		if got := titles(); strings.Join(got, ",") != strings.Join(before, ",") {
			t.Fatalf("test mode renamed: %v", got)
		}

		for _, c := range []struct {
			name  string
			in    map[string]any
			field string
		}{
			{"256 characters", map[string]any{"booking": id, "title": strings.Repeat("я", 256)}, "title"},
			{"no title", map[string]any{"booking": id, "title": "  "}, "title"},
			{"no booking", map[string]any{"title": "x"}, "booking"},
			{"bad booking", map[string]any{"booking": "x", "title": "x"}, "booking"},
		} {
			t.Run(c.name, func(t *testing.T) { e.fails(e.call(), "booking.rename", c.in, c.field) })
		}
		events := e.count("events")
		out := e.ok(e.call(), "booking.rename", map[string]any{"booking": itoa(id), "title": strings.Repeat("я", 255), "description": "Кабинет 3"})
		if out["result"] != "OK" || out["renamed"] != int64(2) {
			t.Fatalf("rename: %v", out)
		}
		want := strings.Repeat("я", 255) + "|Кабинет 3"
		if got := titles(); len(got) != 2 || got[0] != want || got[1] != want || e.count("events") != events+1 {
			t.Fatalf("renamed %v (events %d → %d)", got, events, e.count("events"))
		}
		// The same rename again changes nothing and logs nothing.
		e.ok(e.call(), "booking.rename", map[string]any{"booking": id, "title": strings.Repeat("я", 255), "description": "Кабинет 3"})
		if e.count("events") != events+1 {
			t.Fatal("a rename to the same title logged a change")
		}

		// Run as anna, who may change her own calendar but not boris's:
		// refused, nothing renamed; granted boris's records, allowed.
		ctx, err := e.s.ScopeFor(e.ctx, f.anna)
		if err != nil {
			t.Fatal(err)
		}
		asAnna := e.call()
		asAnna.Actor.UserID = f.anna.ID
		a, _ := e.reg.Action("booking.rename")
		_, err = a.Run(ctx, asAnna, map[string]any{"booking": id, "title": "Анна"})
		if !errors.Is(err, store.ErrForbidden) || !strings.Contains(err.Error(), "user "+itoa(f.boris.ID)) {
			t.Fatalf("anna renamed boris's event: %v", err)
		}
		if got := titles(); got[0] != want || got[1] != want {
			t.Fatalf("a refused rename changed %v", got)
		}
		if err := e.s.SetGrants(e.ctx, e.admin, f.anna.ID, []store.Grant{{OwnerID: f.boris.ID, Edit: true}}); err != nil {
			t.Fatal(err)
		}
		if ctx, err = e.s.ScopeFor(e.ctx, f.anna); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Run(ctx, asAnna, map[string]any{"booking": id, "title": "Анна"}); err != nil {
			t.Fatalf("granted: %v", err)
		}
		if got := titles(); got[0] != "Анна|" || got[1] != "Анна|" {
			t.Fatalf("granted rename %v", got)
		}
		_, err = e.run(e.call(), "booking.rename", map[string]any{"booking": 999999, "title": "x"})
		wantNotFound(t, err, "booking 999999 not found")
	})
}
