package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/httpx"
)

// The journal of runs (every bundle's, filtered by bundle, status and
// record, paged by id) and the page of one run: its trigger data, the
// filters' trace, each step's attempts, and Replay / Retry / Cancel.

// runStatuses are the statuses in the journal's filter.
var runStatuses = []string{automation.StatusQueued, automation.StatusRunning, automation.StatusWaiting, automation.StatusOK,
	automation.StatusError, automation.StatusFiltered, automation.StatusCancelled}

// runRow is a run in the journal.
type runRow struct {
	automation.Run
	TriggerText string
	RecordText  string
	RecordLink  string
}

type runsData struct {
	Runs     []runRow
	Next     string // the next page's URL
	Bundles  []option
	Statuses []option
	Entities []option
	// The filter as given.
	Bundle, Status, Entity, Record string
	BundleName                     string
}

func (u *UI) autoRuns(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.autoAdmin(w, r, rq) {
		return
	}
	q := r.URL.Query()
	d := runsData{Bundle: q.Get("bundle"), Status: q.Get("status"), Entity: q.Get("entity"), Record: strings.TrimSpace(q.Get("record"))}
	rq2 := automation.RunQuery{Entity: d.Entity, Limit: 50}
	if d.Status != "" && slices.Contains(runStatuses, d.Status) {
		rq2.Status = d.Status
	}
	if d.Entity != "" && !slices.Contains(automation.CRMEntities, d.Entity) {
		rq2.Entity, d.Entity = "", ""
	}
	rq2.BundleID, _ = strconv.ParseInt(d.Bundle, 10, 64)
	rq2.RecordID, _ = strconv.ParseInt(d.Record, 10, 64)
	rq2.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	list, err := u.auto.ListRuns(r.Context(), rq2)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	bs, err := u.auto.List(r.Context())
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	for _, b := range bs {
		d.Bundles = append(d.Bundles, option{Value: strconv.FormatInt(b.ID, 10), Label: b.Name})
		if b.ID == rq2.BundleID {
			d.BundleName = b.Name
		}
	}
	for _, s := range runStatuses {
		d.Statuses = append(d.Statuses, option{Value: s, Label: rq.T("auto.st." + s)})
	}
	for _, e := range automation.CRMEntities {
		d.Entities = append(d.Entities, option{Value: e, Label: rq.T("e1." + e)})
	}
	for _, run := range list.Items {
		d.Runs = append(d.Runs, u.runRow(rq, run))
	}
	if list.NextBefore > 0 {
		next := url.Values{}
		for k, v := range map[string]string{"bundle": d.Bundle, "status": rq2.Status, "entity": d.Entity, "record": d.Record} {
			if v != "" {
				next.Set(k, v)
			}
		}
		next.Set("before", strconv.FormatInt(list.NextBefore, 10))
		d.Next = "/automation/runs?" + next.Encode()
	}
	title := rq.T("auto.journal")
	if d.BundleName != "" {
		title += ": " + d.BundleName
	}
	u.render(w, r, rq, http.StatusOK, "automation_runs", title, "automation", d)
}

func (u *UI) runRow(rq *request, run automation.Run) runRow {
	row := runRow{Run: run}
	switch run.TriggerType {
	case automation.TriggerCRMEvent:
		row.TriggerText = rq.T("auto.trig.event")
		if run.EventID != 0 {
			row.TriggerText += " #" + strconv.FormatInt(run.EventID, 10)
		}
	case automation.TriggerSchedule, automation.TriggerWebhook, automation.TriggerManual:
		row.TriggerText = rq.T("auto.trig." + run.TriggerType)
	default:
		row.TriggerText = run.TriggerType
	}
	if run.ReplayOf != 0 {
		row.TriggerText += " · " + fmt.Sprintf(rq.T("auto.replay_of"), run.ReplayOf)
	}
	if run.Entity != "" && run.RecordID != 0 {
		row.RecordText = rq.T("e1."+run.Entity) + " " + strconv.FormatInt(run.RecordID, 10)
		if _, ok := u.byPath[run.Entity]; ok {
			row.RecordLink = "/e/" + run.Entity + "/" + strconv.FormatInt(run.RecordID, 10)
		}
	}
	return row
}

// runData is the page of one run.
type runData struct {
	runRow
	Live        bool // not over: the page refreshes itself
	CanRetry    bool
	CanCancel   bool
	StepName    map[string]string
	Steps       []runStepView
	TriggerJSON string
	Trace       *traceView
	VersionURL  string // the version it ran
}

type runStepView struct {
	automation.RunStep
	Name        string
	InputJSON   string
	OutputJSON  string
	ResultClass string
}

// traceView is a node of the filters' trace, in words.
type traceView struct {
	Text   string
	Result bool
	State  string // the result in words, for screen readers
	Note   string
	Items  []traceView
}

func (u *UI) autoRun(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.autoAdmin(w, r, rq) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	run, err := u.auto.GetRun(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d := runData{runRow: u.runRow(rq, run), Live: !run.Finished(),
		CanRetry:  run.Status == automation.StatusError || run.Status == automation.StatusCancelled,
		CanCancel: !run.Finished(), StepName: map[string]string{}}
	d.VersionURL = "/automation/" + strconv.FormatInt(run.BundleID, 10) + "/versions/" + strconv.Itoa(run.Version)
	labels := map[string]string{}
	for _, a := range u.auto.Registry().Actions() {
		labels[a.Name] = a.Label.In(rq.Lang)
	}
	if run.Definition != nil {
		for _, s := range run.Definition.Steps {
			name := s.Name
			if name == "" {
				name = labels[s.Action]
			}
			d.StepName[s.ID] = name
		}
	}
	for _, st := range run.Steps {
		v := runStepView{RunStep: st, Name: d.StepName[st.StepID], InputJSON: prettyJSON(st.Input), OutputJSON: prettyJSON(st.Output),
			ResultClass: strings.ToLower(st.Result)}
		if v.Name == "" {
			v.Name = labels[st.Action]
		}
		d.Steps = append(d.Steps, v)
	}
	if run.Trigger != nil {
		d.TriggerJSON = prettyJSON(run.Trigger)
	}
	if run.FilterTrace != nil {
		t := traceOf(rq, run.FilterTrace)
		d.Trace = &t
	}
	u.render(w, r, rq, http.StatusOK, "automation_run", fmt.Sprintf(rq.T("auto.run_n"), run.ID), "automation", d)
}

// traceOf puts a filter trace (tmpl.Trace as JSON) in words.
func traceOf(rq *request, v any) traceView {
	m, _ := v.(map[string]any)
	tv := traceView{}
	if m == nil {
		tv.Text = prettyJSON(v)
		return tv
	}
	tv.Result, _ = m["result"].(bool)
	tv.State = rq.T("auto.not_passed")
	if tv.Result {
		tv.State = rq.T("auto.passed")
	}
	tv.Note, _ = m["note"].(string)
	op, _ := m["op"].(string)
	switch op {
	case "all", "any":
		tv.Text = rq.T("auto.group_" + op)
	case "":
		tv.Text = rq.T("auto.no_filters")
	default:
		tv.Text = traceValue(m["value"]) + " " + rq.T("auto.op."+op)
		if a, ok := m["arg"]; ok {
			tv.Text += " " + traceValue(a)
		}
	}
	if items, ok := m["items"].([]any); ok {
		for _, it := range items {
			tv.Items = append(tv.Items, traceOf(rq, it))
		}
	}
	return tv
}

func traceValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "«»"
	case string:
		return "«" + x + "»"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// prettyJSON shows a JSON-like value indented; "" for nil.
func prettyJSON(v any) string {
	if v == nil {
		return ""
	}
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	// The template escapes; the JSON shows "<" as it is.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(sb.String(), "\n")
}

// autoRunAction replays, retries or cancels a run.
func (u *UI) autoRunAction(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.autoAdmin(w, r, rq) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	var run automation.Run
	var err error
	var flash string
	switch r.PathValue("action") {
	case "replay":
		run, err = u.auto.Replay(r.Context(), id)
		flash = "auto.replayed"
	case "retry":
		run, err = u.auto.Retry(r.Context(), id)
		flash = "auto.retried"
	case "cancel":
		run, err = u.auto.Cancel(r.Context(), id)
		flash = "auto.cancelled"
	default:
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	if err != nil {
		u.autoFail(w, r, rq, err)
		return
	}
	back(w, r, "/automation/runs/"+strconv.FormatInt(run.ID, 10)+"?flash="+flash)
}

// autoFail shows the service's refusals (a finished run cancelled, a run
// that did not fail retried) with their status and message.
func (u *UI) autoFail(w http.ResponseWriter, r *http.Request, rq *request, err error) {
	var he *httpx.Error
	if errors.As(err, &he) {
		u.fail(w, r, rq, he.Status, he.Message)
		return
	}
	if ps := problemLines(rq, err); ps != nil {
		u.fail(w, r, rq, http.StatusUnprocessableEntity, strings.Join(ps, "; "))
		return
	}
	u.failErr(w, r, rq, err)
}

type versionData struct {
	BundleID int64
	Name     string
	Version  int
	Current  int
	JSON     string
}

// autoVersion shows one saved version of a bundle, as a run ran it.
func (u *UI) autoVersion(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.autoAdmin(w, r, rq) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	v, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || v <= 0 {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	def, err := u.auto.Version(r.Context(), id, v)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	b, err := u.auto.Get(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d := versionData{BundleID: id, Name: def.Name, Version: v, Current: b.Version, JSON: prettyJSON(def)}
	u.render(w, r, rq, http.StatusOK, "automation_version", fmt.Sprintf(rq.T("auto.version_of"), v, def.Name), "automation", d)
}
