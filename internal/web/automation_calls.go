package web

import (
	"net/http"
	"net/url"

	"github.com/obmen/obmen/internal/automation"
)

// The journal of action calls (issue 14): direct calls of POST
// /api/v1/actions/{name} and bundles' step attempts together, filtered by
// action, result and source. Administrators only, as the runs' journal.

type callRow struct {
	automation.ActionCall
	// ActionLabel is the action's label in the user's language.
	ActionLabel           string
	InputJSON, OutputJSON string
}

type callsData struct {
	Action, Result, Source string
	Actions                []option
	Results, Sources       []option
	Calls                  []callRow
	Next                   string
}

func (u *UI) autoCalls(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.autoAdmin(w, r, rq) {
		return
	}
	q := r.URL.Query()
	d := callsData{Action: q.Get("action"), Result: q.Get("result"), Source: q.Get("source")}
	known := false
	labels := map[string]string{}
	for _, a := range u.auto.Registry().Actions() {
		labels[a.Name] = a.Label.In(rq.Lang)
		d.Actions = append(d.Actions, option{Value: a.Name, Label: a.Label.In(rq.Lang)})
		known = known || a.Name == d.Action
	}
	if !known {
		d.Action = ""
	}
	if d.Result != automation.ResultOK && d.Result != automation.ResultError {
		d.Result = ""
	}
	if d.Source != automation.SourceAPI && d.Source != automation.SourceBundle {
		d.Source = ""
	}
	d.Results = []option{{Value: automation.ResultOK, Label: "OK"}, {Value: automation.ResultError, Label: rq.T("auto.calls.error")}}
	d.Sources = []option{{Value: automation.SourceAPI, Label: rq.T("auto.calls.src.api")}, {Value: automation.SourceBundle, Label: rq.T("auto.calls.src.bundle")}}
	list, err := u.auto.ListCalls(r.Context(), automation.CallQuery{Action: d.Action, Result: d.Result, Source: d.Source, Before: q.Get("before"), Limit: 50})
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	for _, c := range list.Items {
		row := callRow{ActionCall: c, ActionLabel: labels[c.Action]}
		if row.ActionLabel == "" {
			row.ActionLabel = c.Action
		}
		if c.Input != nil {
			row.InputJSON = prettyJSON(c.Input)
		}
		if c.Output != nil {
			row.OutputJSON = prettyJSON(c.Output)
		}
		d.Calls = append(d.Calls, row)
	}
	if list.NextBefore != "" {
		next := url.Values{}
		for k, v := range map[string]string{"action": d.Action, "result": d.Result, "source": d.Source} {
			if v != "" {
				next.Set(k, v)
			}
		}
		next.Set("before", list.NextBefore)
		d.Next = "/automation/calls?" + next.Encode()
	}
	u.render(w, r, rq, http.StatusOK, "automation_calls", rq.T("auto.calls"), "automation", d)
}
