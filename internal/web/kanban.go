package web

import (
	"net/http"
	"strconv"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// kanbanPerStage bounds the cards of one column.
const kanbanPerStage = 50

type kanbanCard struct {
	ID                  int64
	Title, Link, Amount string
	Account             string
	Stage               string
}

type kanbanColumn struct {
	StageID, Name string
	Cards         []kanbanCard
	Full          bool
}

type kanbanData struct {
	Pipeline  string
	Pipelines []option
	Stages    []option
	Columns   []kanbanColumn
	Limit     int
}

func (u *UI) kanban(w http.ResponseWriter, r *http.Request, rq *request) {
	pipe := r.URL.Query().Get("pipeline")
	pid, err := strconv.ParseInt(pipe, 10, 64)
	if err != nil || pid < 0 {
		pid, pipe = 0, "0"
	}
	lk := newLookups(r.Context(), u.store, rq.Lang)
	d := kanbanData{Pipeline: pipe, Pipelines: lk.options(field{Kind: kPipeline}, nil, rq.T), Limit: kanbanPerStage}
	for _, st := range lk.statusList(stageDict(pid)) {
		d.Stages = append(d.Stages, option{st.StatusID, st.Name})
	}
	for _, st := range lk.statusList(stageDict(pid)) {
		deals, _, err := u.store.ListDeals(r.Context(), store.ListParams{Limit: kanbanPerStage, Sort: "-updated_at", Filters: []store.Filter{
			{Field: "category_id", Op: "eq", Value: pipe}, {Field: "stage_id", Op: "eq", Value: st.StatusID}}})
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		col := kanbanColumn{StageID: st.StatusID, Name: st.Name, Full: len(deals) == kanbanPerStage}
		for _, dl := range deals {
			col.Cards = append(col.Cards, kanbanCard{ID: dl.ID, Title: dl.Title, Link: "/e/deal/" + strconv.FormatInt(dl.ID, 10),
				Amount: dl.Opportunity.String() + " " + dl.Currency, Stage: dl.StageID})
		}
		d.Columns = append(d.Columns, col)
	}
	if lk.err != nil {
		u.failErr(w, r, rq, lk.err)
		return
	}
	u.render(w, r, rq, http.StatusOK, "kanban", rq.T("kanban.title"), "kanban", d)
}

// moveDeal changes a deal's stage (a card dropped on a column, or the
// card's own stage select for keyboard users).
func (u *UI) moveDeal(w http.ResponseWriter, r *http.Request, rq *request) {
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	stage := r.PostFormValue("stage_id")
	d, err := u.store.UpdateDeal(r.Context(), rq.Actor(), id, func(d *crm.Deal) error {
		d.StageID = stage
		return nil
	})
	if err != nil {
		if fe, ok := crm.AsFieldError(err); ok {
			u.fail(w, r, rq, http.StatusUnprocessableEntity, fe.Field+": "+fe.Message)
			return
		}
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/kanban?pipeline="+strconv.FormatInt(d.CategoryID, 10)+"#deal-"+strconv.FormatInt(id, 10))
}
