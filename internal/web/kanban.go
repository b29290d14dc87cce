package web

import (
	"bytes"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// kanbanPerStage is how many cards a column shows at first and adds with
// each "show more".
const kanbanPerStage = 50

type kanbanCard struct {
	ID                  int64
	Title, Link, Amount string
	Account             string
	Stage               string
}

// kanbanCards is a page of one column's cards with what their template
// needs: the stages of the card's select, the CSRF token, the language,
// and the URL of the next page ("" at the end).
type kanbanCards struct {
	Cards    []kanbanCard
	Stages   []option
	CSRF     string
	Lang     string
	MoreURL  string
	Left     int // cards after this page
	Appended bool
}

// T translates a message key.
func (k *kanbanCards) T(key string) string { return translate(k.Lang, key) }

type kanbanColumn struct {
	StageID, Name string
	Count         int
	Sums          []string // "1350.00 RUB", one per currency
	Page          kanbanCards
}

type kanbanData struct {
	Pipeline  string
	Pipelines []option
	Stages    []option
	Columns   []kanbanColumn
	Limit     int
}

// kanbanPage reads one page of a stage's deals, newest change first.
func (u *UI) kanbanPage(r *http.Request, rq *request, pipe, stage, cursor string, stages []option, total, before int) (kanbanCards, error) {
	deals, next, err := u.store.ListDeals(r.Context(), store.ListParams{Limit: kanbanPerStage, Sort: "-updated_at", Cursor: cursor, Filters: []store.Filter{
		{Field: "category_id", Op: "eq", Value: pipe}, {Field: "stage_id", Op: "eq", Value: stage}}})
	if err != nil {
		return kanbanCards{}, err
	}
	kc := kanbanCards{Stages: stages, CSRF: rq.Sess.CSRF, Lang: rq.Lang}
	for _, dl := range deals {
		kc.Cards = append(kc.Cards, kanbanCard{ID: dl.ID, Title: dl.Title, Link: "/e/deal/" + strconv.FormatInt(dl.ID, 10),
			Amount: dl.Opportunity.String() + " " + dl.Currency, Stage: dl.StageID})
	}
	if next != "" {
		shown := before + len(deals)
		kc.MoreURL = "/kanban/more?" + url.Values{"pipeline": {pipe}, "stage": {stage}, "cursor": {next},
			"shown": {strconv.Itoa(shown)}, "total": {strconv.Itoa(total)}}.Encode()
		kc.Left = max(total-shown, 0)
	}
	return kc, nil
}

func pipelineOf(r *http.Request) (int64, string) {
	pipe := r.URL.Query().Get("pipeline")
	pid, err := strconv.ParseInt(pipe, 10, 64)
	if err != nil || pid < 0 {
		return 0, "0"
	}
	return pid, strconv.FormatInt(pid, 10)
}

func (u *UI) kanban(w http.ResponseWriter, r *http.Request, rq *request) {
	pid, pipe := pipelineOf(r)
	lk := u.lookupsFor(r.Context(), rq)
	d := kanbanData{Pipeline: pipe, Pipelines: lk.options(field{Kind: kPipeline}, nil, rq.T), Limit: kanbanPerStage}
	for _, st := range lk.statusList(stageDict(pid)) {
		d.Stages = append(d.Stages, option{st.StatusID, st.Name})
	}
	totals, err := u.store.DealStageTotals(r.Context())
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	for _, st := range lk.statusList(stageDict(pid)) {
		col := kanbanColumn{StageID: st.StatusID, Name: st.Name}
		for _, t := range totals {
			if t.CategoryID == pid && t.StageID == st.StatusID {
				col.Count += t.Count
				col.Sums = append(col.Sums, t.Sum.String()+" "+t.Currency)
			}
		}
		sort.Strings(col.Sums)
		if col.Page, err = u.kanbanPage(r, rq, pipe, st.StatusID, "", d.Stages, col.Count, 0); err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		d.Columns = append(d.Columns, col)
	}
	if lk.err != nil {
		u.failErr(w, r, rq, lk.err)
		return
	}
	u.render(w, r, rq, http.StatusOK, "kanban", rq.T("kanban.title"), "kanban", d)
}

// kanbanMore is a column's next page of cards (htmx replaces the column's
// "show more" button with it, and it brings its own button when there are
// more still).
func (u *UI) kanbanMore(w http.ResponseWriter, r *http.Request, rq *request) {
	pid, pipe := pipelineOf(r)
	q := r.URL.Query()
	lk := u.lookupsFor(r.Context(), rq)
	var stages []option
	for _, st := range lk.statusList(stageDict(pid)) {
		stages = append(stages, option{st.StatusID, st.Name})
	}
	if lk.err != nil {
		u.failErr(w, r, rq, lk.err)
		return
	}
	shown, _ := strconv.Atoi(q.Get("shown"))
	total, _ := strconv.Atoi(q.Get("total"))
	kc, err := u.kanbanPage(r, rq, pipe, q.Get("stage"), q.Get("cursor"), stages, total, shown)
	if err != nil {
		if fe, ok := crm.AsFieldError(err); ok {
			u.fail(w, r, rq, http.StatusBadRequest, rq.T("f."+fe.Field)+": "+fieldMessage(rq, fe))
			return
		}
		u.failErr(w, r, rq, err)
		return
	}
	kc.Appended = true
	u.renderFrom(w, http.StatusOK, "kanban", "kanban-cards", &kc)
}

// renderFrom writes one named template of a page's set (an htmx fragment).
func (u *UI) renderFrom(w http.ResponseWriter, status int, page, name string, data any) {
	var buf bytes.Buffer
	if err := u.pages[page].ExecuteTemplate(&buf, name, data); err != nil {
		u.log.Error("web: render fragment", "page", page, "fragment", name, "err", err)
		http.Error(w, "internal error; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
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
			u.fail(w, r, rq, http.StatusUnprocessableEntity, rq.T("f."+fe.Field)+": "+fieldMessage(rq, fe))
			return
		}
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/kanban?pipeline="+strconv.FormatInt(d.CategoryID, 10)+"#deal-"+strconv.FormatInt(id, 10))
}
