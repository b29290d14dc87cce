package api_test

import (
	"testing"
)

// TestProfileAPI: the profile of seed 003's "user info" — read by anyone
// signed in, replaced by an administrator, by the user himself without
// the company's fields, refused to another manager; a wrong field named.
func TestProfileAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		annaID, annaKey := e.newUser("anna", "manager")
		_, olegKey := e.newUser("oleg", "manager")
		v := vars{"anna": annaKey, "oleg": olegKey, "anna_id": idStr(annaID)}
		field := func(name, want string) func(t *testing.T, r resp, v vars) {
			return func(t *testing.T, r resp, v vars) {
				var p map[string]any
				r.json(t, &p)
				if p[name] != want {
					t.Errorf("%s = %v, want %s", name, p[name], want)
				}
			}
		}
		full := map[string]any{"gender": "f", "birthday": "1990-03-08", "company": "ООО Обмен", "user_type": "extranet", "skype": "anna.s"}
		runSteps(t, e, v, []step{
			{name: "empty profile", method: "GET", path: "/api/v1/users/{anna_id}/profile", auth: "{oleg}", status: 200, check: field("user_type", "employee")},
			{name: "admin replaces", method: "PUT", path: "/api/v1/users/{anna_id}/profile", body: full, status: 200, check: field("gender", "F")},
			{name: "another manager may not", method: "PUT", path: "/api/v1/users/{anna_id}/profile", auth: "{oleg}", body: full, status: 403, code: "forbidden"},
			{name: "the user himself", method: "PUT", path: "/api/v1/users/{anna_id}/profile", auth: "{anna}",
				body: map[string]any{"skype": "anna.new", "company": "Своя", "user_type": "email"}, status: 200, check: field("company", "ООО Обмен")},
			{name: "read back", method: "GET", path: "/api/v1/users/{anna_id}/profile", auth: "{anna}", status: 200, check: field("skype", "anna.new")},
			{name: "bad birthday", method: "PUT", path: "/api/v1/users/{anna_id}/profile", body: map[string]any{"birthday": "завтра"}, status: 422,
				code: "validation_failed", field: "birthday"},
			{name: "unknown field", method: "PUT", path: "/api/v1/users/{anna_id}/profile", body: map[string]any{"shoe_size": "42"}, status: 400},
			{name: "no such user", method: "GET", path: "/api/v1/users/999999/profile", status: 404},
		})
	})
}
