package api_test

import (
	"context"
	"net/http"
	"slices"
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

// TestCreateLeadDuplicatesNamed: under the default rule (warn by phone
// and e-mail) a new lead with an existing contact's phone and an open
// lead's e-mail is created with both named — never itself — whether it
// is written in one statement or as usual (line items); a lead matching
// nothing has no header.
func TestCreateLeadDuplicatesNamed(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		var c crm.Contact
		e.do("POST", "/api/v1/contacts", map[string]any{"name": "Пётр", "phones": []map[string]any{{"value": "+7 925 100-00-01"}}}).json(t, &c)
		var old crm.Lead
		e.do("POST", "/api/v1/leads", map[string]any{"title": "Первый", "emails": []map[string]any{{"value": "petr@example.ru"}}}).json(t, &old)
		if c.ID == 0 || old.ID == 0 {
			t.Fatal("setup failed")
		}
		want := []string{"contact/" + idStr(c.ID), "lead/" + idStr(old.ID)}
		for _, extra := range []map[string]any{{}, {"product_rows": []map[string]any{{"name": "Баннер", "price": "10.00", "quantity": "1"}}}} {
			body := map[string]any{"title": "Повтор", "phones": []map[string]any{{"value": "8 (925) 100-00-01"}, {"value": "+7 925 100-00-02"}},
				"emails": []map[string]any{{"value": "Petr@Example.ru"}}}
			for k, v := range extra {
				body[k] = v
			}
			r := e.do("POST", "/api/v1/leads", body)
			if r.Status != http.StatusCreated {
				t.Fatalf("%v: %d %s", extra, r.Status, r.Body)
			}
			got := strings.Fields(r.Header.Get("Obmen-Duplicates"))
			slices.Sort(got)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%v: Obmen-Duplicates %q, want %q", extra, r.Header.Get("Obmen-Duplicates"), want)
			}
			// The next one duplicates this one too.
			var l crm.Lead
			r.json(t, &l)
			want = append(want, "lead/"+idStr(l.ID))
			slices.Sort(want)
		}
		// A phone only a lead made above has: that lead is named, and the
		// new one is not.
		r := e.do("POST", "/api/v1/leads", map[string]any{"title": "Третий", "phones": []map[string]any{{"value": "+7 925 100-00-02"}}})
		for _, ref := range strings.Fields(r.Header.Get("Obmen-Duplicates")) {
			var l crm.Lead
			r.json(t, &l)
			if ref == "lead/"+idStr(l.ID) {
				t.Errorf("the new lead names itself: %q", r.Header.Get("Obmen-Duplicates"))
			}
		}
		if n := len(strings.Fields(r.Header.Get("Obmen-Duplicates"))); n != 2 {
			t.Errorf("third: Obmen-Duplicates %q, want the two leads made above", r.Header.Get("Obmen-Duplicates"))
		}
		if r := e.do("POST", "/api/v1/leads", map[string]any{"title": "Новый", "phones": []map[string]any{{"value": "+7 925 100-00-99"}}}); r.Status != http.StatusCreated || r.Header.Get("Obmen-Duplicates") != "" {
			t.Errorf("no match: %d %q", r.Status, r.Header.Get("Obmen-Duplicates"))
		}
	})
}
