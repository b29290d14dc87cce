package api_test

import (
	"testing"

	"github.com/obmen/obmen/internal/store"
)

// TestGrantsAPI: an administrator grants a head of sales her team's
// records over /users/{id}/grants; the grant shows in what her key sees
// and changes; managers may not grant.
func TestGrantsAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		headID, headKey := e.newUser("head", "manager")
		annaID, annaKey := e.newUser("anna", "manager")
		olegID, _ := e.newUser("oleg", "manager")
		annas := e.create("/api/v1/leads", map[string]any{"title": "Лид Анны", "assigned_by_id": annaID})
		olegs := e.create("/api/v1/leads", map[string]any{"title": "Лид Олега", "assigned_by_id": olegID})
		v := vars{"head": headKey, "anna": annaKey, "head_id": idStr(headID), "anna_id": idStr(annaID), "oleg_id": idStr(olegID),
			"annas": idStr(annas), "olegs": idStr(olegs)}
		count := func(want int) func(t *testing.T, r resp, v vars) {
			return func(t *testing.T, r resp, v vars) {
				var l struct{ Items []map[string]any }
				r.json(t, &l)
				if len(l.Items) != want {
					t.Errorf("%d leads, want %d", len(l.Items), want)
				}
			}
		}
		grants := map[string]any{"grants": []any{map[string]any{"owner_id": annaID, "edit": true}, map[string]any{"owner_id": olegID}}}
		runSteps(t, e, v, []step{
			{name: "own only", method: "GET", path: "/api/v1/leads", auth: "{head}", status: 200, check: count(0)},
			{name: "another's lead", method: "GET", path: "/api/v1/leads/{annas}", auth: "{head}", status: 404, code: "not_found"},
			{name: "a manager may not grant", method: "PUT", path: "/api/v1/users/{anna_id}/grants", auth: "{anna}", body: grants, status: 403, code: "forbidden"},
			{name: "a manager may not read grants", method: "GET", path: "/api/v1/users/{anna_id}/grants", auth: "{anna}", status: 403, code: "forbidden"},
			{name: "grant the team", method: "PUT", path: "/api/v1/users/{head_id}/grants", body: grants, status: 200,
				check: func(t *testing.T, r resp, v vars) {
					var b struct{ Grants []store.Grant }
					r.json(t, &b)
					if len(b.Grants) != 2 {
						t.Errorf("grants %+v", b.Grants)
					}
				}},
			{name: "read grants", method: "GET", path: "/api/v1/users/{head_id}/grants", status: 200},
			{name: "the team's leads", method: "GET", path: "/api/v1/leads", auth: "{head}", status: 200, check: count(2)},
			{name: "change a lead granted with edit", method: "PATCH", path: "/api/v1/leads/{annas}", auth: "{head}", body: map[string]any{"title": "ок"}, status: 200,
				events: []wantEvent{{entity: "lead", action: "update", record: "annas"}}},
			{name: "change a lead granted to read", method: "PATCH", path: "/api/v1/leads/{olegs}", auth: "{head}", body: map[string]any{"title": "нет"}, status: 403, code: "forbidden"},
			{name: "grant oneself", method: "PUT", path: "/api/v1/users/{head_id}/grants", body: map[string]any{"grants": []any{map[string]any{"owner_id": headID}}},
				status: 422, code: "validation_failed", field: "grants[0].owner_id",
				check: func(t *testing.T, r resp, v vars) {
					// The English message stays; the stable code is beside it.
					var b struct {
						Error struct{ Message, Reason string }
					}
					r.json(t, &b)
					if b.Error.Reason != "grant_self" || b.Error.Message != "a user always sees their own records" {
						t.Errorf("error %+v", b.Error)
					}
				}},
			{name: "grant a missing user", method: "PUT", path: "/api/v1/users/{head_id}/grants", body: map[string]any{"grants": []any{map[string]any{"owner_id": 999999}}},
				status: 422, code: "validation_failed", field: "grants[0].owner_id"},
			{name: "take back", method: "PUT", path: "/api/v1/users/{head_id}/grants", body: map[string]any{"grants": []any{}}, status: 200},
			{name: "own only again", method: "GET", path: "/api/v1/leads", auth: "{head}", status: 200, check: count(0)},
		})
	})
}

// TestPermissionsAPI: an administrator permits a user the 1C exchange
// over /users/{id}/permissions; managers may neither read nor set them;
// a permission that does not exist, or the catalog without the exchange,
// is refused naming the field.
func TestPermissionsAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		annaID, annaKey := e.newUser("anna", "manager")
		v := vars{"anna": annaKey, "anna_id": idStr(annaID)}
		perms := func(want ...string) func(t *testing.T, r resp, v vars) {
			return func(t *testing.T, r resp, v vars) {
				var b struct{ Permissions []string }
				r.json(t, &b)
				if len(b.Permissions) != len(want) {
					t.Fatalf("permissions %v, want %v", b.Permissions, want)
				}
				for i := range want {
					if b.Permissions[i] != want[i] {
						t.Fatalf("permissions %v, want %v", b.Permissions, want)
					}
				}
			}
		}
		both := map[string]any{"permissions": []string{store.PermExchange1C, store.PermCatalog1C}}
		runSteps(t, e, v, []step{
			{name: "none at first", method: "GET", path: "/api/v1/users/{anna_id}/permissions", status: 200, check: perms()},
			{name: "a manager may not permit", method: "PUT", path: "/api/v1/users/{anna_id}/permissions", auth: "{anna}", body: both, status: 403, code: "forbidden"},
			{name: "a manager may not read", method: "GET", path: "/api/v1/users/{anna_id}/permissions", auth: "{anna}", status: 403, code: "forbidden"},
			{name: "permit both", method: "PUT", path: "/api/v1/users/{anna_id}/permissions", body: both, status: 200, check: perms(store.PermCatalog1C, store.PermExchange1C)},
			{name: "read", method: "GET", path: "/api/v1/users/{anna_id}/permissions", status: 200, check: perms(store.PermCatalog1C, store.PermExchange1C)},
			{name: "unknown permission", method: "PUT", path: "/api/v1/users/{anna_id}/permissions", body: map[string]any{"permissions": []string{"root"}},
				status: 422, code: "validation_failed", field: "permissions[0]"},
			{name: "catalog alone", method: "PUT", path: "/api/v1/users/{anna_id}/permissions", body: map[string]any{"permissions": []string{store.PermCatalog1C}},
				status: 422, code: "validation_failed", field: "permissions"},
			{name: "missing user", method: "PUT", path: "/api/v1/users/999999/permissions", body: both, status: 404, code: "not_found"},
			{name: "take back", method: "PUT", path: "/api/v1/users/{anna_id}/permissions", body: map[string]any{"permissions": []string{}}, status: 200, check: perms()},
		})
	})
}
