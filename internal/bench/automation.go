package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// AutomationReport is what the automation phase measured: the latency
// from a change to its run's first step under a steady 500 changes/s,
// and the three-step bundle's throughput and its cost to lead creates.
type AutomationReport struct {
	Changes       int     `json:"changes"`
	FirstStepP50  float64 `json:"first_step_p50_ms"`
	FirstStepP99  float64 `json:"first_step_p99_ms"`
	Runs          int     `json:"runs"`
	RunsPerS      float64 `json:"runs_per_second"`
	DrainRuns     int     `json:"drain_runs"`
	DrainPerS     float64 `json:"drain_runs_per_second"`
	CreatesPerS   float64 `json:"creates_per_second_with_bundle"`
	CreatesBefore float64 `json:"creates_per_second_before,omitempty"`
}

func (a *AutomationReport) print(w io.Writer) {
	fmt.Fprintf(w, "automation: change → first step started under 500 changes/s: %d changes, p50 %.1f ms, p99 %.1f ms\n",
		a.Changes, a.FirstStepP50, a.FirstStepP99)
	fmt.Fprintf(w, "automation: three-step bundle (find-or-create contact, update lead, comment): %d runs, %.0f completed runs/s from the first create to the last run; %d runs left when the creates ended, done at %.0f runs/s\n",
		a.Runs, a.RunsPerS, a.DrainRuns, a.DrainPerS)
	fmt.Fprintf(w, "automation: lead creates with the bundle active: %.0f/s (%.0f/s just before without it, %+.1f%%)\n",
		a.CreatesPerS, a.CreatesBefore, 100*(a.CreatesPerS/a.CreatesBefore-1))
}

// automation runs the automation phase against the server.
func automation(ctx context.Context, client *http.Client, o Options, rep *Report) error {
	a := &AutomationReport{}
	rep.Automation = a
	api := &apiCaller{client: client, base: o.URL, key: o.Key}

	// Latency: a one-step bundle, 500 lead creates/s.
	latency, err := api.bundle(ctx, `{"name": "bench: latency", "active": true,
		"trigger": {"type": "crm.event", "entity": "lead", "actions": ["create"]},
		"steps": [{"id": "note", "action": "crm.timeline.add", "input": {"entity": "lead", "id": "{{trigger.record.id}}", "text": "принято"}}]}`)
	if err != nil {
		return err
	}
	leads, err := pacedAt(ctx, api, 500, o.Duration, 904)
	if err != nil {
		return err
	}
	runs, err := api.waitRuns(ctx, latency, len(leads))
	if err != nil {
		return err
	}
	var lat []float64
	for _, r := range runs {
		var full struct {
			Trigger struct {
				Event struct {
					CreatedAt time.Time `json:"created_at"`
				} `json:"event"`
			} `json:"trigger"`
			Steps []struct {
				StartedAt time.Time `json:"started_at"`
			} `json:"steps"`
		}
		if err := api.call(ctx, "GET", fmt.Sprintf("/api/v1/runs/%d", r.ID), "", 200, &full); err != nil {
			return err
		}
		if len(full.Steps) > 0 {
			lat = append(lat, float64(full.Steps[0].StartedAt.Sub(full.Trigger.Event.CreatedAt).Microseconds())/1000)
		}
	}
	a.Changes = len(lat)
	a.FirstStepP50, a.FirstStepP99, _ = percentiles(lat)
	if err := api.call(ctx, "POST", fmt.Sprintf("/api/v1/bundles/%d/deactivate", latency), "", 200, nil); err != nil {
		return err
	}

	// The rate without a bundle, measured now: the database has grown
	// since the first phase, and lead creates slow with it.
	var control Report
	if err := createLeads(ctx, client, o, &control); err != nil {
		return err
	}
	a.CreatesBefore = control.CreatesPerS

	// Throughput: the three-step bundle while leads are created at full
	// speed, then until its last run is done.
	three, err := api.bundle(ctx, `{"name": "bench: three steps", "active": true,
		"trigger": {"type": "crm.event", "entity": "lead", "actions": ["create"]},
		"steps": [
			{"id": "client", "action": "crm.contact.create", "input": {"name": "{{trigger.record.name}}",
				"phones": [{"value": "{{trigger.record.phones[0].value}}", "value_type": "mobile"}]},
			 "duplicates": {"by": ["phone"], "then": "skip"}},
			{"id": "lead", "action": "crm.lead.update", "input": {"id": "{{trigger.record.id}}", "comments": "Контакт {{steps.client.id}}"}},
			{"id": "note", "action": "crm.timeline.add", "input": {"entity": "lead", "id": "{{trigger.record.id}}", "text": "Клиент: контакт {{steps.client.id}}"}}
		]}`)
	if err != nil {
		return err
	}
	start := time.Now()
	var sub Report
	if err := createLeads(ctx, client, o, &sub); err != nil {
		return err
	}
	a.CreatesPerS = sub.CreatesPerS
	// While the creates ran, the server was busy and the runs gave way
	// (one step at a time); what was left is then worked alone: that
	// part is the bundle's own throughput.
	var st struct {
		Total int            `json:"total"`
		Open  int            `json:"open"`
		By    map[string]int `json:"by_status"`
	}
	if err := api.call(ctx, "GET", fmt.Sprintf("/api/v1/bundles/%d/stats", three), "", 200, &st); err != nil {
		return err
	}
	drainFrom, doneBefore := time.Now(), st.By["ok"]+st.By["error"]
	runs, err = api.waitRuns(ctx, three, int(sub.Creates))
	if err != nil {
		return err
	}
	a.Runs = len(runs)
	a.RunsPerS = float64(len(runs)) / time.Since(start).Seconds()
	a.DrainRuns = len(runs) - doneBefore
	a.DrainPerS = float64(a.DrainRuns) / time.Since(drainFrom).Seconds()
	return api.call(ctx, "POST", fmt.Sprintf("/api/v1/bundles/%d/deactivate", three), "", 200, nil)
}

// apiCaller calls the REST API with the bench's key.
type apiCaller struct {
	client    *http.Client
	base, key string
}

func (c *apiCaller) call(ctx context.Context, method, path, body string, status int, dst any) error {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("bench: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		return fmt.Errorf("bench: %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if dst != nil {
		return json.NewDecoder(bytes.NewReader(b)).Decode(dst)
	}
	return nil
}

func (c *apiCaller) bundle(ctx context.Context, def string) (int64, error) {
	var b struct {
		ID int64 `json:"id"`
	}
	err := c.call(ctx, "POST", "/api/v1/bundles", def, http.StatusCreated, &b)
	return b.ID, err
}

type benchRun struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

// waitRuns waits until the bundle has n runs, all finished (10 minutes
// at most), and returns them.
func (c *apiCaller) waitRuns(ctx context.Context, bundle int64, n int) ([]benchRun, error) {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var st struct {
			Total int `json:"total"`
			Open  int `json:"open"`
		}
		if err := c.call(ctx, "GET", fmt.Sprintf("/api/v1/bundles/%d/stats", bundle), "", 200, &st); err != nil {
			return nil, err
		}
		if st.Total >= n && st.Open == 0 {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("bench: bundle %d has %d of %d runs, %d not done, after 10 minutes", bundle, st.Total, n, st.Open)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	var all []benchRun
	before := int64(0)
	for {
		var page struct {
			Items      []benchRun `json:"items"`
			NextBefore int64      `json:"next_before"`
		}
		q := fmt.Sprintf("/api/v1/bundles/%d/runs?limit=500", bundle)
		if before > 0 {
			q += fmt.Sprintf("&before=%d", before)
		}
		if err := c.call(ctx, "GET", q, "", 200, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextBefore == 0 {
			return all, nil
		}
		before = page.NextBefore
	}
}
