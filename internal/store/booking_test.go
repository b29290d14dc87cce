package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

var msk = time.FixedZone("MSK", 3*3600)

func at(h, m int) time.Time { return time.Date(2026, 12, 7, h, m, 0, 0, msk) }

func mustResource(t *testing.T, s *store.Store, admin crm.Actor, kind, name string) crm.Resource {
	t.Helper()
	r, err := s.CreateResource(context.Background(), admin, crm.Resource{Kind: kind, Name: name, Capacity: 6, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBookingLifecycle(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		room := mustResource(t, s, admin, "Room", "Переговорная 1")
		proj := mustResource(t, s, admin, "equipment", "Проектор")
		anna, err := s.CreateUser(ctx, admin, crm.User{Login: "anna", Role: crm.RoleManager, Active: true}, "manager-password")
		if err != nil {
			t.Fatal(err)
		}
		deal, err := s.CreateDeal(ctx, admin, crm.Deal{Title: "Встреча с клиентом"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.CreateBooking(ctx, admin, crm.Booking{ResourceIDs: []int64{room.ID, proj.ID}, StartAt: at(10, 0), EndAt: at(11, 0),
			Service: " Консультация ", Entity: "deal", RecordID: deal.ID,
			Users: []crm.BookingUser{{UserID: anna.ID}, {UserID: admin.UserID, Title: "Мой созвон"}}})
		if err != nil {
			t.Fatal(err)
		}
		if room.Kind != "room" || b.Service != "Консультация" || len(b.Resources) != 2 || b.Resources[0].Name != "Переговорная 1" ||
			b.Resources[1].Name != "Проектор" || b.AssignedByID != admin.UserID || !b.StartAt.Equal(at(10, 0)) || b.StartAt.Location() != time.UTC {
			t.Fatalf("created %+v", b)
		}
		got, err := s.GetBooking(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		titles := map[int64]string{}
		for _, u := range got.Users {
			titles[u.UserID] = u.Title
		}
		if len(got.Users) != 2 || titles[anna.ID] != "Консультация" || titles[admin.UserID] != "Мой созвон" || got.Entity != "deal" ||
			got.RecordID != deal.ID || len(got.ResourceIDs) != 2 {
			t.Fatalf("read back %+v", got)
		}
		if sum := got.Summary(msk); sum != "Переговорная 1, Проектор · 07.12.2026 10:00–11:00 · Консультация" {
			t.Errorf("summary %q", sum)
		}

		for _, tc := range []struct {
			name  string
			b     crm.Booking
			field string
			msg   string
		}{
			{"no resources", crm.Booking{StartAt: at(12, 0), EndAt: at(13, 0)}, "resource_ids", "required"},
			{"twice", crm.Booking{ResourceIDs: []int64{room.ID, room.ID}, StartAt: at(12, 0), EndAt: at(13, 0)}, "resource_ids", ""},
			{"missing resource", crm.Booking{ResourceIDs: []int64{999999}, StartAt: at(12, 0), EndAt: at(13, 0)}, "resource_ids", "no resource with id 999999"},
			{"no start", crm.Booking{ResourceIDs: []int64{room.ID}, EndAt: at(13, 0)}, "start_at", "required"},
			{"end before start", crm.Booking{ResourceIDs: []int64{room.ID}, StartAt: at(13, 0), EndAt: at(12, 0)}, "end_at", ""},
			{"empty span", crm.Booking{ResourceIDs: []int64{room.ID}, StartAt: at(13, 0), EndAt: at(13, 0)}, "end_at", ""},
			{"missing user", crm.Booking{ResourceIDs: []int64{room.ID}, StartAt: at(12, 0), EndAt: at(13, 0), Users: []crm.BookingUser{{UserID: 999999}}}, "users", ""},
			{"long title", crm.Booking{ResourceIDs: []int64{room.ID}, StartAt: at(12, 0), EndAt: at(13, 0), Users: []crm.BookingUser{{UserID: anna.ID, Title: strings.Repeat("я", 256)}}}, "users", ""},
			{"missing record", crm.Booking{ResourceIDs: []int64{room.ID}, StartAt: at(12, 0), EndAt: at(13, 0), Entity: "deal", RecordID: 999999}, "record_id", ""},
			{"not an entity", crm.Booking{ResourceIDs: []int64{room.ID}, StartAt: at(12, 0), EndAt: at(13, 0), Entity: "planet", RecordID: 1}, "entity", ""},
			{"overlap at the start", crm.Booking{ResourceIDs: []int64{room.ID}, StartAt: at(9, 30), EndAt: at(10, 1)}, "resource_ids",
				`resource "Переговорная 1" is already booked from 2026-12-07T07:00:00Z to 2026-12-07T08:00:00Z (booking ` + itoa(b.ID) + ")"},
			{"overlap inside", crm.Booking{ResourceIDs: []int64{proj.ID}, StartAt: at(10, 15), EndAt: at(10, 45)}, "resource_ids", `resource "Проектор" is already booked`},
			{"overlap around", crm.Booking{ResourceIDs: []int64{proj.ID}, StartAt: at(9, 0), EndAt: at(12, 0)}, "resource_ids", `resource "Проектор" is already booked`},
		} {
			_, err := s.CreateBooking(ctx, admin, tc.b)
			fe, ok := crm.AsFieldError(err)
			if !ok || fe.Field != tc.field || !strings.HasPrefix(fe.Message, tc.msg) {
				t.Errorf("%s: got %v, want an error on %s starting %q", tc.name, err, tc.field, tc.msg)
			}
		}
		// Touching ends do not overlap; another resource at the same time is free.
		if _, err := s.CreateBooking(ctx, admin, crm.Booking{ResourceIDs: []int64{room.ID}, StartAt: at(11, 0), EndAt: at(12, 0)}); err != nil {
			t.Fatalf("back to back: %v", err)
		}
		other := mustResource(t, s, admin, "person", "Мастер Иван")
		if _, err := s.CreateBooking(ctx, admin, crm.Booking{ResourceIDs: []int64{other.ID}, StartAt: at(10, 0), EndAt: at(11, 0)}); err != nil {
			t.Fatalf("another resource: %v", err)
		}

		// Moving the booking: its own time is no conflict, another's is.
		moved, err := s.UpdateBooking(ctx, admin, b.ID, func(v *crm.Booking) error {
			v.StartAt, v.EndAt = at(9, 0), at(10, 30)
			return nil
		})
		if err != nil || !moved.StartAt.Equal(at(9, 0)) {
			t.Fatalf("move: %+v %v", moved, err)
		}
		_, err = s.UpdateBooking(ctx, admin, b.ID, func(v *crm.Booking) error {
			v.EndAt = at(11, 30)
			return nil
		})
		if fe, ok := crm.AsFieldError(err); !ok || fe.Code != "resource_booked" {
			t.Fatalf("move onto another booking: %v", err)
		}

		// An inactive resource cannot be booked anew, but keeps its bookings.
		if _, err := s.UpdateResource(ctx, admin, proj.ID, func(r *crm.Resource) error { r.Active = false; return nil }); err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateBooking(ctx, admin, crm.Booking{ResourceIDs: []int64{proj.ID}, StartAt: at(15, 0), EndAt: at(16, 0)})
		if fe, ok := crm.AsFieldError(err); !ok || fe.Code != "resource_inactive" {
			t.Fatalf("inactive: %v", err)
		}
		if _, err := s.UpdateBooking(ctx, admin, b.ID, func(v *crm.Booking) error { v.Service = "Презентация"; return nil }); err != nil {
			t.Fatalf("a booking of an inactive resource: %v", err)
		}
		if err := s.DeleteResource(ctx, admin, proj.ID); err == nil {
			t.Fatal("a resource with bookings was deleted")
		}
		if list, err := s.Resources(ctx, false); err != nil || len(list) != 2 {
			t.Fatalf("active resources %v %v", list, err)
		}

		// Renaming: every user's event, and the titles' limit.
		if _, err := s.RenameBooking(ctx, admin, b.ID, strings.Repeat("я", 256), ""); fieldOf(err) != "title" {
			t.Fatalf("256 characters: %v", err)
		}
		r, err := s.RenameBooking(ctx, admin, b.ID, strings.Repeat("я", 255), "Описание")
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range r.Users {
			if u.Title != strings.Repeat("я", 255) || u.Description != "Описание" {
				t.Fatalf("renamed %+v", r.Users)
			}
		}

		// The calendars: each user's event with their title.
		cal, err := s.CalendarBookings(ctx, anna.ID, at(0, 0), at(23, 0))
		if err != nil || len(cal) != 1 || cal[0].ID != b.ID || cal[0].UserID != anna.ID || cal[0].Title != strings.Repeat("я", 255) {
			t.Fatalf("anna's calendar %+v %v", cal, err)
		}
		if cal, err := s.CalendarBookings(ctx, 0, at(0, 0), at(23, 0)); err != nil || len(cal) != 2 {
			t.Fatalf("everyone's calendar %+v %v", cal, err)
		}
		if cal, err := s.CalendarBookings(ctx, anna.ID, at(12, 0), at(23, 0)); err != nil || len(cal) != 0 {
			t.Fatalf("anna's afternoon %+v %v", cal, err)
		}

		if err := s.DeleteBooking(ctx, admin, b.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetBooking(ctx, b.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted: %v", err)
		}
		if _, err := s.CreateBooking(ctx, admin, crm.Booking{ResourceIDs: []int64{room.ID}, StartAt: at(10, 0), EndAt: at(11, 0)}); err != nil {
			t.Fatalf("the time is free again: %v", err)
		}
	})
}

// A manager reads the bookings of the users whose records they see and
// renames only when they may change every involved user's calendar.
func TestBookingAccess(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		room := mustResource(t, s, admin, "room", "Зал")
		anna, err := s.CreateUser(ctx, admin, crm.User{Login: "anna", Role: crm.RoleManager, Active: true}, "manager-password")
		if err != nil {
			t.Fatal(err)
		}
		boris, err := s.CreateUser(ctx, admin, crm.User{Login: "boris", Role: crm.RoleManager, Active: true}, "manager-password")
		if err != nil {
			t.Fatal(err)
		}
		both, err := s.CreateBooking(ctx, admin, crm.Booking{ResourceIDs: []int64{room.ID}, StartAt: at(10, 0), EndAt: at(11, 0),
			Users: []crm.BookingUser{{UserID: anna.ID}, {UserID: boris.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		borisOnly, err := s.CreateBooking(ctx, admin, crm.Booking{ResourceIDs: []int64{room.ID}, StartAt: at(12, 0), EndAt: at(13, 0),
			Users: []crm.BookingUser{{UserID: boris.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		annaCtx := store.WithScope(ctx, anna.ID)
		annaActor := crm.Actor{UserID: anna.ID}
		if _, err := s.GetBooking(annaCtx, both.ID); err != nil {
			t.Fatalf("anna is involved: %v", err)
		}
		if _, err := s.GetBooking(annaCtx, borisOnly.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("boris's booking shown to anna: %v", err)
		}
		if list, err := s.Bookings(annaCtx, store.BookingFilter{}); err != nil || len(list) != 1 || list[0].ID != both.ID {
			t.Fatalf("anna's list %+v %v", list, err)
		}
		if cal, err := s.CalendarBookings(annaCtx, 0, at(0, 0), at(23, 0)); err != nil || len(cal) != 1 || cal[0].UserID != anna.ID {
			t.Fatalf("anna's view of every calendar %+v %v", cal, err)
		}
		// Involved but not responsible: reads, does not change.
		if _, err := s.UpdateBooking(annaCtx, annaActor, both.ID, func(b *crm.Booking) error { b.Service = "x"; return nil }); !errors.Is(err, store.ErrForbidden) {
			t.Fatalf("anna changed the admin's booking: %v", err)
		}
		// Boris's calendar is not anna's to change.
		if _, err := s.RenameBooking(annaCtx, annaActor, both.ID, "Новое", ""); !errors.Is(err, store.ErrForbidden) || !strings.Contains(err.Error(), itoa(boris.ID)) {
			t.Fatalf("anna renamed boris's event: %v", err)
		}
		if b, _ := s.GetBooking(ctx, both.ID); b.Users[0].Title == "Новое" || b.Users[1].Title == "Новое" {
			t.Fatalf("a refused rename changed something: %+v", b.Users)
		}
		// Granted to change boris's records, she may.
		if err := s.SetGrants(ctx, admin, anna.ID, []store.Grant{{OwnerID: boris.ID, Edit: true}}); err != nil {
			t.Fatal(err)
		}
		annaCtx, err = s.ScopeFor(ctx, anna)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := s.RenameBooking(annaCtx, annaActor, both.ID, "Новое", ""); err != nil || b.Users[0].Title != "Новое" || b.Users[1].Title != "Новое" {
			t.Fatalf("granted rename: %+v %v", b, err)
		}
		// A manager books for themself only.
		_, err = s.CreateBooking(annaCtx, annaActor, crm.Booking{ResourceIDs: []int64{room.ID}, StartAt: at(14, 0), EndAt: at(15, 0), AssignedByID: admin.UserID})
		if fieldOf(err) != "assigned_by_id" {
			t.Fatalf("anna booked for the admin: %v", err)
		}
		if b, err := s.CreateBooking(annaCtx, annaActor, crm.Booking{ResourceIDs: []int64{room.ID}, StartAt: at(14, 0), EndAt: at(15, 0)}); err != nil || b.AssignedByID != anna.ID {
			t.Fatalf("anna's own booking: %+v %v", b, err)
		}
	})
}

// Bookings of one resource made at once: exactly one of those that
// overlap gets the time, on both engines (the check runs in the write).
func TestBookingConcurrentOverlap(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		a := mustResource(t, s, admin, "room", "А")
		b := mustResource(t, s, admin, "room", "Б")
		const n = 8
		// Each write waits before its commit until all have come that far
		// (or a moment has passed: with the check right, the others wait
		// for the first's lock and never come): without the lock every one
		// would find the time free.
		var arrived atomic.Int32
		s.SetAfterAppendHook(func() {
			arrived.Add(1)
			for start := time.Now(); arrived.Load() < n && time.Since(start) < 200*time.Millisecond; {
				time.Sleep(2 * time.Millisecond)
			}
		})
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Half take the rooms in one order, half in the other: a
				// lock taken in the given order would deadlock.
				ids := []int64{a.ID, b.ID}
				if i%2 == 1 {
					ids = []int64{b.ID, a.ID}
				}
				_, errs[i] = s.CreateBooking(ctx, admin, crm.Booking{ResourceIDs: ids,
					StartAt: at(10, i), EndAt: at(11, i)})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch fe, isField := crm.AsFieldError(err); {
			case err == nil:
				ok++
			case isField && fe.Code == "resource_booked":
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d overlapping bookings of one room were accepted: %v", ok, errs)
		}
		list, err := s.Bookings(ctx, store.BookingFilter{ResourceID: a.ID})
		if err != nil || len(list) != 1 {
			t.Fatalf("bookings of room А: %+v %v", list, err)
		}
	})
}

// A custom field of type booking holds a booking's id: one that exists
// and the request sees.
func TestBookingCustomField(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		if _, err := s.CreateCustomField(ctx, admin, crm.CustomField{Entity: "deal", Code: "UF_CRM_BOOKING", Label: "Бронь", Type: "booking"}); err != nil {
			t.Fatal(err)
		}
		room := mustResource(t, s, admin, "room", "Зал")
		b, err := s.CreateBooking(ctx, admin, crm.Booking{ResourceIDs: []int64{room.ID}, StartAt: at(10, 0), EndAt: at(11, 0)})
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.CreateDeal(ctx, admin, crm.Deal{Title: "Бронь зала", Extra: crm.Extra{Custom: map[string]any{"UF_CRM_BOOKING": " " + itoa(b.ID)}}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.GetDeal(ctx, d.ID)
		if err != nil || got.Custom["UF_CRM_BOOKING"] != json.Number(itoa(b.ID)) {
			t.Fatalf("read back %v %v", got.Custom, err)
		}
		for _, v := range []any{"завтра", "-3", "999999"} {
			_, err := s.CreateDeal(ctx, admin, crm.Deal{Title: "x", Extra: crm.Extra{Custom: map[string]any{"UF_CRM_BOOKING": v}}})
			if fieldOf(err) != "custom.UF_CRM_BOOKING" {
				t.Errorf("%v: %v", v, err)
			}
		}
		anna, err := s.CreateUser(ctx, admin, crm.User{Login: "anna", Role: crm.RoleManager, Active: true}, "manager-password")
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateDeal(store.WithScope(ctx, anna.ID), crm.Actor{UserID: anna.ID},
			crm.Deal{Title: "x", Extra: crm.Extra{Custom: map[string]any{"UF_CRM_BOOKING": itoa(b.ID)}}})
		if fe, ok := crm.AsFieldError(err); !ok || fe.Field != "custom.UF_CRM_BOOKING" || fe.Message != "no booking with id "+itoa(b.ID) {
			t.Errorf("a booking anna does not see: %v", err)
		}
	})
}
