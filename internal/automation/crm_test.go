package automation_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/automation"
)

// issueExample is the bundle of the automation issue, verbatim.
const issueExample = `{"name": "Новый лид → контакт и комментарий", "active": true,
 "trigger": {"type": "crm.event", "entity": "lead", "actions": ["create"]},
 "filters": {"all": [{"value": "{{trigger.record.phones[0].value}}", "op": "not_empty"}]},
 "steps": [
   {"id": "client", "action": "crm.contact.create",
    "input": {"name": "{{trigger.record.name}}", "last_name": "{{trigger.record.last_name}}",
              "phones": [{"value": "{{trigger.record.phones[0].value}}", "value_type": "mobile"}]},
    "duplicates": {"by": ["phone"], "then": "skip"}},
   {"id": "note", "action": "crm.timeline.add",
    "input": {"entity": "lead", "id": "{{trigger.record.id}}", "text": "Клиент: контакт {{steps.client.id}}"}}
 ]}`

// The example bundle: a lead with a phone finds or creates its contact
// and says so in the lead's timeline; a second lead with the same number
// finds the same contact.
func TestIssueExampleBundle(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.bundle(issueExample)
		first := e.lead(map[string]any{"title": "Заявка", "name": "Иван", "last_name": "Петров",
			"phones": []any{map[string]any{"value": "8 (925) 642-42-90", "value_type": "mobile"}}})
		second := e.lead(map[string]any{"title": "Повторная", "name": "Иван",
			"phones": []any{map[string]any{"value": "+7 925 642 42 90", "value_type": "work"}}})
		third := e.lead(map[string]any{"title": "Без телефона"})
		runs := e.waitRuns(b.ID, 3)
		byLead := map[int64]automation.Run{}
		for _, r := range runs {
			byLead[r.RecordID] = r
		}
		var contactIDs []any
		outcomes := map[any]int{}
		for _, lead := range []int64{first, second} {
			r := e.run(byLead[lead].ID)
			if r.Status != automation.StatusOK || len(r.Steps) != 2 {
				t.Fatalf("run of lead %d: %+v", lead, r)
			}
			out := r.Steps[0].Output
			contactIDs = append(contactIDs, path(out, "id"))
			outcomes[path(out, "outcome")]++
			comments := e.comments("leads", lead)
			want := fmt.Sprintf("Клиент: контакт %v", path(out, "id"))
			if len(comments) != 1 || comments[0] != want {
				t.Fatalf("lead %d's timeline %q, want %q", lead, comments, want)
			}
		}
		if contactIDs[0] != contactIDs[1] || outcomes["created"] != 1 || outcomes["found"] != 1 {
			t.Fatalf("the second lead made another contact: %v %v", contactIDs, outcomes)
		}
		if byLead[third].Status != automation.StatusFiltered {
			t.Fatalf("a lead without a phone: %s", runs[2].Status)
		}
		var contacts struct {
			Items []struct {
				Name     string `json:"name"`
				LastName string `json:"last_name"`
				Phones   []struct {
					Value string `json:"value"`
				} `json:"phones"`
			} `json:"items"`
		}
		e.must(e.do("GET", "/api/v1/contacts", nil), 200).json(t, &contacts)
		// One contact, made by whichever run came first (they run at once).
		if len(contacts.Items) != 1 || contacts.Items[0].Name != "Иван" || len(contacts.Items[0].Phones) != 1 {
			t.Fatalf("contacts %+v", contacts.Items)
		}
	})
}

// comments are the texts of a record's timeline comments.
func (e *env) comments(collection string, id int64) []string {
	e.t.Helper()
	var tl struct {
		Items []struct {
			Kind string `json:"kind"`
			Body string `json:"body"`
			Text string `json:"text"`
		} `json:"items"`
	}
	e.must(e.do("GET", fmt.Sprintf("/api/v1/%s/%d/comments", collection, id), nil), 200).json(e.t, &tl)
	var out []string
	for _, c := range tl.Items {
		out = append(out, c.Body+c.Text)
	}
	return out
}

// Duplicates "update" changes the record found with the step's input;
// "create" makes another.
func TestDuplicatesUpdateAndCreate(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		upd := e.bundle(jsonOf(t, `{"name": "обновить", "active": true, "trigger": {"type": "webhook"},
			"steps": [{"id": "c", "action": "crm.contact.create", "input": {"name": "{{trigger.body.name}}",
				"emails": [{"value": "{{trigger.body.email}}", "value_type": "work"}], "position": "{{trigger.body.position}}"},
				"duplicates": {"by": ["email"], "then": "update"}}]}`))
		e.must(e.do("POST", upd.WebhookURL, map[string]any{"name": "Анна", "email": "anna@example.ru", "position": "бухгалтер"}), http.StatusAccepted)
		e.waitRuns(upd.ID, 1)
		e.must(e.do("POST", upd.WebhookURL, map[string]any{"name": "Анна", "email": "ANNA@example.ru", "position": "главный бухгалтер"}), http.StatusAccepted)
		runs := e.waitRuns(upd.ID, 2)
		r := e.run(runs[1].ID)
		if path(r.Steps[0].Output, "outcome") != "updated" || path(r.Steps[0].Output, "position") != "главный бухгалтер" {
			t.Fatalf("update: %v", r.Steps[0].Output)
		}
		mk := e.bundle(jsonOf(t, `{"name": "всегда новый", "active": true, "trigger": {"type": "webhook"},
			"steps": [{"id": "c", "action": "crm.contact.create", "input": {"name": "{{trigger.body.name}}",
				"emails": [{"value": "{{trigger.body.email}}", "value_type": "work"}]},
				"duplicates": {"by": ["email"], "then": "create"}}]}`))
		e.must(e.do("POST", mk.WebhookURL, map[string]any{"name": "Анна", "email": "anna@example.ru"}), http.StatusAccepted)
		runs = e.waitRuns(mk.ID, 1)
		if out := e.run(runs[0].ID).Steps[0].Output; path(out, "outcome") != "created" || path(out, "matches") != float64(1) {
			t.Fatalf("create: %v", out)
		}
	})
}

// Each template of the gallery is a valid bundle; the site-order and the
// deal-won ones do their work end to end.
func TestGalleryTemplates(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		var list automation.TemplateList
		e.must(e.do("GET", "/api/v1/bundles/templates", nil), 200).json(t, &list)
		if len(list.Items) < 3 {
			t.Fatalf("%d templates", len(list.Items))
		}
		byName := map[string]automation.Definition{}
		for _, tp := range list.Items {
			if r := e.do("POST", "/api/v1/bundles/validate", tp.Definition); r.Status != http.StatusNoContent {
				t.Fatalf("template %s: %d %s", tp.Name, r.Status, r.Body)
			}
			if tp.Definition.Active {
				t.Fatalf("template %s is on", tp.Name)
			}
			d := tp.Definition
			d.Active = true
			byName[tp.Name] = d
		}
		order := e.bundle(byName["site-order-webhook"])
		e.must(e.do("POST", order.WebhookURL, map[string]any{"number": "A-17", "name": "Ольга", "phone": "89161234567", "email": "olga@example.ru",
			"items": []any{map[string]any{"name": "Визитки", "price": 1500.5, "quantity": 2}, map[string]any{"name": "Баннер", "price": "700", "quantity": 1}}}),
			http.StatusAccepted)
		r := e.run(e.waitRuns(order.ID, 1)[0].ID)
		if r.Status != automation.StatusOK {
			t.Fatalf("site order: %s %s %+v", r.Status, r.Error, r.Steps)
		}
		so := r.Steps[1].Output
		if path(so, "total") != "3701.00" && path(so, "total") != 3701.0 || path(so, "items[0].name") != "Визитки" || path(so, "from_site") != "A-17" {
			t.Fatalf("sales order %v", so)
		}

		won := e.bundle(byName["deal-won-comment-task"])
		var deal struct {
			ID int64 `json:"id"`
		}
		e.must(e.do("POST", "/api/v1/deals", map[string]any{"title": "Вывеска", "opportunity": "120000.00", "currency": "RUB"}), 201).json(t, &deal)
		e.must(e.do("PATCH", fmt.Sprintf("/api/v1/deals/%d", deal.ID), map[string]any{"stage_id": "WON"}), 200)
		r = e.run(e.waitRuns(won.ID, 1)[0].ID)
		if r.Status != automation.StatusOK {
			t.Fatalf("deal won: %s %s", r.Status, r.Error)
		}
		c := e.comments("deals", deal.ID)
		if len(c) != 1 || !strings.Contains(c[0], "120\u00a0000,00\u00a0₽") {
			t.Fatalf("deal comment %q", c)
		}
		if path(r.Steps[1].Output, "subject") != "Выставить счёт по сделке «Вывеска»" {
			t.Fatalf("task %v", r.Steps[1].Output)
		}
	})
}
