package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/store"
)

// column is a list column as the template shows it.
type column struct {
	Name, Label string
	Sortable    bool
	SortURL     string
	Sorted      string // "asc", "desc" or ""
	Chosen      bool
}

// cell is one value of a row; Links, when set, are the records it names.
type cell struct {
	Text  string
	Links []option
	Num   bool // a number or an amount, aligned right
}

type row struct {
	ID    int64
	Link  string
	Cells []cell
}

type filterView struct {
	Name, Label, Value string
	Options            []option
	Type               string // of the input when there are no options: "text", "date"
}

type listData struct {
	Entity   *entity
	Label    string
	Q        string
	Columns  []column // shown
	All      []column // every column, for the chooser
	Filters  []filterView
	Rows     []row
	Limit    int
	NextURL  string
	PrevURL  string
	FirstURL string
	CSVURL   string
	// Total counts the records of every page.
	Total int
	// Filtered: a search or filter narrows the list; Scoped: the user sees
	// only their own records (the empty list says why).
	Filtered, Scoped bool
	// Saved are the user's saved filters (name → URL); SaveQuery the
	// query a new one saves.
	Saved     []option
	SaveQuery string
	XLSXURL   string
}

// listQuery is what a list URL selects, parsed once for the page and the
// CSV export.
type listQuery struct {
	params store.ListParams
	cols   []field
	prev   []string // cursors of the pages before this one
}

func (u *UI) entityOf(w http.ResponseWriter, r *http.Request, rq *request) (*entity, bool) {
	e, ok := u.byPath[r.PathValue("entity")]
	if !ok {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return nil, false
	}
	return e, true
}

// isPeriod: the list filters the field by a period, from one date to
// another.
func isPeriod(f field) bool {
	return f.Filter && f.Custom == nil && (f.Kind == kDateTime || f.Kind == kDate)
}

// parseListQuery reads q, sort, cursor, prev, limit, cols and the filters
// "f.<field>" of a list URL; fields are the entity's listFields.
func parseListQuery(fields []field, q url.Values) listQuery {
	lq := listQuery{params: store.ListParams{Q: strings.TrimSpace(q.Get("q")), Cursor: q.Get("cursor"), Limit: 50}}
	if s := q.Get("sort"); s != "" {
		for _, f := range fields {
			if f.Name == strings.TrimPrefix(s, "-") && f.Sort {
				lq.params.Sort = s
			}
		}
	}
	if lq.params.Sort == "" {
		// Newest first.
		lq.params.Sort = "-id"
		for _, f := range fields {
			if f.Name == "created_at" && f.Sort {
				lq.params.Sort = "-created_at"
			}
		}
	}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n >= 10 && n <= 500 {
		lq.params.Limit = n
	}
	if p := q.Get("prev"); p != "" {
		// The cursors of the pages before, "-" standing for the first.
		for _, c := range strings.Split(p, ".") {
			if c == "-" {
				c = ""
			}
			lq.prev = append(lq.prev, c)
		}
	}
	for _, f := range fields {
		if v := strings.TrimSpace(q.Get("f." + f.Name)); v != "" && f.Sort {
			op := "eq"
			if f.Custom != nil {
				op = customOp(f.Custom)
			}
			lq.params.Filters = append(lq.params.Filters, store.Filter{Field: f.Name, Op: op, Value: v})
		}
	}
	// A period: "f.<field>.from" and "f.<field>.to" (dates, both
	// included) of a time or date filter.
	for _, f := range fields {
		if !isPeriod(f) {
			continue
		}
		if v := strings.TrimSpace(q.Get("f." + f.Name + ".from")); v != "" {
			lq.params.Filters = append(lq.params.Filters, store.Filter{Field: f.Name, Op: "gte", Value: v})
		}
		if v := strings.TrimSpace(q.Get("f." + f.Name + ".to")); v != "" {
			if d, err := time.Parse(time.DateOnly, v); err == nil {
				lq.params.Filters = append(lq.params.Filters, store.Filter{Field: f.Name, Op: "lt", Value: d.AddDate(0, 0, 1).Format(time.DateOnly)})
			} else {
				lq.params.Filters = append(lq.params.Filters, store.Filter{Field: f.Name, Op: "lte", Value: v})
			}
		}
	}
	chosen := map[string]bool{}
	for _, c := range q["cols"] {
		chosen[c] = true
	}
	for _, f := range fields {
		if f.Kind == kLong {
			continue
		}
		if (len(chosen) == 0 && f.List) || chosen[f.Name] {
			lq.cols = append(lq.cols, f)
		}
	}
	return lq
}

func (u *UI) list(w http.ResponseWriter, r *http.Request, rq *request) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	q := r.URL.Query()
	if u.rememberList(w, r, rq, e, q) {
		return
	}
	defs, err := u.store.CustomFields(r.Context(), e.Name)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	fields := listFields(e, defs)
	lq := parseListQuery(fields, q)
	recs, next, err := e.list(r.Context(), lq.params)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	lk := u.lookupsFor(r.Context(), rq)
	base := "/e/" + e.Name
	// with returns the current URL with some parameters changed.
	with := func(set map[string]string) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		for k, val := range set {
			if val == "" {
				v.Del(k)
			} else {
				v.Set(k, val)
			}
		}
		if s := v.Encode(); s != "" {
			return base + "?" + s
		}
		return base
	}
	d := listData{Entity: e, Label: rq.T("e." + e.Name), Q: lq.params.Q, Limit: lq.params.Limit}
	shown := map[string]bool{}
	for _, f := range lq.cols {
		shown[f.Name] = true
	}
	for _, f := range fields {
		if f.Kind == kLong {
			continue
		}
		c := column{Name: f.Name, Label: f.label(rq.T), Sortable: f.Sort, Chosen: shown[f.Name]}
		if f.Sort {
			dir := f.Name
			switch lq.params.Sort {
			case f.Name:
				c.Sorted, dir = "asc", "-"+f.Name
			case "-" + f.Name:
				c.Sorted = "desc"
			}
			c.SortURL = with(map[string]string{"sort": dir, "cursor": "", "prev": ""})
		}
		d.All = append(d.All, c)
		if c.Chosen {
			d.Columns = append(d.Columns, c)
		}
		if isPeriod(f) {
			for _, end := range []string{"from", "to"} {
				d.Filters = append(d.Filters, filterView{Name: "f." + f.Name + "." + end, Label: c.Label + ": " + rq.T("list.period_"+end),
					Value: q.Get("f." + f.Name + "." + end), Type: "date"})
			}
		} else if f.Filter {
			fv := filterView{Name: "f." + f.Name, Label: c.Label, Value: q.Get("f." + f.Name), Options: lk.options(f, record{}, rq.T)}
			if f.Custom != nil && f.Kind != kChoice && f.Kind != kBool {
				// A custom text, number or date: typed, not chosen.
				fv.Options, fv.Type = nil, "text"
				if f.Kind == kDate {
					fv.Type = "date"
				}
			}
			d.Filters = append(d.Filters, fv)
		}
	}
	for _, rec := range recs {
		rw := row{ID: rec.ID(), Link: base + "/" + strconv.FormatInt(rec.ID(), 10)}
		for _, f := range lq.cols {
			c := cell{Text: lk.show(f, rec), Links: lk.refLinks(f, rec)}
			rw.Cells = append(rw.Cells, c)
		}
		d.Rows = append(d.Rows, rw)
	}
	if lk.err != nil {
		u.failErr(w, r, rq, lk.err)
		return
	}
	if next != "" {
		var stack []string
		for _, c := range append(lq.prev, lq.params.Cursor) {
			if c == "" {
				c = "-"
			}
			stack = append(stack, c)
		}
		d.NextURL = with(map[string]string{"cursor": next, "prev": strings.Join(stack, ".")})
	}
	if lq.params.Cursor != "" {
		d.FirstURL = with(map[string]string{"cursor": "", "prev": ""})
		if n := len(lq.prev); n > 0 {
			var stack []string
			for _, c := range lq.prev[:n-1] {
				if c == "" {
					c = "-"
				}
				stack = append(stack, c)
			}
			d.PrevURL = with(map[string]string{"cursor": lq.prev[n-1], "prev": strings.Join(stack, ".")})
		} else {
			d.PrevURL = d.FirstURL
		}
	}
	exp := url.Values{}
	for k, vs := range q {
		if k != "cursor" && k != "prev" && k != "limit" {
			exp[k] = vs
		}
	}
	d.CSVURL = base + "/export.csv?" + exp.Encode()
	if d.Total, err = u.store.CountRecords(r.Context(), e.Name, lq.params); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if d.Saved, err = u.savedFilters(r, rq, e); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d.SaveQuery = listState(q).Encode()
	d.Filtered = lq.params.Q != "" || len(lq.params.Filters) > 0
	d.Scoped = !rq.IsAdmin() && store.ScopeCondition(r.Context(), e.Name, "r", func(any) string { return "?" }) != ""
	d.XLSXURL = base + "/export.xlsx?" + exp.Encode()
	u.render(w, r, rq, http.StatusOK, "list", d.Label, e.Name, d)
}
