package automation_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/automation"
)

// Seed 003's booking actions in a bundle: a deal made with a booking
// field reads the booking (booking.info) and renames its event for every
// user involved (booking.rename); a title over 255 characters is the
// step's ERROR, which a later step sees.
func TestBookingBundle(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		e.must(e.do("POST", "/api/v1/custom-fields", map[string]any{"entity": "deal", "code": "UF_CRM_BOOKING", "label": "Бронирование", "type": "booking"}), http.StatusCreated)
		var room, proj struct{ ID int64 }
		e.must(e.do("POST", "/api/v1/resources", map[string]any{"kind": "room", "name": "Кабинет 2"}), http.StatusCreated).json(t, &room)
		e.must(e.do("POST", "/api/v1/resources", map[string]any{"kind": "equipment", "name": "Аппарат УЗИ"}), http.StatusCreated).json(t, &proj)
		var booking struct{ ID int64 }
		e.must(e.do("POST", "/api/v1/bookings", map[string]any{"resource_ids": []int64{room.ID, proj.ID}, "service": "Приём врача",
			"start_at": "2026-12-08T09:00:00+03:00", "end_at": "2026-12-08T09:45:00+03:00",
			"users": []any{map[string]any{"user_id": e.admin.ID}}}), http.StatusCreated).json(t, &booking)

		long := strings.Repeat("д", 256)
		b := e.bundle(jsonOf(t, `{"name": "бронь сделки", "active": true,
			"trigger": {"type": "crm.event", "entity": "deal", "actions": ["create"]},
			"steps": [
				{"id": "info", "action": "booking.info", "input": {"booking": "{{trigger.record.custom.UF_CRM_BOOKING}}"}},
				{"id": "rename", "action": "booking.rename", "input": {"booking": "{{trigger.record.custom.UF_CRM_BOOKING}}",
					"title": "{{trigger.record.title}}: {{steps.info.service}} ({{steps.info.resource_names[0]}})", "description": "Сделка {{trigger.record.id}}"}},
				{"id": "too_long", "action": "booking.rename", "on_error": "continue",
					"input": {"booking": "{{trigger.record.custom.UF_CRM_BOOKING}}", "title": "`+long+`"}},
				{"id": "said", "action": "crm.timeline.add", "when": {"value": "{{steps.too_long.result}}", "op": "eq", "arg": "ERROR"},
					"input": {"entity": "deal", "id": "{{trigger.record.id}}", "text": "{{steps.rename.result}} / {{steps.too_long.result}}: {{steps.too_long.error}}"}}
			]}`))
		var deal struct{ ID int64 }
		e.must(e.do("POST", "/api/v1/deals", map[string]any{"title": "Иванова", "custom": map[string]any{"UF_CRM_BOOKING": booking.ID}}), http.StatusCreated).json(t, &deal)
		r := e.run(e.waitRuns(b.ID, 1)[0].ID)
		if r.Status != automation.StatusOK || len(r.Steps) != 4 {
			t.Fatalf("run %+v", r)
		}
		info := r.Steps[0].Output
		if path(info, "resource_names[0]") != "Аппарат УЗИ" || path(info, "resource_names[1]") != "Кабинет 2" ||
			path(info, "resource_ids[0]") != float64(proj.ID) || path(info, "users[0]") != float64(e.admin.ID) ||
			path(info, "start_at") != "2026-12-08T06:00:00Z" || path(info, "end_at") != "2026-12-08T06:45:00Z" || path(info, "service") != "Приём врача" {
			t.Fatalf("info %v", info)
		}
		if path(r.Steps[1].Output, "result") != "OK" || r.Steps[2].Result != automation.ResultError || !strings.Contains(r.Steps[2].Error, "at most 255") {
			t.Fatalf("rename %v; too long %s %q", r.Steps[1].Output, r.Steps[2].Result, r.Steps[2].Error)
		}
		var got struct {
			Users []struct{ Title, Description string }
		}
		e.must(e.do("GET", fmt.Sprintf("/api/v1/bookings/%d", booking.ID), nil), http.StatusOK).json(t, &got)
		if len(got.Users) != 1 || got.Users[0].Title != "Иванова: Приём врача (Аппарат УЗИ)" || got.Users[0].Description != fmt.Sprintf("Сделка %d", deal.ID) {
			t.Fatalf("booking after the run %+v", got)
		}
		if c := e.comments("deals", deal.ID); len(c) != 1 || !strings.HasPrefix(c[0], "OK / ERROR: ") {
			t.Fatalf("timeline %q", c)
		}
	})
}
