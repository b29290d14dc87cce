package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dedup"
)

// TestCreateDuplicateRule: a contact with an existing e-mail is created
// with the duplicates named under warn, refused (409, the existing one
// named) under refuse, and created anyway with ?duplicates=allow.
func TestCreateDuplicateRule(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		first := e.do("POST", "/api/v1/contacts", map[string]any{"name": "Анна", "emails": []map[string]any{{"value": "anna@example.ru"}}})
		if first.Status != http.StatusCreated {
			t.Fatalf("first: %d %s", first.Status, first.Body)
		}
		var c crm.Contact
		first.json(t, &c)
		again := map[string]any{"name": "Анна Б.", "emails": []map[string]any{{"value": "ANNA@example.ru"}}}
		r := e.do("POST", "/api/v1/contacts", again)
		if r.Status != http.StatusCreated || r.Header.Get("Obmen-Duplicates") != "contact/"+idStr(c.ID) {
			t.Errorf("warn: %d %q", r.Status, r.Header.Get("Obmen-Duplicates"))
		}
		if _, err := dedup.SaveRule(context.Background(), e.app.Store, crm.Actor{}, dedup.Rule{Entity: "contact", Keys: []string{"email"}, Action: dedup.Refuse}); err != nil {
			t.Fatal(err)
		}
		r = e.do("POST", "/api/v1/contacts", again)
		if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), `"code":"duplicate"`) || !strings.Contains(string(r.Body), `"field":"email"`) {
			t.Errorf("refuse: %d %s", r.Status, r.Body)
		}
		if r = e.do("POST", "/api/v1/contacts?duplicates=allow", again); r.Status != http.StatusCreated {
			t.Errorf("override: %d %s", r.Status, r.Body)
		}
		// A different e-mail is no duplicate.
		if r = e.do("POST", "/api/v1/contacts", map[string]any{"name": "Анна", "emails": []map[string]any{{"value": "anna2@example.ru"}}}); r.Status != http.StatusCreated {
			t.Errorf("other e-mail: %d %s", r.Status, r.Body)
		}
	})
}
