package automation_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// TestCallAction calls actions through POST /api/v1/actions/{name}: the
// statuses, the envelope, the permission, the caller's record access,
// Idempotency-Key, and the journal shared with bundle steps.
func TestCallAction(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		call := func(key, name string, body any, headers ...string) (resp, automation.CallResponse) {
			t.Helper()
			r := e.doKey(key, "POST", "/api/v1/actions/"+name, body, headers...)
			var cr automation.CallResponse
			switch r.Status {
			case http.StatusOK:
				r.json(t, &cr)
			case http.StatusBadRequest:
				// The API's error envelope; the refused input's field.
				var eb struct {
					Error struct {
						Code, Field, Message string
						Details              any
					}
				}
				r.json(t, &eb)
				if eb.Error.Code == "invalid_input" {
					cr = automation.CallResponse{Result: automation.ResultError, Field: eb.Error.Field, Error: eb.Error.Message, Output: eb.Error.Details}
				}
			}
			return r, cr
		}
		acc := e.must(e.do("POST", "/api/v1/accounts", map[string]any{"title": "Ромашка"}), http.StatusCreated)
		var account struct {
			ID int64 `json:"id"`
		}
		acc.json(t, &account)

		cases := []struct {
			name, action string
			body         any
			status       int
			result       string
			field        string
			output       map[string]any
		}{
			{"update OK", "crm.company.update", map[string]any{"id": account.ID, "title": "Ромашка Плюс", "phone": "+7 900 000-00-01"}, 200, "OK", "",
				map[string]any{"result": "true", "error": "", "title": "Ромашка Плюс"}},
			{"update of a missing record", "crm.company.update", map[string]any{"id": 999999, "title": "x"}, 200, "ERROR", "",
				map[string]any{"result": "false", "error": "account 999999 not found"}},
			{"unknown input field", "crm.company.update", map[string]any{"id": account.ID, "titel": "x"}, 400, "ERROR", "titel", nil},
			{"required input missing", "crm.company.update", map[string]any{"title": "x"}, 400, "ERROR", "id", nil},
			{"input refused by the action", "crm.company.update", map[string]any{"id": account.ID, "responsible": "nobody"}, 400, "ERROR", "responsible",
				map[string]any{"result": "false"}},
			{"malformed JSON", "crm.company.update", `{"id": `, 400, "", "", nil},
			{"unknown action", "crm.nothing", map[string]any{}, 404, "", "", nil},
			{"user.info", "user.info", map[string]any{"id": e.admin.ID}, 200, "OK", "", map[string]any{"login": "admin", "active": true}},
		}
		for _, tc := range cases {
			r, cr := call(e.key, tc.action, tc.body)
			if r.Status != tc.status {
				t.Fatalf("%s: status %d, want %d: %s", tc.name, r.Status, tc.status, r.Body)
			}
			if cr.Result != tc.result || cr.Field != tc.field {
				t.Errorf("%s: %s", tc.name, r.Body)
			}
			out, _ := cr.Output.(map[string]any)
			for k, v := range tc.output {
				if out[k] != v {
					t.Errorf("%s: output %s = %#v, want %#v (%s)", tc.name, k, out[k], v, r.Body)
				}
			}
		}

		// A manager needs the "actions" permission; with it the action
		// runs as him, within his record access.
		m, err := e.app.Store.CreateUser(ctx, crm.Actor{UserID: e.admin.ID}, crm.User{Login: "manager", Role: crm.RoleManager}, "manager-password-1")
		if err != nil {
			t.Fatal(err)
		}
		_, mkey, err := e.app.Store.CreateAPIKey(ctx, crm.Actor{UserID: m.ID}, m.ID, "m")
		if err != nil {
			t.Fatal(err)
		}
		if r, _ := call(mkey, "crm.lead.create", map[string]any{"title": "x"}); r.Status != http.StatusForbidden {
			t.Fatalf("a manager without the permission: %d %s", r.Status, r.Body)
		}
		e.must(e.do("PUT", fmt.Sprintf("/api/v1/users/%d/permissions", m.ID), map[string]any{"permissions": []string{store.PermActions}}), http.StatusOK)
		r, cr := call(mkey, "crm.lead.create", map[string]any{"title": "Лид менеджера"})
		out, _ := cr.Output.(map[string]any)
		if r.Status != http.StatusOK || cr.Result != "OK" || out["assigned_by_id"] != float64(m.ID) || out["created_by_id"] != float64(m.ID) {
			t.Fatalf("a manager with the permission: %d %s", r.Status, r.Body)
		}
		if r, cr := call(mkey, "crm.company.update", map[string]any{"id": account.ID, "title": "чужая"}); r.Status != http.StatusOK || cr.Result != "ERROR" {
			t.Fatalf("a manager changing the admin's company: %d %s", r.Status, r.Body)
		}
		if a, _ := e.app.Store.GetAccount(ctx, account.ID); a.Title != "Ромашка Плюс" {
			t.Fatalf("the manager changed the admin's company: %q", a.Title)
		}

		// Idempotency-Key: a repeat answers the stored response and makes
		// nothing again; the key with another body is refused.
		leads := func() int {
			n := 0
			if err := e.d.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM leads").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := leads()
		body := map[string]any{"title": "Один раз"}
		r1, c1 := call(e.key, "crm.lead.create", body, "Idempotency-Key", "k-1")
		r2, c2 := call(e.key, "crm.lead.create", body, "Idempotency-Key", "k-1")
		if r1.Status != 200 || r2.Status != 200 || r2.Header.Get("Idempotent-Replayed") != "true" || r1.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("idempotent calls: %d %d %v", r1.Status, r2.Status, r2.Header)
		}
		o1, _ := c1.Output.(map[string]any)
		o2, _ := c2.Output.(map[string]any)
		if o1["id"] == nil || o1["id"] != o2["id"] || leads() != before+1 {
			t.Fatalf("replay: %v / %v, leads %d → %d", o1["id"], o2["id"], before, leads())
		}
		if r, _ := call(e.key, "crm.lead.create", map[string]any{"title": "Другой"}, "Idempotency-Key", "k-1"); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("a key reused with another body: %d %s", r.Status, r.Body)
		}

		// Secrets are masked in the journal.
		call(e.key, "webhook.send", map[string]any{"url": "http://127.0.0.1:1/hook", "secret": "top-secret-value", "event": "x", "data": map[string]any{}})

		// A bundle's step is journaled beside the direct calls.
		b := e.bundle(map[string]any{"name": "шаг", "active": true, "trigger": map[string]any{"type": "manual", "entity": "lead"},
			"steps": []any{map[string]any{"id": "info", "action": "user.info", "input": map[string]any{"id": "{{trigger.user.id}}"}}}})
		lead := e.lead(map[string]any{"title": "Для связки"})
		var run automation.Run
		e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/run", b.ID), map[string]any{"entity": "lead", "record_id": lead}), http.StatusAccepted).json(t, &run)
		done := e.waitStatus(run.ID, automation.StatusOK)
		if got := done.Steps[0].Output.(map[string]any)["login"]; got != "admin" {
			t.Fatalf("user.info in a bundle: %v", done.Steps[0].Output)
		}

		var list automation.CallList
		e.must(e.do("GET", "/api/v1/actions/calls?limit=500", nil), http.StatusOK).json(t, &list)
		sources := map[string]int{}
		for _, c := range list.Items {
			sources[c.Source]++
			if strings.Contains(fmt.Sprint(c.Input), "top-secret-value") {
				t.Errorf("the journal shows a secret: %v", c.Input)
			}
		}
		// Direct rows: 8 cases less the malformed JSON and the unknown
		// action, 2 calls of the manager with the permission (the one
		// refused is not journaled), the idempotent pair (one row), the
		// webhook; and the bundle's step.
		if sources[automation.SourceAPI] != 6+2+1+1 || sources[automation.SourceBundle] != 1 {
			t.Errorf("journal sources %v", sources)
		}
		e.must(e.do("GET", "/api/v1/actions/calls?action=crm.company.update&result=ERROR", nil), http.StatusOK).json(t, &list)
		if len(list.Items) != 5 {
			t.Errorf("company update errors: %d", len(list.Items))
		}
		for _, c := range list.Items {
			if c.Action != "crm.company.update" || c.Result != "ERROR" || c.Error == "" {
				t.Errorf("filtered: %+v", c)
			}
		}
		e.must(e.do("GET", "/api/v1/actions/calls?action=user.info&source=bundle", nil), http.StatusOK).json(t, &list)
		if len(list.Items) != 1 || list.Items[0].RunID != run.ID || list.Items[0].BundleID != b.ID {
			t.Errorf("bundle step: %+v", list.Items)
		}
		// Paging goes through every row once.
		seen := map[string]bool{}
		next := ""
		for page := 0; page < 20; page++ {
			var p automation.CallList
			e.must(e.do("GET", "/api/v1/actions/calls?limit=3&before="+next, nil), http.StatusOK).json(t, &p)
			for _, c := range p.Items {
				k := fmt.Sprintf("%s.%d", c.Source, c.ID)
				if seen[k] {
					t.Fatalf("row %s twice", k)
				}
				seen[k] = true
			}
			if next = p.NextBefore; next == "" {
				break
			}
		}
		if len(seen) != 11 {
			t.Errorf("paged through %d rows, want 11", len(seen))
		}
		// The journal is for administrators.
		if r := e.doKey(mkey, "GET", "/api/v1/actions/calls", nil); r.Status != http.StatusForbidden {
			t.Errorf("manager reads the journal: %d", r.Status)
		}
	})
}

// TestSeedActionsInABundle runs seed 003's actions as a bundle's steps:
// user info, the four record updates, an activity made and deleted, a
// timeline post — each step's output as the seed returns it.
func TestSeedActionsInABundle(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		id := func(path string, body map[string]any) int64 {
			var rec struct {
				ID int64 `json:"id"`
			}
			e.must(e.do("POST", "/api/v1/"+path, body), http.StatusCreated).json(t, &rec)
			return rec.ID
		}
		acc := id("accounts", map[string]any{"title": "Ромашка"})
		ct := id("contacts", map[string]any{"name": "Иван"})
		lead := id("leads", map[string]any{"title": "Заявка"})
		deal := id("deals", map[string]any{"title": "Поставка", "account_id": acc})
		b := e.bundle(jsonOf(t, fmt.Sprintf(`{"name": "seed 003", "active": true, "trigger": {"type": "manual", "entity": "deal"},
			"steps": [
				{"id": "who", "action": "user.info", "input": {"id": ["{{trigger.user.id}}"]}},
				{"id": "deal", "action": "crm.deal.update", "input": {"id": "{{trigger.record.id}}", "stage": "Подготовка документов", "comment": "от {{steps.who.login}}", "contacts": [%d]}},
				{"id": "company", "action": "crm.company.update", "input": {"id": "{{trigger.record.account_id}}", "phone": "+7 900 111-22-33", "contacts": "%d"}},
				{"id": "contact", "action": "crm.contact.update", "input": {"id": %d, "post": "Директор", "source": "Звонок"}},
				{"id": "lead", "action": "crm.lead.update", "input": {"id": %d, "status": "IN_PROCESS", "companies": ["{{trigger.record.account_id}}"]}},
				{"id": "call", "action": "crm.activity.create", "input": {"title": "Позвонить", "type": "звонок", "content": "Счёт", "entity_type": "CRM_DEAL", "entity_id": "{{trigger.record.id}}", "importance": "high", "responsible": "{{steps.who.id}}", "communication": "+7 900 111-22-33"}},
				{"id": "drop", "action": "crm.activity.delete", "input": {"id": "{{steps.call.id}}"}},
				{"id": "post", "action": "crm.timeline.add", "input": {"entity": "CRM_DEAL", "id": "{{trigger.record.id}}", "title": "Оплачено", "text": "дело {{steps.call.id}}", "author": "{{steps.who.login}}"}},
				{"id": "missing", "action": "crm.lead.update", "input": {"id": 999999, "title": "x"}, "on_error": "continue"}
			]}`, ct, ct, ct, lead)))
		var run automation.Run
		e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/run", b.ID), map[string]any{"entity": "deal", "record_id": deal}), http.StatusAccepted).json(t, &run)
		r := e.waitStatus(run.ID, automation.StatusOK)
		out := map[string]any{}
		for _, s := range r.Steps {
			out[s.StepID] = s.Output
		}
		for step, want := range map[string]string{"deal.result": "true", "company.result": "true", "contact.result": "true", "lead.result": "true",
			"drop.result": "true", "post.result": "true", "who.login": "admin", "missing.result": "false", "missing.error": "lead 999999 not found"} {
			if got := path(out, step); got != want {
				t.Errorf("%s = %v, want %s", step, got, want)
			}
		}
		d, _ := e.app.Store.GetDeal(ctx, deal)
		c, _ := e.app.Store.GetContact(ctx, ct)
		l, _ := e.app.Store.GetLead(ctx, lead)
		a, _ := e.app.Store.GetAccount(ctx, acc)
		if d.StageID != "PREPARATION" || d.Comments != "от admin" || len(d.ContactIDs) != 1 || c.Position != "Директор" || c.SourceID != "CALL" ||
			len(c.AccountIDs) != 1 || l.StatusID != "IN_PROCESS" || l.AccountID != acc || len(a.Phones) != 1 {
			t.Errorf("records: deal %+v\ncontact %+v\nlead %+v\naccount %+v", d, c, l, a)
		}
		comments, _ := e.app.Store.ListComments(ctx, "deal", deal)
		if len(comments) != 1 || !strings.HasPrefix(comments[0].Body, "Оплачено\n\nдело ") {
			t.Errorf("timeline %+v", comments)
		}
	})
}

// TestCallJournalKept: direct calls are purged with the runs, after the
// journal's keeping time, and not before.
func TestCallJournalKept(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.must(e.do("POST", "/api/v1/actions/user.info", map[string]any{"id": e.admin.ID}), http.StatusOK)
		e.must(e.do("POST", "/api/v1/actions/user.info", map[string]any{"id": e.admin.ID}), http.StatusOK)
		// One of them made older than the keeping time.
		old := time.Now().Add(-automation.DefaultKeepRuns - time.Hour).UnixMicro()
		if err := e.d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE automation_action_calls SET started_at = $1 WHERE id = (SELECT MIN(id) FROM automation_action_calls)", old)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := e.app.Automation.Purge(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := e.d.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM automation_action_calls").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%d calls after the purge, want the recent one", n)
		}
	})
}
