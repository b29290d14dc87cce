package automation

import (
	"context"
	"net/http"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
)

// TestRequest says what to test a bundle on: a past change event, a
// record, a past run's trigger data, or trigger data as given; and
// optionally a definition not yet saved (the editor's).
type TestRequest struct {
	Definition *Definition    `json:"definition,omitempty"`
	EventID    int64          `json:"event_id,omitempty"`
	Entity     string         `json:"entity,omitempty"`
	RecordID   int64          `json:"record_id,omitempty"`
	RunID      int64          `json:"run_id,omitempty"`
	Trigger    map[string]any `json:"trigger,omitempty"`
	// IgnoreFilters runs the steps even when the filters say no.
	IgnoreFilters bool `json:"ignore_filters,omitempty"`
}

// TestResult is a test run: nothing was written; each step shows what it
// read and what it would have sent.
type TestResult struct {
	Status      string    `json:"status"`
	Error       string    `json:"error,omitempty"`
	ErrorStep   string    `json:"error_step,omitempty"`
	Passed      bool      `json:"filters_passed"`
	FilterTrace any       `json:"filter_trace,omitempty"`
	Trigger     any       `json:"trigger"`
	Steps       []RunStep `json:"steps"`
}

// Test runs a bundle (id, or 0 with req.Definition) in test mode: writes
// disabled, every step recorded in the answer only.
func (s *Service) Test(ctx context.Context, actor crm.Actor, id int64, req TestRequest) (TestResult, error) {
	var d Definition
	switch {
	case req.Definition != nil && id != 0:
		prev, _, err := s.storedDefinition(ctx, id)
		if err != nil {
			return TestResult{}, err
		}
		if d, err = s.sealSecrets(*req.Definition, &prev); err != nil {
			return TestResult{}, err
		}
	case req.Definition != nil:
		var err error
		if d, err = s.sealSecrets(*req.Definition, nil); err != nil {
			return TestResult{}, err
		}
	case id != 0:
		var err error
		if d, _, err = s.storedDefinition(ctx, id); err != nil {
			return TestResult{}, err
		}
	default:
		return TestResult{}, httpx.Errorf(http.StatusBadRequest, "bad_request", "definition", "give a bundle or a definition")
	}
	open, err := s.openSecrets(d)
	if err != nil {
		return TestResult{}, err
	}
	c, err := s.reg.Compile(open)
	if err != nil {
		return TestResult{}, err
	}
	if ps, err := s.reg.checkConnections(ctx, open); err != nil {
		return TestResult{}, err
	} else if len(ps) > 0 {
		return TestResult{}, &InvalidError{Problems: ps}
	}
	trig, err := s.testTrigger(ctx, c, req)
	if err != nil {
		return TestResult{}, err
	}
	res := TestResult{Trigger: trig, Steps: []RunStep{}, Passed: true}
	env := map[string]any{"trigger": trig, "steps": map[string]any{}}
	if c.Filters != nil {
		ok, trace, err := c.Filters.Eval(env)
		if err != nil {
			res.Status, res.Error = StatusError, "filters: "+err.Error()
			return res, nil
		}
		res.Passed, res.FilterTrace = ok, trace
		if !ok && !req.IgnoreFilters {
			res.Status = StatusFiltered
			return res, nil
		}
	}
	if actor.UserID == 0 {
		actor.UserID = d.RunAs
	}
	actor.BundleID = id
	steps := env["steps"].(map[string]any)
	res.Status = StatusOK
	for i := range c.Steps {
		st := &c.Steps[i]
		call := &Call{BundleID: id, StepID: st.ID, Attempt: 1, Actor: actor, DryRun: true, Duplicates: st.Duplicates, Connection: st.Connection, Log: s.log, Now: s.now,
			dedupe: "automation:test:" + randomKey()}
		o := s.execStep(ctx, c, st, env, call)
		res.Steps = append(res.Steps, RunStep{Seq: i, StepID: st.ID, Action: st.Def().Action, Attempt: 1, Result: o.result,
			Input: o.input, Output: o.output, Error: o.err, StartedAt: o.started, DurationMS: float64(o.dur.Microseconds()) / 1000})
		steps[st.ID] = stepValue(o)
		if o.result == ResultError && st.OnError != OnErrorContinue {
			res.Status, res.Error, res.ErrorStep = StatusError, o.err, st.ID
			break
		}
		if o.stop != nil {
			if o.stop.result == "error" {
				res.Status, res.Error, res.ErrorStep = StatusError, o.stop.message, st.ID
			}
			break
		}
	}
	return res, nil
}

// Def is the step as written.
func (c *CompiledStep) Def() Step { return c.Step }

// testTrigger builds the trigger data a test runs on.
func (s *Service) testTrigger(ctx context.Context, c *Compiled, req TestRequest) (map[string]any, error) {
	switch {
	case req.Trigger != nil:
		return req.Trigger, nil
	case req.RunID != 0:
		r, err := s.GetRun(ctx, req.RunID)
		if err != nil {
			return nil, err
		}
		m, _ := r.Trigger.(map[string]any)
		if m == nil && r.EventID != 0 {
			return s.eventTrigger(ctx, r.EventID)
		}
		return m, nil
	case req.EventID != 0:
		return s.eventTrigger(ctx, req.EventID)
	case req.Entity != "" && req.RecordID != 0:
		rec, err := s.records.Record(ctx, req.Entity, req.RecordID)
		if err != nil {
			return nil, err
		}
		if c.Def.Trigger.Type == TriggerManual {
			return map[string]any{"entity": req.Entity, "record": rec, "user": map[string]any{}}, nil
		}
		// As if the record had just been saved: an update with no changes.
		return map[string]any{"record": rec, "old": rec, "event": map[string]any{"id": 0, "entity": req.Entity, "record_id": req.RecordID,
			"action": "update", "changes": map[string]any{}, "actor": "", "actor_user_id": 0, "integration": "", "run_id": 0}}, nil
	}
	return nil, httpx.Errorf(http.StatusBadRequest, "bad_request", "event_id",
		"say what to test on: event_id, entity and record_id, run_id, or trigger")
}
