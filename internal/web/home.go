package web

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/store"
)

type homeItem struct {
	Title, Link, When string
}

type stageCount struct {
	Name, Count, Link string
}

// pipelineCounts are the deals by stage of one pipeline.
type pipelineCounts struct {
	ID, Name string
	Stages   []stageCount
}

type homeData struct {
	Today, Overdue, NewLeads []homeItem
	Pipelines                []pipelineCounts
	Failures                 []journalRow
}

func (u *UI) home(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	now := time.Now().In(rq.Loc)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, rq.Loc)
	me := strconv.FormatInt(rq.User.ID, 10)
	acts := func(from, to time.Time) ([]homeItem, error) {
		as, _, err := u.store.ListActivities(ctx, store.ListParams{Limit: 20, Sort: "start_at", Filters: []store.Filter{
			{Field: "assigned_by_id", Op: "eq", Value: me}, {Field: "done", Op: "eq", Value: "false"},
			{Field: "start_at", Op: "gte", Value: from.UTC().Format(time.RFC3339)},
			{Field: "start_at", Op: "lt", Value: to.UTC().Format(time.RFC3339)}}})
		var out []homeItem
		for _, a := range as {
			it := homeItem{Title: a.Subject, Link: "/e/activity/" + strconv.FormatInt(a.ID, 10)}
			if a.StartAt != nil {
				it.When = a.StartAt.In(rq.Loc).Format("02.01 15:04")
			}
			out = append(out, it)
		}
		return out, err
	}
	var d homeData
	var err error
	if d.Today, err = acts(day, day.AddDate(0, 0, 1)); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if d.Overdue, err = acts(time.Unix(1, 0), day); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	leads, _, err := u.store.ListLeads(ctx, store.ListParams{Limit: 10, Sort: "-created_at", Filters: []store.Filter{{Field: "status_id", Op: "eq", Value: "NEW"}}})
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	for _, l := range leads {
		d.NewLeads = append(d.NewLeads, homeItem{Title: titleOf(store.EntityLead, record{"id": l.ID, "title": l.Title}),
			Link: "/e/lead/" + strconv.FormatInt(l.ID, 10), When: l.CreatedAt.In(rq.Loc).Format("02.01 15:04")})
	}
	lk := u.lookupsFor(ctx, rq)
	totals, err := u.store.DealStageTotals(ctx)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	count := map[string]int{} // "pipeline/stage" → deals
	for _, t := range totals {
		count[strconv.FormatInt(t.CategoryID, 10)+"/"+t.StageID] += t.Count
	}
	for _, p := range lk.pipelines() {
		pid := strconv.FormatInt(p.ID, 10)
		pc := pipelineCounts{ID: pid, Name: p.Name}
		if pc.Name == "" {
			pc.Name = rq.T("kanban.default_pipeline")
		}
		for _, st := range lk.statusList(stageDict(p.ID)) {
			pc.Stages = append(pc.Stages, stageCount{Name: st.Name, Count: strconv.Itoa(count[pid+"/"+st.StatusID]),
				Link: "/e/deal?f.category_id=" + pid + "&f.stage_id=" + url.QueryEscape(st.StatusID)})
		}
		d.Pipelines = append(d.Pipelines, pc)
	}
	if d.Failures, err = u.journalRows(ctx, rq.User, rq.Loc, "", true, 10); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if lk.err != nil {
		u.failErr(w, r, rq, lk.err)
		return
	}
	u.render(w, r, rq, http.StatusOK, "home", rq.T("home.title"), "home", d)
}
