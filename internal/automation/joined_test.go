package automation_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/store/storetest"
)

// crmChain is a CRM-only bundle whose steps read what earlier steps
// made, one of them failing on the way (on PostgreSQL its steps run in
// one transaction: see runJoined).
const crmChain = `{"name": "цепочка", "active": true, "trigger": {"type": "manual", "entity": "lead"},
	"steps": [
		{"id": "client", "action": "crm.contact.create", "input": {"name": "{{trigger.record.title}}"}},
		{"id": "got", "action": "crm.contact.get", "input": {"id": "{{steps.client.id}}"}},
		{"id": "bad", "action": "crm.contact.update", "input": {"id": 999999999, "name": "нет такого"}, "on_error": "continue"},
		{"id": "upd", "action": "crm.contact.update", "input": {"id": "{{steps.client.id}}",
			"comments": "видел {{steps.got.name}}; bad={{steps.bad.result}}"}},
		{"id": "note", "action": "crm.timeline.add", "input": {"entity": "lead", "id": "{{trigger.record.id}}", "text": "контакт {{steps.client.id}}"}}
	]}`

// A step sees what an earlier step of its run made, a failed step with
// on_error continue leaves the run going, and every step is journaled.
func TestCRMStepsSeeEarlierSteps(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.bundle(jsonOf(t, crmChain))
		lead := e.lead(map[string]any{"title": "Цепочка"})
		var run automation.Run
		e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/run", b.ID), map[string]any{"entity": "lead", "record_id": lead}), http.StatusAccepted).json(t, &run)
		r := e.waitStatus(run.ID, automation.StatusOK)
		var results []string
		for _, st := range r.Steps {
			results = append(results, st.StepID+"="+st.Result)
		}
		if got, want := fmt.Sprint(results), "[client=OK got=OK bad=ERROR upd=OK note=OK]"; got != want {
			t.Fatalf("steps %s, want %s", got, want)
		}
		id := path(r.Steps[0].Output, "id")
		var c map[string]any
		e.must(e.do("GET", fmt.Sprintf("/api/v1/contacts/%v", id), nil), http.StatusOK).json(t, &c)
		if got := c["comments"]; got != "видел Цепочка; bad=ERROR" {
			t.Fatalf("contact comments %q", got)
		}
		if got := e.comments("leads", lead); fmt.Sprint(got) != fmt.Sprintf("[контакт %v]", id) {
			t.Fatalf("lead comments %q", got)
		}
	})
}

// On PostgreSQL a CRM-only run commits once: its steps, their journal
// and its status in one transaction. Counted, with the commit of each
// run's request beside it: n runs of five steps cost about 2n commits
// (one per step and one for the journal would be 7n).
func TestCRMRunCommitsOnce(t *testing.T) {
	for _, eng := range storetest.Engines(t) {
		if eng.Name != "postgres" {
			continue
		}
		t.Run(eng.Name, func(t *testing.T) {
			d := eng.Open(t)
			e := newEnv(t, d)
			b := e.bundle(jsonOf(t, crmChain))
			const n = 20
			leads := make([]int64, n)
			for i := range leads {
				leads[i] = e.lead(map[string]any{"title": fmt.Sprintf("Цепочка %d", i)})
			}
			before, start := d.Commits(), time.Now()
			for _, lead := range leads {
				e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/run", b.ID), map[string]any{"entity": "lead", "record_id": lead}), http.StatusAccepted)
			}
			for _, r := range e.waitRunsAll(b.ID, n) {
				if r.Status != automation.StatusOK {
					t.Fatalf("run %d: %s %s", r.ID, r.Status, r.Error)
				}
			}
			got := d.Commits() - before
			// Beside the runs, the webhook dispatcher follows the change
			// log once a second when nobody listens, and a key's and a
			// user's last use are noted once a minute: background writes
			// that grow with the time a loaded machine takes, not with n.
			background := int64(time.Since(start).Seconds()) + 3
			t.Logf("%d commits for %d runs (their requests included; up to %d in the background)", got, n, background)
			if got > 2*n+n/2+background {
				t.Fatalf("%d commits for %d five-step runs: want one per run and one per request", got, n)
			}
		})
	}
}
