package api_test

import (
	"testing"
)

// Resources are the administrators'; bookings are record access; an
// overlapping booking is refused naming the resource and the time taken.
func TestBookingAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		annaID, annaKey := e.newUser("anna", "manager")
		_, olegKey := e.newUser("oleg", "manager")
		room := e.create("/api/v1/resources", map[string]any{"kind": "room", "name": "Переговорная", "capacity": 8})
		v := vars{"anna": annaKey, "oleg": olegKey, "room": idStr(room)}
		booking := map[string]any{"resource_ids": []int64{room}, "start_at": "2026-12-07T10:00:00+03:00", "end_at": "2026-12-07T11:00:00+03:00",
			"service": "Консультация", "users": []any{map[string]any{"user_id": annaID}}}
		runSteps(t, e, v, []step{
			{name: "a manager reads resources", method: "GET", path: "/api/v1/resources", auth: "{anna}", status: 200},
			{name: "a manager may not add one", method: "POST", path: "/api/v1/resources", auth: "{anna}", body: map[string]any{"kind": "room", "name": "x"}, status: 403, code: "forbidden"},
			{name: "nor change one", method: "PATCH", path: "/api/v1/resources/{room}", auth: "{anna}", body: map[string]any{"name": "x"}, status: 403, code: "forbidden"},
			{name: "a bad kind", method: "POST", path: "/api/v1/resources", body: map[string]any{"kind": "car", "name": "x"}, status: 422, code: "validation_failed", field: "kind"},
			{name: "rename the room", method: "PATCH", path: "/api/v1/resources/{room}", body: map[string]any{"name": "Переговорная 1"}, status: 200,
				events: []wantEvent{{entity: "resource", action: "update", record: "room"}}},
			{name: "book", method: "POST", path: "/api/v1/bookings", auth: "{anna}", body: booking, status: 201, save: "b",
				events: []wantEvent{{entity: "booking", action: "create", record: "b"}},
				check: func(t *testing.T, r resp, v vars) {
					var b struct {
						AssignedByID int64 `json:"assigned_by_id"`
						StartAt      string
						Resources    []struct{ Name string }
						Users        []struct{ Title string }
					}
					r.json(t, &b)
					if b.AssignedByID != annaID || len(b.Resources) != 1 || b.Resources[0].Name != "Переговорная 1" || len(b.Users) != 1 || b.Users[0].Title != "Консультация" {
						t.Errorf("booking %s", r.Body)
					}
				}},
			{name: "the same time again", method: "POST", path: "/api/v1/bookings", body: booking, status: 422, code: "validation_failed", field: "resource_ids",
				msg: `resource "Переговорная 1" is already booked from 2026-12-07T07:00:00Z to 2026-12-07T08:00:00Z`},
			{name: "oleg does not see it", method: "GET", path: "/api/v1/bookings/{b}", auth: "{oleg}", status: 404, code: "not_found"},
			{name: "nor change it", method: "PATCH", path: "/api/v1/bookings/{b}", auth: "{oleg}", body: map[string]any{"service": "x"}, status: 404, code: "not_found"},
			{name: "anna moves it", method: "PATCH", path: "/api/v1/bookings/{b}", auth: "{anna}", body: map[string]any{"end_at": "2026-12-07T11:30:00+03:00"}, status: 200,
				events: []wantEvent{{entity: "booking", action: "update", record: "b"}}},
			{name: "an unknown field", method: "PATCH", path: "/api/v1/bookings/{b}", auth: "{anna}", body: map[string]any{"colour": "red"}, status: 400, code: "unknown_field", field: "colour"},
			{name: "the room's bookings", method: "GET", path: "/api/v1/bookings?resource_id={room}&from=2026-12-07T00:00:00Z&to=2026-12-08T00:00:00Z", status: 200,
				check: func(t *testing.T, r resp, v vars) {
					var l struct{ Items []struct{ ID int64 } }
					r.json(t, &l)
					if len(l.Items) != 1 || idStr(l.Items[0].ID) != v["b"] {
						t.Errorf("list %s", r.Body)
					}
				}},
			{name: "a resource with bookings stays", method: "DELETE", path: "/api/v1/resources/{room}", status: 422, code: "validation_failed", field: "id"},
			{name: "oleg may not cancel it", method: "DELETE", path: "/api/v1/bookings/{b}", auth: "{oleg}", status: 404, code: "not_found"},
			{name: "anna cancels it", method: "DELETE", path: "/api/v1/bookings/{b}", auth: "{anna}", status: 204,
				events: []wantEvent{{entity: "booking", action: "delete", record: "b"}}},
			{name: "now the room goes", method: "DELETE", path: "/api/v1/resources/{room}", status: 204,
				events: []wantEvent{{entity: "resource", action: "delete", record: "room"}}},
		})
	})
}
