package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/store"
)

// homeCount bounds the deals counted per stage on the home page; more
// shows as "100+".
const homeCount = 100

type homeItem struct {
	Title, Link, When string
}

type stageCount struct {
	Name, Count, Link string
}

type homeData struct {
	Today, Overdue, NewLeads []homeItem
	Stages                   []stageCount
	Failures                 []journalRow
}

func (u *UI) home(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	now := time.Now()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.Local)
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
				it.When = a.StartAt.Local().Format("02.01 15:04")
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
			Link: "/e/lead/" + strconv.FormatInt(l.ID, 10), When: l.CreatedAt.Local().Format("02.01 15:04")})
	}
	lk := newLookups(ctx, u.store, rq.Lang)
	for _, st := range lk.statusList("DEAL_STAGE") {
		page, err := u.store.ListDealIDs(ctx, store.ListParams{Limit: homeCount, Filters: []store.Filter{
			{Field: "category_id", Op: "eq", Value: "0"}, {Field: "stage_id", Op: "eq", Value: st.StatusID}}})
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		n := strconv.Itoa(len(page.IDs))
		if page.NextCursor != "" {
			n += "+"
		}
		d.Stages = append(d.Stages, stageCount{Name: st.Name, Count: n, Link: "/e/deal?f.category_id=0&f.stage_id=" + st.StatusID})
	}
	if d.Failures, err = u.journalRows(ctx, "", true, 10); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if lk.err != nil {
		u.failErr(w, r, rq, lk.err)
		return
	}
	u.render(w, r, rq, http.StatusOK, "home", rq.T("home.title"), "home", d)
}
