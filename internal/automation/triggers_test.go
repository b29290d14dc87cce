package automation_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store/storetest"
)

func anyDB(t testing.TB) *db.DB { return storetest.OpenAny(t) }

// The webhook trigger takes JSON, a form or query parameters, answers
// 202 once the run is queued, makes one run per Idempotency-Key, and
// refuses what it must.
func TestWebhookTrigger(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.bundle(jsonOf(t, `{"name": "hook", "active": true, "trigger": {"type": "webhook"},
			"steps": [{"id": "s", "action": "test.echo", "input": {"value": {"body": "{{trigger.body}}", "q": "{{trigger.query.src}}", "m": "{{trigger.method}}", "h": "{{trigger.headers[\"x-shop\"]}}"}}}]}`))
		if !strings.HasPrefix(b.WebhookURL, e.srv.URL+"/hooks/") {
			t.Fatalf("webhook URL %q", b.WebhookURL)
		}
		send := func(method, u, ctype, body string, headers ...string) resp {
			req, _ := http.NewRequest(method, u, strings.NewReader(body))
			if ctype != "" {
				req.Header.Set("Content-Type", ctype)
			}
			for i := 0; i+1 < len(headers); i += 2 {
				req.Header.Set(headers[i], headers[i+1])
			}
			res, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var buf strings.Builder
			_, _ = fmt.Fprint(&buf, "")
			bb := make([]byte, 4096)
			n, _ := res.Body.Read(bb)
			return resp{Status: res.StatusCode, Body: bb[:n]}
		}
		e.must(send("POST", b.WebhookURL+"?src=site", "application/json", `{"order": 17, "items": [{"name": "Баннер"}]}`, "X-Shop", "1"), http.StatusAccepted)
		e.must(send("POST", b.WebhookURL, "application/x-www-form-urlencoded", "name=%D0%98%D0%B2%D0%B0%D0%BD&tag=a&tag=b"), http.StatusAccepted)
		e.must(send("GET", b.WebhookURL+"?src=calltouch&phone=79256424290", "", ""), http.StatusAccepted)
		// The same delivery twice: one run.
		var first, again struct {
			RunID int64 `json:"run_id"`
		}
		e.must(send("POST", b.WebhookURL, "application/json", `{"x": 1}`, "Idempotency-Key", "evt-1"), http.StatusAccepted).json(t, &first)
		e.must(send("POST", b.WebhookURL, "application/json", `{"x": 1}`, "Idempotency-Key", "evt-1"), http.StatusAccepted).json(t, &again)
		if first.RunID == 0 || first.RunID != again.RunID {
			t.Fatalf("a repeated delivery made runs %d and %d", first.RunID, again.RunID)
		}
		runs := e.waitRuns(b.ID, 4)
		if len(runs) != 4 {
			t.Fatalf("%d runs", len(runs))
		}
		out := func(i int) any { return e.run(runs[i].ID).Steps[0].Output }
		if path(out(0), "value.body.items[0].name") != "Баннер" || path(out(0), "value.q") != "site" || path(out(0), "value.h") != "1" {
			t.Fatalf("JSON: %v", out(0))
		}
		if path(out(1), "value.body.name") != "Иван" || path(out(1), "value.body.tag[1]") != "b" {
			t.Fatalf("form: %v", out(1))
		}
		if path(out(2), "value.body.phone") != "79256424290" || path(out(2), "value.m") != "GET" {
			t.Fatalf("query: %v", out(2))
		}
		// Refusals.
		if r := send("POST", e.srv.URL+"/hooks/"+strings.Repeat("x", 32), "application/json", `{}`); r.Status != http.StatusNotFound {
			t.Fatalf("unknown token: %d", r.Status)
		}
		if r := send("POST", b.WebhookURL, "application/json", `{"broken": `); r.Status != http.StatusBadRequest {
			t.Fatalf("broken JSON: %d %s", r.Status, r.Body)
		}
		if r := send("POST", b.WebhookURL, "application/json", `{"big": "`+strings.Repeat("я", 600_000)+`"}`); r.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("too large: %d", r.Status)
		}
		e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/deactivate", b.ID), nil), http.StatusOK)
		if r := send("POST", b.WebhookURL, "application/json", `{}`); r.Status != http.StatusConflict {
			t.Fatalf("switched off: %d", r.Status)
		}
		// A new URL; the old one stops working.
		e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/activate", b.ID), nil), http.StatusOK)
		var nb automation.Bundle
		e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/webhook-url", b.ID), nil), http.StatusOK).json(t, &nb)
		if nb.WebhookURL == b.WebhookURL {
			t.Fatal("the URL did not change")
		}
		if r := send("POST", b.WebhookURL, "application/json", `{}`); r.Status != http.StatusNotFound {
			t.Fatalf("old URL: %d", r.Status)
		}
		e.must(send("POST", nb.WebhookURL, "application/json", `{}`), http.StatusAccepted)
	})
}

// The webhook trigger is rate-limited per bundle.
func TestWebhookRateLimit(t *testing.T) {
	e := newEnv(t, anyDB(t), automation.WithHookLimits(time.Hour, 3, 1<<20))
	b := e.bundle(jsonOf(t, `{"name": "hook", "active": true, "trigger": {"type": "webhook"},
		"steps": [{"id": "s", "action": "test.echo"}]}`))
	codes := []int{}
	for i := 0; i < 5; i++ {
		codes = append(codes, e.do("POST", b.WebhookURL, map[string]any{"i": i}).Status)
	}
	if fmt.Sprint(codes) != "[202 202 202 429 429]" {
		t.Fatalf("codes %v", codes)
	}
}

// A schedule fires at its times, once each; the next time is in the
// bundle.
func TestScheduleTrigger(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.bundle(jsonOf(t, `{"name": "каждую секунду", "active": true, "trigger": {"type": "schedule", "cron": "@every 1s", "tz": "Asia/Yekaterinburg"},
			"steps": [{"id": "s", "action": "test.echo", "input": {"value": "{{trigger.scheduled_at}}"}}]}`))
		if b.NextFireAt == nil {
			t.Fatal("no next fire time")
		}
		runs := e.waitRuns(b.ID, 3)
		keys := map[string]bool{}
		for _, r := range runs {
			if keys[r.TriggerKey] {
				t.Fatalf("time %s fired twice", r.TriggerKey)
			}
			keys[r.TriggerKey] = true
			if r.TriggerType != "schedule" || r.Status != automation.StatusOK {
				t.Fatalf("run %+v", r)
			}
		}
		if got, _ := path(e.run(runs[0].ID).Steps[0].Output, "value").(string); !strings.HasSuffix(got, "+05:00") {
			t.Fatalf("scheduled_at %q not in the bundle's time zone", got)
		}
		e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/deactivate", b.ID), nil), http.StatusOK)
		n := len(e.runs(b.ID, ""))
		time.Sleep(1500 * time.Millisecond)
		if m := len(e.runs(b.ID, "")); m != n {
			t.Fatalf("a switched-off schedule fired: %d → %d", n, m)
		}
	})
}

// A manual bundle runs on a record from its card: any user who sees the
// record; trigger.record and trigger.user are filled.
func TestManualRun(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.bundle(jsonOf(t, `{"name": "вручную", "active": true, "trigger": {"type": "manual", "entity": "lead"},
			"steps": [{"id": "s", "action": "test.echo", "input": {"value": "{{trigger.user.login}}: {{trigger.record.title}}"}}]}`))
		id := e.lead(map[string]any{"title": "Мой лид"})
		var run automation.Run
		e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/run", b.ID), map[string]any{"entity": "lead", "record_id": id}), http.StatusAccepted).json(t, &run)
		r := e.waitStatus(run.ID, automation.StatusOK)
		if got := path(r.Steps[0].Output, "value"); got != "admin: Мой лид" {
			t.Fatalf("output %v", got)
		}
		// A manager who does not see the lead cannot run on it.
		ctx := t.Context()
		m, err := e.app.Store.CreateUser(ctx, crm.Actor{UserID: e.admin.ID}, crm.User{Login: "manager", Role: crm.RoleManager}, "manager-password-1")
		if err != nil {
			t.Fatal(err)
		}
		_, mkey, err := e.app.Store.CreateAPIKey(ctx, crm.Actor{UserID: m.ID}, m.ID, "m")
		if err != nil {
			t.Fatal(err)
		}
		if r := e.doKey(mkey, "POST", fmt.Sprintf("/api/v1/bundles/%d/run", b.ID), map[string]any{"entity": "lead", "record_id": id}); r.Status != http.StatusNotFound {
			t.Fatalf("a manager ran a bundle on a lead they do not see: %d %s", r.Status, r.Body)
		}
		own := e.leadAs(mkey, map[string]any{"title": "Лид менеджера"})
		e.must(e.doKey(mkey, "POST", fmt.Sprintf("/api/v1/bundles/%d/run", b.ID), map[string]any{"entity": "lead", "record_id": own}), http.StatusAccepted)
		// Managers do not manage bundles or read the journal.
		for _, p := range []string{"/api/v1/bundles", "/api/v1/runs", fmt.Sprintf("/api/v1/runs/%d", run.ID)} {
			if r := e.doKey(mkey, "GET", p, nil); r.Status != http.StatusForbidden {
				t.Fatalf("manager GET %s: %d", p, r.Status)
			}
		}
		// Only manual bundles run by hand, on their entity.
		if r := e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/run", b.ID), map[string]any{"entity": "deal", "record_id": 1}); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("wrong entity: %d", r.Status)
		}
	})
}

func (e *env) leadAs(key string, fields map[string]any) int64 {
	e.t.Helper()
	var l struct {
		ID int64 `json:"id"`
	}
	e.must(e.doKey(key, "POST", "/api/v1/leads", fields), http.StatusCreated).json(e.t, &l)
	return l.ID
}

// Test mode runs against a record or an event with writes disabled, and
// shows each step.
func TestTestModeWritesNothing(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.bundle(jsonOf(t, `{"name": "тест", "active": false,
			"trigger": {"type": "crm.event", "entity": "lead", "actions": ["create", "update"]},
			"steps": [{"id": "rename", "action": "test.set_title", "input": {"id": "{{trigger.record.id}}", "title": "{{upper(trigger.record.title)}}"}},
				{"id": "echo", "action": "test.echo", "input": {"value": "{{steps.rename.would}}"}}]}`))
		id := e.lead(map[string]any{"title": "тихо"})
		var res automation.TestResult
		e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/test", b.ID), map[string]any{"entity": "lead", "record_id": id}), http.StatusOK).json(t, &res)
		if res.Status != automation.StatusOK || len(res.Steps) != 2 {
			t.Fatalf("test %+v", res)
		}
		if path(res.Steps[0].Output, "dry_run") != true || path(res.Steps[0].Output, "send.title") != "ТИХО" {
			t.Fatalf("preview %v", res.Steps[0].Output)
		}
		var l struct {
			Title string `json:"title"`
		}
		e.must(e.do("GET", fmt.Sprintf("/api/v1/leads/%d", id), nil), http.StatusOK).json(t, &l)
		if l.Title != "тихо" {
			t.Fatalf("test mode wrote: %q", l.Title)
		}
		// On the lead's creation event, and an unsaved definition.
		evs := e.app.Store
		list, err := evs.Events(t.Context(), eventsAfter(0))
		if err != nil {
			t.Fatal(err)
		}
		var evID int64
		for _, ev := range list {
			if ev.Entity == "lead" && ev.RecordID == id {
				evID = ev.ID
			}
		}
		def := jsonOf(t, `{"name": "черновик", "trigger": {"type": "crm.event", "entity": "lead", "actions": ["create"]},
			"filters": {"all": [{"value": "{{trigger.event.action}}", "op": "eq", "arg": "update"}]},
			"steps": [{"id": "echo", "action": "test.echo", "input": {"value": "{{trigger.event.id}}"}}]}`)
		e.must(e.do("POST", "/api/v1/bundles/test", map[string]any{"definition": def, "event_id": evID}), http.StatusOK).json(t, &res)
		if res.Status != automation.StatusFiltered || res.Passed {
			t.Fatalf("filters: %+v", res)
		}
		e.must(e.do("POST", "/api/v1/bundles/test", map[string]any{"definition": def, "event_id": evID, "ignore_filters": true}), http.StatusOK).json(t, &res)
		if res.Status != automation.StatusOK || path(res.Steps[0].Output, "value") != float64(evID) {
			t.Fatalf("on event %d: %+v", evID, res)
		}
		if n := len(e.runs(b.ID, "")); n != 0 {
			t.Fatalf("test mode left %d runs", n)
		}
	})
}

// Export and import carry bundles between installations; secrets stay
// behind.
func TestExportImport(t *testing.T) {
	e := newEnv(t, anyDB(t))
	e.bundle(jsonOf(t, `{"name": "один", "active": true, "trigger": {"type": "manual"}, "steps": [{"id": "a", "action": "test.echo", "input": {"value": "1"}}]}`))
	e.bundle(jsonOf(t, `{"name": "два", "active": false, "trigger": {"type": "schedule", "cron": "0 9 * * 1-5"}, "steps": [{"id": "a", "action": "test.echo"}]}`))
	r := e.must(e.do("GET", "/api/v1/bundles/export", nil), http.StatusOK)
	if !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("headers %v", r.Header)
	}
	other := newEnv(t, anyDB(t))
	var imp automation.ImportResult
	other.must(other.do("POST", "/api/v1/bundles/import", r.Body), http.StatusCreated).json(t, &imp)
	if len(imp.Items) != 2 || imp.Items[0].Name != "один" || imp.Items[1].Trigger.Cron != "0 9 * * 1-5" {
		t.Fatalf("imported %+v", imp.Items)
	}
	// All or none: one bad bundle refuses the file, naming its place.
	bad := `{"bundles": [{"name": "ok", "trigger": {"type": "manual"}, "steps": [{"id": "a", "action": "test.echo"}]},
		{"name": "bad", "trigger": {"type": "manual"}, "steps": [{"id": "a", "action": "nope"}]}]}`
	res := other.do("POST", "/api/v1/bundles/import", bad)
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(string(res.Body), "bundles[1]") {
		t.Fatalf("bad import: %d %s", res.Status, res.Body)
	}
	if n := len(other.bundlesList()); n != 2 {
		t.Fatalf("%d bundles after a refused import", n)
	}
	_ = url.Values{}
}

func eventsAfter(id int64) events.Query { return events.Query{After: id, Limit: 10000} }
