package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/automation"
)

// A record card's automation: the "Run" menu of the active manual bundles
// of its entity (for anyone who sees the card) and, for administrators,
// the record's last runs.

// cardAuto is what a card shows of automation.
type cardAuto struct {
	Manual []named // bundle id (as Name) and bundle name (as Label)
	Runs   []runRow
	// AllRuns is the journal filtered to this record.
	AllRuns string
	// Started is a run the user just started (admins get its link).
	Started int64
	// Exchanges are the record's exchanges with an external system.
	Exchanges []exchangeRow
}

// cardAutomation fills a card's automation; nil when there is none to
// show.
func (u *UI) cardAutomation(r *http.Request, rq *request, entity string, id int64, deleted bool) (*cardAuto, error) {
	if u.auto == nil {
		return nil, nil
	}
	ctx := r.Context()
	ca := &cardAuto{}
	if !deleted {
		bs, err := u.auto.ManualBundles(ctx, entity)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			ca.Manual = append(ca.Manual, named{Name: strconv.FormatInt(b.ID, 10), Label: b.Name})
		}
	}
	var err error
	if ca.Exchanges, err = u.cardExchanges(ctx, rq, entity, id); err != nil {
		return nil, err
	}
	if authz.Can(rq.User, authz.Automation, authz.Read) {
		list, err := u.auto.ListRuns(ctx, automation.RunQuery{Entity: entity, RecordID: id, Limit: 10})
		if err != nil {
			return nil, err
		}
		for _, run := range list.Items {
			ca.Runs = append(ca.Runs, u.runRow(rq, run))
		}
		ca.AllRuns = "/automation/runs?" + url.Values{"entity": {entity}, "record": {strconv.FormatInt(id, 10)}}.Encode()
		ca.Started, _ = strconv.ParseInt(r.URL.Query().Get("run"), 10, 64)
	}
	return ca, nil
}

// runManual starts a manual bundle on the card's record, for any user who
// may see the record; the run's link is for administrators.
func (u *UI) runManual(w http.ResponseWriter, r *http.Request, rq *request) {
	if u.auto == nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	bundleID, err := strconv.ParseInt(r.PathValue("bundle"), 10, 64)
	if err != nil || bundleID <= 0 {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	// In the user's scope: a record they do not see is not found.
	if _, err := e.get(r.Context(), id); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	run, err := u.auto.RunManual(r.Context(), rq.User, bundleID, e.Name, id)
	if err != nil {
		u.autoFail(w, r, rq, err)
		return
	}
	q := url.Values{"flash": {"auto.started"}}
	if authz.Can(rq.User, authz.Automation, authz.Read) {
		q.Set("run", strconv.FormatInt(run.ID, 10))
	}
	back(w, r, "/e/"+e.Name+"/"+strconv.FormatInt(id, 10)+"?"+q.Encode())
}
