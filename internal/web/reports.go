package web

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/spreadsheet"
	"github.com/obmen/obmen/internal/store"
	"github.com/xuri/excelize/v2"
)

// reportTable is one report's table: the page shows it under the chart,
// export.csv writes it.
type reportTable struct {
	Name   string // csv name
	Title  string
	Header []string
	Rows   [][]string
}

type reportSection struct {
	ID    string
	Title string
	Hint  string
	Chart template.HTML
	Table reportTable
	CSV   string
	XLSX  string
}

type reportsPage struct {
	From, To   string
	UserID     int64
	Pipeline   int64
	Users      []option
	Pipelines  []crm.Pipeline
	Sections   []reportSection
	Generation string
}

// reportLoc is the reports' time zone for periods and months.
var reportLoc = func() *time.Location {
	l, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		return time.FixedZone("MSK", 3*3600)
	}
	return l
}()

// reportParams reads the filters: from, to (dates, to inclusive; the last
// 6 months by default), user, pipeline.
func reportParams(r *http.Request) (store.ReportFilter, int64, string, string) {
	q := r.URL.Query()
	now := time.Now().In(reportLoc)
	to, err := time.ParseInLocation(time.DateOnly, q.Get("to"), reportLoc)
	if err != nil {
		to = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, reportLoc)
	}
	from, err := time.ParseInLocation(time.DateOnly, q.Get("from"), reportLoc)
	if err != nil || !from.Before(to.AddDate(0, 0, 1)) {
		from = time.Date(to.Year(), to.Month(), 1, 0, 0, 0, 0, reportLoc).AddDate(0, -5, 0)
	}
	user, _ := strconv.ParseInt(q.Get("user"), 10, 64)
	pipe, _ := strconv.ParseInt(q.Get("pipeline"), 10, 64)
	return store.ReportFilter{From: from, To: to.AddDate(0, 0, 1), UserID: user}, pipe, from.Format(time.DateOnly), to.Format(time.DateOnly)
}

// months lists the months of the period as "2026-01".
func months(f store.ReportFilter) []string {
	var out []string
	m := time.Date(f.From.Year(), f.From.Month(), 1, 0, 0, 0, 0, reportLoc)
	for m.Before(f.To) && len(out) < 60 {
		out = append(out, m.Format("2006-01"))
		m = m.AddDate(0, 1, 0)
	}
	return out
}

func monthOf(day int64) string { return store.Day(day).Format("2006-01") }

func money(kopecks int64) string {
	a := crm.Amount(kopecks).String()
	whole, frac, _ := strings.Cut(a, ".")
	n, _ := strconv.ParseInt(whole, 10, 64)
	return groupInt(n) + "," + frac
}

func pct(a, b int64) string {
	if b == 0 {
		return "—"
	}
	// The decimal comma, as in the report's sums ("60,0 %").
	return strings.Replace(strconv.FormatFloat(float64(a)*100/float64(b), 'f', 1, 64), ".", ",", 1) + " %"
}

// buildReports computes every section.
func (u *UI) buildReports(r *http.Request, rq *request, only string) (reportsPage, error) {
	want := func(names ...string) bool {
		if only == "" {
			return true
		}
		for _, n := range names {
			if n == only {
				return true
			}
		}
		return false
	}
	ctx := r.Context()
	f, pipe, from, to := reportParams(r)
	lk := newLookups(ctx, u.store, rq.Lang)
	lk.loadUsers()
	page := reportsPage{From: from, To: to, UserID: f.UserID, Pipeline: pipe, Users: lk.userOpts}
	ps, err := u.store.ListPipelines(ctx)
	if err != nil {
		return page, err
	}
	page.Pipelines = ps
	ms := months(f)
	monthLabels := make([]string, len(ms))
	for i, m := range ms {
		t, _ := time.Parse("2006-01", m)
		monthLabels[i] = t.Format("01.2006")
	}

	// 1. The funnel of the pipeline: deals created in the period by
	// stage; "reached" counts a deal at a stage for every stage before it.
	if want("funnel") {
		dict := "DEAL_STAGE"
		if pipe != 0 {
			dict = "DEAL_STAGE_" + strconv.FormatInt(pipe, 10)
		}
		stages := lk.statusList(dict)
		counts, err := u.store.ReportDealStages(ctx, pipe, f)
		if err != nil {
			return page, err
		}
		byStage := map[string]store.StageCount{}
		for _, c := range counts {
			byStage[c.StageID] = c
		}
		var flow, lost []crm.Status
		for _, st := range stages {
			if st.Semantics == "F" {
				lost = append(lost, st)
			} else {
				flow = append(flow, st)
			}
		}
		reached := make([]int64, len(flow))
		for i := len(flow) - 1; i >= 0; i-- {
			reached[i] = byStage[flow[i].StatusID].Count
			if i+1 < len(flow) {
				reached[i] += reached[i+1]
			}
		}
		funnel := reportTable{Name: "funnel", Title: rq.T("rep.funnel"), Header: []string{rq.T("rep.stage"), rq.T("rep.now"), rq.T("rep.reached"), rq.T("rep.conversion"), rq.T("rep.sum")}}
		var fbars []hbar
		for i, st := range flow {
			conv := "100 %"
			if i > 0 {
				conv = pct(reached[i], reached[i-1])
			}
			c := byStage[st.StatusID]
			funnel.Rows = append(funnel.Rows, []string{st.Name, fmt.Sprint(c.Count), fmt.Sprint(reached[i]), conv, money(c.Sum)})
			fbars = append(fbars, hbar{Label: st.Name, Parts: []float64{float64(reached[i])}, Note: groupInt(reached[i]) + " · " + conv})
		}
		for _, st := range lost {
			c := byStage[st.StatusID]
			funnel.Rows = append(funnel.Rows, []string{st.Name, fmt.Sprint(c.Count), "", pct(c.Count, reached[0]), money(c.Sum)})
			fbars = append(fbars, hbar{Label: st.Name, Parts: []float64{0, 0, 0, 0, 0, float64(c.Count)}, Note: groupInt(c.Count) + " · " + pct(c.Count, max(reached[0], 0))})
		}
		page.Sections = append(page.Sections, reportSection{ID: "funnel", Title: funnel.Title, Hint: rq.T("rep.funnel_hint"), Chart: hbarChart(funnel.Title, fbars, nil), Table: funnel})
	}

	// 2. Leads by source and by UTM campaign, per month.
	var leads []store.LeadCount
	if want("leads_source", "leads_campaign") {
		if leads, err = u.store.ReportLeads(ctx, f); err != nil {
			return page, err
		}
	}
	monthIdx := map[string]int{}
	for i, m := range ms {
		monthIdx[m] = i
	}
	group := func(key func(store.LeadCount) string) ([]string, map[string][]float64) {
		per := map[string][]float64{}
		tot := map[string]float64{}
		for _, c := range leads {
			i, ok := monthIdx[monthOf(c.Day)]
			if !ok {
				continue
			}
			k := key(c)
			if per[k] == nil {
				per[k] = make([]float64, len(ms))
			}
			per[k][i] += float64(c.Count)
			tot[k] += float64(c.Count)
		}
		keys := make([]string, 0, len(per))
		for k := range per {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(a, b int) bool {
			if tot[keys[a]] != tot[keys[b]] {
				return tot[keys[a]] > tot[keys[b]]
			}
			return keys[a] < keys[b]
		})
		return keys, per
	}
	leadSection := func(id, title, hint string, key func(store.LeadCount) string, name func(string) string) {
		keys, per := group(key)
		t := reportTable{Name: id, Title: title, Header: append([]string{rq.T("rep.key_" + id)}, monthLabels...)}
		t.Header = append(t.Header, rq.T("rep.total"))
		var legend []string
		var series [][]float64
		other := make([]float64, len(ms))
		for i, k := range keys {
			row := []string{name(k)}
			sum := 0.0
			for _, v := range per[k] {
				row = append(row, trimFloat(v))
				sum += v
			}
			t.Rows = append(t.Rows, append(row, trimFloat(sum)))
			if i < 5 {
				legend = append(legend, name(k))
				series = append(series, per[k])
			} else {
				for j, v := range per[k] {
					other[j] += v
				}
			}
		}
		if len(keys) > 5 {
			legend = append(legend, rq.T("rep.other"))
			series = append(series, other)
		}
		page.Sections = append(page.Sections, reportSection{ID: id, Title: title, Hint: hint, Chart: vbarChart(title, monthLabels, series, legend), Table: t})
	}
	if want("leads_source", "leads_campaign") {
		leadSection("leads_source", rq.T("rep.leads_source"), rq.T("rep.leads_hint"), func(c store.LeadCount) string { return c.SourceID }, func(k string) string {
			if k == "" {
				return rq.T("rep.none")
			}
			return lk.statusName("SOURCE", k)
		})
		leadSection("leads_campaign", rq.T("rep.leads_campaign"), "", func(c store.LeadCount) string { return c.Campaign }, func(k string) string {
			if k == "" {
				return rq.T("rep.none")
			}
			return k
		})

	}

	// 3. Won deals and revenue by manager and month.
	if want("won") {
		won, err := u.store.ReportWon(ctx, f)
		if err != nil {
			return page, err
		}
		type agg struct{ n, sum []int64 }
		byUser := map[int64]*agg{}
		var userOrder []int64
		monthSum := make([]float64, len(ms))
		for _, c := range won {
			i, ok := monthIdx[monthOf(c.Day)]
			if !ok {
				continue
			}
			a := byUser[c.UserID]
			if a == nil {
				a = &agg{make([]int64, len(ms)), make([]int64, len(ms))}
				byUser[c.UserID] = a
				userOrder = append(userOrder, c.UserID)
			}
			a.n[i] += c.Count
			a.sum[i] += c.Sum
			monthSum[i] += float64(c.Sum) / 100
		}
		sort.Slice(userOrder, func(a, b int) bool { return lk.userName(userOrder[a]) < lk.userName(userOrder[b]) })
		wt := reportTable{Name: "won", Title: rq.T("rep.won"), Header: []string{rq.T("rep.manager"), rq.T("rep.month"), rq.T("rep.won_count"), rq.T("rep.revenue")}}
		var wseries [][]float64
		var wlegend []string
		for _, uid := range userOrder {
			a := byUser[uid]
			s := make([]float64, len(ms))
			for i := range ms {
				s[i] = float64(a.sum[i]) / 100
				if a.n[i] > 0 {
					wt.Rows = append(wt.Rows, []string{lk.userName(uid), monthLabels[i], fmt.Sprint(a.n[i]), money(a.sum[i])})
				}
			}
			wseries = append(wseries, s)
			wlegend = append(wlegend, lk.userName(uid))
		}
		page.Sections = append(page.Sections, reportSection{ID: "won", Title: wt.Title, Hint: rq.T("rep.won_hint"), Chart: vbarChart(wt.Title, monthLabels, wseries, wlegend), Table: wt})

	}

	// 4. Activities done, overdue and planned by manager.
	if want("activities") {
		acts, err := u.store.ReportActivities(ctx, f, time.Now())
		if err != nil {
			return page, err
		}
		at := reportTable{Name: "activities", Title: rq.T("rep.activities"), Header: []string{rq.T("rep.manager"), rq.T("rep.done"), rq.T("rep.overdue"), rq.T("rep.planned")}}
		var abars []hbar
		for _, c := range acts {
			name := lk.userName(c.UserID)
			at.Rows = append(at.Rows, []string{name, fmt.Sprint(c.Done), fmt.Sprint(c.Overdue), fmt.Sprint(c.Planned)})
			abars = append(abars, hbar{Label: name, Parts: []float64{0, 0, float64(c.Done), 0, 0, float64(c.Overdue), float64(c.Planned)},
				Note: fmt.Sprintf("%d / %d / %d", c.Done, c.Overdue, c.Planned)})
		}
		page.Sections = append(page.Sections, reportSection{ID: "activities", Title: at.Title, Hint: rq.T("rep.activities_hint"),
			Chart: hbarChart(at.Title, abars, nil), Table: at})
	}

	qs := url.Values{"from": {from}, "to": {to}}
	if f.UserID != 0 {
		qs.Set("user", strconv.FormatInt(f.UserID, 10))
	}
	if pipe != 0 {
		qs.Set("pipeline", strconv.FormatInt(pipe, 10))
	}
	for i := range page.Sections {
		qs.Set("table", page.Sections[i].Table.Name)
		page.Sections[i].CSV = "/reports/export.csv?" + qs.Encode()
		page.Sections[i].XLSX = "/reports/export.xlsx?" + qs.Encode()
	}
	return page, lk.err
}

// reports is the "Отчёты" section.
func (u *UI) reports(w http.ResponseWriter, r *http.Request, rq *request) {
	page, err := u.buildReports(r, rq, "")
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	u.render(w, r, rq, http.StatusOK, "reports", rq.T("rep.title"), "reports", page)
}

// reportTableOf finds the table ?table= names among the reports the
// request may see; false (after a 404 or an error page) when there is none.
func (u *UI) reportTableOf(w http.ResponseWriter, r *http.Request, rq *request) (reportTable, reportsPage, bool) {
	name := r.URL.Query().Get("table")
	if name == "" {
		name = "-"
	}
	page, err := u.buildReports(r, rq, name)
	if err != nil {
		u.failErr(w, r, rq, err)
		return reportTable{}, page, false
	}
	for _, s := range page.Sections {
		if s.Table.Name == name {
			return s.Table, page, true
		}
	}
	u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
	return reportTable{}, page, false
}

// reportCSV writes one report's table for Excel: UTF-8 with a BOM,
// semicolons, decimal commas.
func (u *UI) reportCSV(w http.ResponseWriter, r *http.Request, rq *request) {
	t, page, ok := u.reportTableOf(w, r, rq)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="report-%s-%s-%s.csv"`, t.Name, page.From, page.To))
	_, _ = w.Write([]byte("\uFEFF"))
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	_ = cw.Write(spreadsheet.Row(append([]string(nil), t.Header...)))
	for _, row := range t.Rows {
		out := make([]string, len(row))
		for i, c := range row {
			out[i] = spreadsheet.Text(strings.ReplaceAll(c, "\u202f", "")) // Excel reads "45000,50" as a number
		}
		_ = cw.Write(out)
	}
	cw.Flush()
}

// reportXLSX writes one report's table as an XLSX workbook: a bold, frozen
// header, and numbers, money and percentages as numbers Excel can sum (the
// first column, the row's name, stays text).
func (u *UI) reportXLSX(w http.ResponseWriter, r *http.Request, rq *request) {
	t, page, ok := u.reportTableOf(w, r, rq)
	if !ok {
		return
	}
	x, err := reportWorkbook(t)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	defer x.Close()
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="report-%s-%s-%s.xlsx"`, t.Name, page.From, page.To))
	if err := x.Write(w); err != nil {
		u.log.Error("web: report xlsx write", "table", t.Name, "err", err)
	}
}

func reportWorkbook(t reportTable) (*excelize.File, error) {
	x := excelize.NewFile()
	sheet := t.Title
	if sheet == "" || len([]rune(sheet)) > 31 || strings.ContainsAny(sheet, `[]:*?/\`) {
		sheet = t.Name
	}
	fail := func(err error) (*excelize.File, error) {
		x.Close()
		return nil, fmt.Errorf("web: report %s xlsx: %w", t.Name, err)
	}
	if err := x.SetSheetName("Sheet1", sheet); err != nil {
		return fail(err)
	}
	head, err := x.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fail(err)
	}
	money, err := x.NewStyle(&excelize.Style{NumFmt: 4}) // #,##0.00
	if err != nil {
		return fail(err)
	}
	percent, err := x.NewStyle(&excelize.Style{NumFmt: 10}) // 0.00%
	if err != nil {
		return fail(err)
	}
	sw, err := x.NewStreamWriter(sheet)
	if err != nil {
		return fail(err)
	}
	cells := make([]any, len(t.Header))
	for i, h := range t.Header {
		cells[i] = excelize.Cell{StyleID: head, Value: h}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fail(err)
	}
	if err := sw.SetRow("A1", cells); err != nil {
		return fail(err)
	}
	for n, row := range t.Rows {
		cells := make([]any, len(row))
		for i, c := range row {
			cells[i] = c
			if i == 0 {
				continue
			}
			if v, kind, ok := reportNumber(c); ok {
				switch kind {
				case "int":
					cells[i] = int64(v)
				case "percent":
					cells[i] = excelize.Cell{StyleID: percent, Value: v / 100}
				default:
					cells[i] = excelize.Cell{StyleID: money, Value: v}
				}
			}
		}
		if err := sw.SetRow("A"+strconv.Itoa(n+2), cells); err != nil {
			return fail(err)
		}
	}
	if err := sw.Flush(); err != nil {
		return fail(err)
	}
	return x, nil
}

// reportNumber reads a report's cell as shown ("45 000,50", "12", "33,3 %")
// back into a number: kind "int", "decimal" or "percent".
func reportNumber(c string) (float64, string, bool) {
	s := strings.NewReplacer("\u202f", "", "\u00a0", "", " ", "", "₽", "").Replace(strings.TrimSpace(c))
	kind := "int"
	if p, ok := strings.CutSuffix(s, "%"); ok {
		s, kind = p, "percent"
	}
	if s == "" || s == "-" {
		return 0, "", false
	}
	if strings.Contains(s, ",") {
		s = strings.Replace(s, ",", ".", 1)
		if kind == "int" {
			kind = "decimal"
		}
	}
	for i, r := range s {
		if !(r >= '0' && r <= '9' || r == '.' || (r == '-' && i == 0)) {
			return 0, "", false
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, "", false
	}
	if kind == "int" && strings.Contains(s, ".") {
		kind = "decimal"
	}
	return v, kind, true
}
