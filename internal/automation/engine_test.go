package automation_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
)

// A lead created through the API starts the bundle; templates see the
// trigger's record and event and the output of earlier steps, a template
// that is exactly one expression keeps its type.
func TestCRMEventRunsSteps(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.bundle(jsonOf(t, `{"name": "Лид → эхо", "active": true,
			"trigger": {"type": "crm.event", "entity": "lead", "actions": ["create"]},
			"steps": [
				{"id": "first", "action": "test.echo", "input": {"value": "Лид «{{trigger.record.title}}» от {{trigger.event.actor}}"}},
				{"id": "second", "action": "test.echo", "input": {"value": {"id": "{{trigger.record.id}}", "prev": "{{steps.first.value}}", "ok": "{{steps.first.result}}"}}}
			]}`))
		id := e.lead(map[string]any{"title": "Звонок", "name": "Иван"})
		runs := e.waitRuns(b.ID, 1)
		r := e.run(runs[0].ID)
		if r.Status != automation.StatusOK {
			t.Fatalf("run %+v", r)
		}
		if len(r.Steps) != 2 || r.Steps[0].Result != "OK" || r.Steps[1].Result != "OK" {
			t.Fatalf("steps %+v", r.Steps)
		}
		want := "Лид «Звонок» от apikey:"
		if got, _ := path(r.Steps[0].Output, "value").(string); !strings.HasPrefix(got, want) {
			t.Fatalf("first step's output %q, want %q…", got, want)
		}
		if got := path(r.Steps[1].Output, "value.id"); got != float64(id) {
			t.Fatalf("the id passed as %T %v, want the number %d", got, got, id)
		}
		if got := path(r.Steps[1].Output, "value.ok"); got != "OK" {
			t.Fatalf("steps.first.result = %v", got)
		}
		if got := path(r.Trigger, "event.action"); got != "create" {
			t.Fatalf("trigger.event.action = %v", got)
		}
		if r.Entity != "lead" || r.RecordID != id || r.Version != 1 {
			t.Fatalf("run %+v", r)
		}
		// An update is not a create: no second run.
		e.must(e.do("PATCH", fmt.Sprintf("/api/v1/leads/%d", id), map[string]any{"title": "Звонок 2"}), http.StatusOK)
		e.lead(map[string]any{"title": "Второй"})
		runs = e.waitRuns(b.ID, 2)
		if len(runs) != 2 {
			t.Fatalf("%d runs", len(runs))
		}
	})
}

// fields and changed_to narrow a trigger to the changes that matter.
func TestTriggerFieldsAndChangedTo(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		won := e.bundle(jsonOf(t, `{"name": "won", "active": true,
			"trigger": {"type": "crm.event", "entity": "lead", "actions": ["update"], "changed_to": {"status_id": "JUNK"}},
			"steps": [{"id": "s", "action": "test.echo", "input": {"value": "{{trigger.old.status_id}} → {{trigger.record.status_id}}"}}]}`))
		title := e.bundle(jsonOf(t, `{"name": "title", "active": true,
			"trigger": {"type": "crm.event", "entity": "lead", "fields": ["title"]},
			"steps": [{"id": "s", "action": "test.echo", "input": {"value": "{{trigger.event.changes.title.old}} → {{trigger.event.changes.title.new}}"}}]}`))
		id := e.lead(map[string]any{"title": "A"}) // title changed from nothing: one run of "title"
		e.must(e.do("PATCH", fmt.Sprintf("/api/v1/leads/%d", id), map[string]any{"comments": "x"}), http.StatusOK)
		e.must(e.do("PATCH", fmt.Sprintf("/api/v1/leads/%d", id), map[string]any{"status_id": "JUNK"}), http.StatusOK)
		e.must(e.do("PATCH", fmt.Sprintf("/api/v1/leads/%d", id), map[string]any{"title": "B"}), http.StatusOK)
		runs := e.waitRuns(won.ID, 1)
		if got := path(e.run(runs[0].ID).Steps[0].Output, "value"); got != "NEW → JUNK" {
			t.Fatalf("won: %v", got)
		}
		runs = e.waitRuns(title.ID, 2)
		if got := path(e.run(runs[1].ID).Steps[0].Output, "value"); got != "A → B" {
			t.Fatalf("title: %v", got)
		}
		time.Sleep(200 * time.Millisecond)
		if n := len(e.runs(won.ID, "")); n != 1 {
			t.Fatalf("won ran %d times", n)
		}
		if n := len(e.runs(title.ID, "")); n != 2 {
			t.Fatalf("title ran %d times", n)
		}
	})
}

// An item the filters refuse is kept a while as "filtered", with why.
func TestFilteredRunKeepsWhy(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.bundle(jsonOf(t, `{"name": "с телефоном", "active": true,
			"trigger": {"type": "crm.event", "entity": "lead", "actions": ["create"]},
			"filters": {"all": [{"value": "{{trigger.record.phones[0].value}}", "op": "not_empty"}]},
			"steps": [{"id": "s", "action": "test.echo", "input": {"value": "{{trigger.record.phones[0].value}}"}}]}`))
		e.lead(map[string]any{"title": "без телефона"})
		e.lead(map[string]any{"title": "с телефоном", "phones": []any{map[string]any{"value": "8 925 642-42-90"}}})
		runs := e.waitRuns(b.ID, 2)
		if runs[0].Status != automation.StatusFiltered || runs[1].Status != automation.StatusOK {
			t.Fatalf("statuses %s, %s", runs[0].Status, runs[1].Status)
		}
		f := e.run(runs[0].ID)
		if f.FilterTrace == nil || len(f.Steps) != 0 {
			t.Fatalf("filtered run: trace %v, steps %v", f.FilterTrace, f.Steps)
		}
		var l automation.RunList
		e.must(e.do("GET", fmt.Sprintf("/api/v1/runs?bundle_id=%d&status=filtered", b.ID), nil), 200).json(t, &l)
		if len(l.Items) != 1 {
			t.Fatalf("journal filtered by status: %d", len(l.Items))
		}
	})
}

// A bundle with mistakes is refused naming the step and the field of
// each.
func TestRefusedBundleNamesStepAndField(t *testing.T) {
	e := newEnv(t, anyDB(t))
	cases := []struct {
		name, def, step, field, msg string
	}{
		{"unknown action", `{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","action":"crm.nothing"}]}`, "a", "action", "unknown action"},
		{"unknown step", `{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","action":"test.echo","input":{"value":"{{steps.zz.id}}"}}]}`, "a", "input", `unknown step "zz"`},
		{"later step", `{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","action":"test.echo","input":{"value":"{{steps.b.value}}"}},{"id":"b","action":"test.echo"}]}`, "a", "input", `step "b"`},
		{"bad expression", `{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","action":"test.echo","input":{"value":"{{ upper( }}"}}]}`, "a", "input.value", ""},
		{"unknown field", `{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","action":"test.echo","input":{"valu":"1"}}]}`, "a", "input.valu", "no field"},
		{"duplicate id", `{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","action":"test.echo"},{"id":"a","action":"test.echo"}]}`, "a", "id", "used by another step"},
		{"bad trigger", `{"name":"x","trigger":{"type":"crm.event","entity":"leads"},"steps":[{"id":"a","action":"test.echo"}]}`, "", "trigger.entity", "not one of"},
		{"bad cron", `{"name":"x","trigger":{"type":"schedule","cron":"every day"},"steps":[{"id":"a","action":"test.echo"}]}`, "", "trigger.cron", ""},
		{"bad op", `{"name":"x","trigger":{"type":"manual"},"filters":{"all":[{"value":"1","op":"equals","arg":"1"}]},"steps":[{"id":"a","action":"test.echo"}]}`, "", "filters", "equals"},
		{"no name", `{"trigger":{"type":"manual"},"steps":[{"id":"a","action":"test.echo"}]}`, "", "name", "required"},
		{"on_error", `{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","action":"test.echo","on_error":"retry"}]}`, "a", "on_error", ""},
		{"duplicates unsupported", `{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","action":"test.echo","duplicates":{"by":["phone"],"then":"skip"}}]}`, "a", "duplicates", "no duplicate handling"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/bundles", c.def)
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			var body struct {
				Error struct {
					Message string               `json:"message"`
					Details []automation.Problem `json:"details"`
				} `json:"error"`
			}
			r.json(t, &body)
			if !slices.ContainsFunc(body.Error.Details, func(p automation.Problem) bool {
				return p.Step == c.step && strings.HasPrefix(p.Field, c.field) && strings.Contains(p.Message, c.msg)
			}) {
				t.Fatalf("no problem at step %q field %q (%q) in %s", c.step, c.field, c.msg, r.Body)
			}
			// The same through the live check.
			if r := e.do("POST", "/api/v1/bundles/validate", c.def); r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("validate: %d", r.Status)
			}
		})
	}
	if n := len(e.bundlesList()); n != 0 {
		t.Fatalf("%d bundles saved", n)
	}
}

func (e *env) bundlesList() []automation.Bundle {
	var l automation.BundleList
	e.must(e.do("GET", "/api/v1/bundles", nil), 200).json(e.t, &l)
	return l.Items
}

// on_error continue goes on; when skips a step; a later step sees an
// earlier one's result and error.
func TestOnErrorAndWhen(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.bundle(jsonOf(t, `{"name": "ошибки", "active": true, "trigger": {"type": "manual"},
			"steps": [
				{"id": "bad", "action": "test.fail", "input": {"message": "нет связи"}, "on_error": "continue"},
				{"id": "after", "action": "test.echo", "input": {"value": "{{steps.bad.result}}: {{steps.bad.error}}"},
				 "when": {"value": "{{steps.bad.result}}", "op": "eq", "arg": "ERROR"}},
				{"id": "skipped", "action": "test.echo", "input": {"value": "x"}, "when": {"value": "{{steps.bad.result}}", "op": "eq", "arg": "OK"}},
				{"id": "stop_here", "action": "test.fail", "input": {"message": "конец"}},
				{"id": "never", "action": "test.echo", "input": {"value": "never"}}
			]}`))
		var run automation.Run
		e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/run", b.ID), map[string]any{}), http.StatusAccepted).json(t, &run)
		r := e.waitStatus(run.ID, automation.StatusError)
		results := []string{}
		for _, s := range r.Steps {
			results = append(results, s.StepID+"="+s.Result)
		}
		if got := strings.Join(results, " "); got != "bad=ERROR after=OK skipped=SKIPPED stop_here=ERROR" {
			t.Fatalf("steps: %s", got)
		}
		if got := path(r.Steps[1].Output, "value"); got != "ERROR: нет связи" {
			t.Fatalf("after: %v", got)
		}
		if r.ErrorStep != "stop_here" || r.Error != "конец" {
			t.Fatalf("error %q at %q", r.Error, r.ErrorStep)
		}
	})
}

// A transient failure is retried with backoff and each attempt is in the
// journal; past max_attempts the run fails naming the step.
func TestTransientRetries(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ok := e.bundle(jsonOf(t, `{"name": "retry", "active": true, "trigger": {"type": "manual"},
			"steps": [{"id": "call", "action": "test.flaky", "input": {"times": 2}}]}`))
		var run automation.Run
		e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/run", ok.ID), map[string]any{}), http.StatusAccepted).json(t, &run)
		r := e.waitStatus(run.ID, automation.StatusOK)
		if len(r.Steps) != 3 || r.Steps[0].Result != "ERROR" || r.Steps[1].Attempt != 2 || r.Steps[2].Result != "OK" {
			t.Fatalf("attempts %+v", r.Steps)
		}
		if got := path(r.Steps[2].Output, "call_attempt"); got != float64(3) {
			t.Fatalf("Call.Attempt %v", got)
		}
		bad := e.bundle(jsonOf(t, `{"name": "give up", "active": true, "trigger": {"type": "manual"}, "max_attempts": 2,
			"steps": [{"id": "call", "action": "test.flaky", "input": {"times": 5, "retry_after_ms": 30}}]}`))
		e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/run", bad.ID), map[string]any{}), http.StatusAccepted).json(t, &run)
		r = e.waitStatus(run.ID, automation.StatusError)
		if len(r.Steps) != 2 || r.ErrorStep != "call" || !strings.Contains(r.Error, "after 2 attempts") {
			t.Fatalf("run %+v", r)
		}
	})
}

// Retry continues a failed run from the failed step: the steps before it
// are not run again.
func TestRetryFromFailedStep(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		e.acts.failing.Store(true)
		b := e.bundle(jsonOf(t, `{"name": "retry", "active": true, "trigger": {"type": "manual"},
			"steps": [{"id": "count", "action": "test.count"}, {"id": "gate", "action": "test.fail", "input": {"message": "закрыто"}},
				{"id": "after", "action": "test.echo", "input": {"value": "{{steps.count.n}}"}}]}`))
		var run automation.Run
		e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/run", b.ID), map[string]any{}), http.StatusAccepted).json(t, &run)
		e.waitStatus(run.ID, automation.StatusError)
		if r := e.do("POST", fmt.Sprintf("/api/v1/runs/%d/retry", run.ID+1000), nil); r.Status != http.StatusNotFound {
			t.Fatalf("retry of no run: %d", r.Status)
		}
		e.acts.failing.Store(false)
		e.must(e.do("POST", fmt.Sprintf("/api/v1/runs/%d/retry", run.ID), nil), http.StatusAccepted)
		r := e.waitStatus(run.ID, automation.StatusOK)
		e.acts.failing.Store(true)
		var ids []string
		for _, s := range r.Steps {
			ids = append(ids, s.StepID+"="+s.Result)
		}
		if got := strings.Join(ids, " "); got != "count=OK gate=ERROR gate=OK after=OK" {
			t.Fatalf("steps %s", got)
		}
		if got := path(r.Steps[3].Output, "value"); got != float64(1) {
			t.Fatalf("count ran again: %v", got)
		}
		// A finished run is not retried.
		if r := e.do("POST", fmt.Sprintf("/api/v1/runs/%d/retry", run.ID), nil); r.Status != http.StatusConflict {
			t.Fatalf("retry of a run that is ok: %d %s", r.Status, r.Body)
		}
	})
}

// Replay runs the same trigger data again with the current version.
func TestReplayUsesCurrentVersion(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		def := jsonOf(t, `{"name": "replay", "active": true, "trigger": {"type": "crm.event", "entity": "lead", "actions": ["create"]},
			"steps": [{"id": "s", "action": "test.echo", "input": {"value": "v1 {{trigger.record.title}}"}}]}`)
		b := e.bundle(def)
		e.lead(map[string]any{"title": "Первый"})
		first := e.waitRuns(b.ID, 1)[0]
		def["steps"].([]any)[0].(map[string]any)["input"] = map[string]any{"value": "v2 {{trigger.record.title}}"}
		e.must(e.do("PUT", fmt.Sprintf("/api/v1/bundles/%d", b.ID), def), http.StatusOK)
		var re automation.Run
		e.must(e.do("POST", fmt.Sprintf("/api/v1/runs/%d/replay", first.ID), nil), http.StatusAccepted).json(t, &re)
		r := e.waitStatus(re.ID, automation.StatusOK)
		if r.ReplayOf != first.ID || r.Version != 2 {
			t.Fatalf("replay %+v", r)
		}
		if got := path(r.Steps[0].Output, "value"); got != "v2 Первый" {
			t.Fatalf("replay output %v", got)
		}
		// The first run still shows version 1, as it ran.
		old := e.run(first.ID)
		if old.Version != 1 || path(old.Steps[0].Output, "value") != "v1 Первый" {
			t.Fatalf("first run %+v", old)
		}
		if got := path(old.Definition.Steps[0].Input, "value"); got != "v1 {{trigger.record.title}}" {
			t.Fatalf("the first run's definition shows %v", got)
		}
	})
}

// A bundle's change does not trigger itself; with self_trigger it does,
// until the chain reaches max_depth, which the journal says.
func TestSelfTriggerAndDepth(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		quiet := e.bundle(jsonOf(t, `{"name": "no loop", "active": true,
			"trigger": {"type": "crm.event", "entity": "lead", "actions": ["update"]},
			"steps": [{"id": "s", "action": "test.set_title", "input": {"id": "{{trigger.record.id}}", "title": "{{trigger.record.title}}!"}}]}`))
		id := e.lead(map[string]any{"title": "A"})
		e.must(e.do("PATCH", fmt.Sprintf("/api/v1/leads/%d", id), map[string]any{"title": "B"}), http.StatusOK)
		e.waitRuns(quiet.ID, 1)
		time.Sleep(300 * time.Millisecond)
		if n := len(e.runs(quiet.ID, "")); n != 1 {
			t.Fatalf("the bundle triggered itself: %d runs", n)
		}
		e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/deactivate", quiet.ID), nil), http.StatusOK)

		loop := e.bundle(jsonOf(t, `{"name": "loop", "active": true, "self_trigger": true, "max_depth": 3,
			"trigger": {"type": "crm.event", "entity": "lead", "actions": ["update"]},
			"steps": [{"id": "s", "action": "test.set_title", "input": {"id": "{{trigger.record.id}}", "title": "{{trigger.record.title}}+"}}]}`))
		e.must(e.do("PATCH", fmt.Sprintf("/api/v1/leads/%d", id), map[string]any{"title": "C"}), http.StatusOK)
		e.waitRuns(loop.ID, 4)
		time.Sleep(300 * time.Millisecond) // a fifth would come by now
		runs := e.waitRuns(loop.ID, 4)
		if len(runs) != 4 {
			t.Fatalf("%d runs", len(runs))
		}
		for i, r := range runs[:3] {
			if r.Status != automation.StatusOK || r.Depth != i+1 {
				t.Fatalf("run %d: %s depth %d", i, r.Status, r.Depth)
			}
		}
		last := runs[3]
		if last.Status != automation.StatusError || last.Depth != 4 || !strings.Contains(last.Error, "depth 4") {
			t.Fatalf("the chain did not stop: %+v", last)
		}
	})
}

// A run waiting in a delay keeps the version it started with, survives a
// restart of the job runner, and can be cancelled.
func TestDelayVersionPinningAndRestart(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		def := jsonOf(t, `{"name": "delay", "active": true, "trigger": {"type": "manual"},
			"steps": [{"id": "wait", "action": "test.wait", "input": {"seconds": 1.5}}, {"id": "after", "action": "test.echo", "input": {"value": "v1"}}]}`)
		b := e.bundle(def)
		var run automation.Run
		e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/run", b.ID), map[string]any{}), http.StatusAccepted).json(t, &run)
		w := e.waitStatus(run.ID, automation.StatusWaiting)
		if w.ResumeAt == nil {
			t.Fatalf("waiting without a time: %+v", w)
		}
		var cancel automation.Run
		e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/run", b.ID), map[string]any{}), http.StatusAccepted).json(t, &cancel)
		e.waitStatus(cancel.ID, automation.StatusWaiting)
		e.must(e.do("POST", fmt.Sprintf("/api/v1/runs/%d/cancel", cancel.ID), nil), http.StatusOK)

		// A new version while it waits; then the job runner restarts.
		def["steps"].([]any)[1].(map[string]any)["input"] = map[string]any{"value": "v2"}
		e.must(e.do("PUT", fmt.Sprintf("/api/v1/bundles/%d", b.ID), def), http.StatusOK)
		e.stopJobs()
		time.Sleep(200 * time.Millisecond)
		e.start()
		r := e.waitStatus(run.ID, automation.StatusOK)
		if r.Version != 1 || path(r.Steps[len(r.Steps)-1].Output, "value") != "v1" {
			t.Fatalf("run %+v", r)
		}
		if !time.Now().After(*w.ResumeAt) {
			t.Fatalf("finished before its time")
		}
		time.Sleep(2 * time.Second)
		c := e.run(cancel.ID)
		if c.Status != automation.StatusCancelled || len(c.Steps) != 1 {
			t.Fatalf("cancelled run went on: %+v", c)
		}
	})
}

// Runs with the same order key run one after another, in order; the
// bundle's concurrency bounds its runs at once.
func TestOrderKeyAndConcurrency(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.bundle(jsonOf(t, `{"name": "order", "active": true, "order_key": "{{trigger.body.key}}",
			"trigger": {"type": "webhook"},
			"steps": [{"id": "s", "action": "test.slow", "input": {"key": "{{trigger.body.key}}", "ms": 30}}]}`))
		for i := 0; i < 6; i++ {
			for _, k := range []string{"a", "b"} {
				e.must(e.do("POST", b.WebhookURL, map[string]any{"key": k, "i": i}), http.StatusAccepted)
			}
		}
		runs := e.waitRuns(b.ID, 12)
		e.acts.mu.Lock()
		ma, mb := e.acts.maxRunning["a"], e.acts.maxRunning["b"]
		var orderA []string
		for _, o := range e.acts.order {
			if strings.HasPrefix(o, "a:") {
				orderA = append(orderA, o)
			}
		}
		e.acts.mu.Unlock()
		if ma != 1 || mb != 1 {
			t.Fatalf("runs of one key ran at once: a %d, b %d", ma, mb)
		}
		var wantA []string
		for _, r := range runs {
			if path(r.Trigger, "body.key") == "a" || r.OrderKey == "a" {
				wantA = append(wantA, fmt.Sprintf("a:%d", r.ID))
			}
		}
		if strings.Join(orderA, ",") != strings.Join(wantA, ",") {
			t.Fatalf("order of key a: %v, runs made in order %v", orderA, wantA)
		}

		c := e.bundle(jsonOf(t, `{"name": "one at a time", "active": true, "concurrency": 1, "trigger": {"type": "webhook"},
			"steps": [{"id": "s", "action": "test.slow", "input": {"key": "conc", "ms": 40}}]}`))
		for i := 0; i < 5; i++ {
			e.must(e.do("POST", c.WebhookURL, map[string]any{"i": i}), http.StatusAccepted)
		}
		e.waitRuns(c.ID, 5)
		e.acts.mu.Lock()
		defer e.acts.mu.Unlock()
		if e.acts.maxRunning["conc"] != 1 {
			t.Fatalf("concurrency 1, %d ran at once", e.acts.maxRunning["conc"])
		}
	})
}
