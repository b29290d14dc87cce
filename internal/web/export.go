package web

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/obmen/obmen/internal/spreadsheet"
)

// Lists export as CSV for a spreadsheet (Russian Excel by default: ";"
// between values and a decimal comma, UTF-8 with a byte-order mark) or as
// XLSX with typed cells: numbers as numbers, dates as dates.

// maxExport bounds one export.
const maxExport = 100000

// exportCell is one value of an exported row: text, or a number (Num, its
// decimal text with a point), or a date or a time (At).
type exportCell struct {
	Text string
	Num  string
	At   time.Time
	Kind string // kInt, kAmount, kQty, kDate, kDateTime for typed cells
}

// exportValue is a field's value as an export writes it.
func (l *lookups) exportValue(f field, rec record) exportCell {
	kind := f.Kind
	if f.Custom != nil {
		values, _ := rec["custom"].(map[string]any)
		v := values[f.Custom.Code]
		switch kind {
		case kInt, kAmount, kQty:
			if s := strOf(v); s != "" {
				if _, err := strconv.ParseFloat(s, 64); err == nil {
					return exportCell{Num: s, Kind: kind}
				}
			}
		case kDate:
			if t, err := time.Parse(time.DateOnly, strOf(v)); err == nil {
				return exportCell{At: t, Kind: kDate}
			}
		}
		return exportCell{Text: l.display(f, rec)}
	}
	v := rec[f.Name]
	switch kind {
	case kInt:
		if s := strOf(v); s != "" && s != "0" {
			return exportCell{Num: s, Kind: kind}
		}
		return exportCell{}
	case kAmount, kQty:
		if s := strOf(v); s != "" {
			return exportCell{Num: s, Kind: kind}
		}
		return exportCell{}
	case kDate:
		if t, err := time.Parse(time.DateOnly, strOf(v)); err == nil {
			return exportCell{At: t, Kind: kDate}
		}
		return exportCell{}
	case kDateTime:
		if t, err := time.Parse(time.RFC3339Nano, strOf(v)); err == nil && !t.IsZero() {
			return exportCell{At: t.Local(), Kind: kDateTime}
		}
		return exportCell{}
	}
	return exportCell{Text: l.display(f, rec)}
}

// csvFormat is how a CSV export writes values.
type csvFormat struct {
	Comma   rune // between values: ';' (default) or ','
	Decimal byte // in numbers: ',' (default) or '.'
}

// csvFormatOf reads ?sep= (semicolon, comma) and ?decimal= (comma,
// point) — defaults for a Russian Excel.
func csvFormatOf(q url.Values) csvFormat {
	f := csvFormat{Comma: ';', Decimal: ','}
	if q.Get("sep") == "comma" {
		f.Comma = ','
	}
	if q.Get("decimal") == "point" {
		f.Decimal = '.'
	}
	return f
}

// text writes c for a CSV file.
func (f csvFormat) text(c exportCell) string {
	switch {
	case c.Num != "":
		if f.Decimal == ',' {
			return strings.Replace(c.Num, ".", ",", 1)
		}
		return c.Num
	case c.Kind == kDate:
		return c.At.Format("02.01.2006")
	case c.Kind == kDateTime:
		return c.At.Format("02.01.2006 15:04")
	}
	return c.Text
}

// exportRows reads the list the query asks for (every page, the chosen
// columns, up to maxExport records) and hands its header and rows to
// emit; a failure past the header is handed on as a last row, so that a
// file is never cut silently.
func (u *UI) exportRows(r *http.Request, rq *request, e *entity, head func([]string) error, emit func([]exportCell) error) error {
	defs, err := u.store.CustomFields(r.Context(), e.Name)
	if err != nil {
		return err
	}
	lq := parseListQuery(listFields(e, defs), r.URL.Query())
	lq.params.Limit = 500
	lq.params.Cursor = ""
	lk := newLookups(r.Context(), u.store, rq.Lang)
	names := []string{rq.T("f.id")}
	for _, f := range lq.cols {
		names = append(names, f.label(rq.T))
	}
	if err := head(names); err != nil {
		return err
	}
	for n := 0; n < maxExport; {
		recs, next, err := e.list(r.Context(), lq.params)
		if err != nil {
			u.log.Error("web: export", "entity", e.Name, "err", err)
			return emit([]exportCell{{Text: rq.T("export.failed") + ": " + err.Error()}})
		}
		for _, rec := range recs {
			line := []exportCell{{Num: strconv.FormatInt(rec.ID(), 10), Kind: kInt}}
			for _, f := range lq.cols {
				line = append(line, lk.exportValue(f, rec))
			}
			if err := emit(line); err != nil {
				return err
			}
			n++
		}
		if next == "" {
			break
		}
		lq.params.Cursor = next
	}
	return nil
}

func exportName(e *entity, ext string) string {
	return e.Name + "-" + time.Now().Format("20060102-1504") + "." + ext
}

// exportCSV writes the list as CSV in UTF-8 with a byte-order mark, so
// that Excel reads the Cyrillic right.
func (u *UI) exportCSV(w http.ResponseWriter, r *http.Request, rq *request) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	format := csvFormatOf(r.URL.Query())
	cw := csv.NewWriter(w)
	cw.Comma = format.Comma
	started := false
	err := u.exportRows(r, rq, e, func(head []string) error {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+exportName(e, "csv")+`"`)
		started = true
		if _, err := io.WriteString(w, "\xEF\xBB\xBF"); err != nil {
			return err
		}
		return cw.Write(spreadsheet.Row(head))
	}, func(cells []exportCell) error {
		line := make([]string, len(cells))
		for i, c := range cells {
			line[i] = format.text(c)
			if c.Num == "" {
				line[i] = spreadsheet.Text(line[i])
			}
		}
		return cw.Write(line)
	})
	cw.Flush()
	if err != nil && !started {
		u.failErr(w, r, rq, err)
	}
}

// exportXLSX writes the list as an XLSX workbook of one sheet: a bold,
// frozen header and typed cells. The stream writer keeps a large export
// out of memory (excelize spills rows to a temporary file).
func (u *UI) exportXLSX(w http.ResponseWriter, r *http.Request, rq *request) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	x := excelize.NewFile()
	defer x.Close()
	sheet := translate(rq.Lang, "e."+e.Name)
	if len([]rune(sheet)) > 31 || strings.ContainsAny(sheet, `[]:*?/\`) {
		sheet = e.Name
	}
	if err := x.SetSheetName("Sheet1", sheet); err != nil {
		u.failErr(w, r, rq, fmt.Errorf("web: xlsx sheet: %w", err))
		return
	}
	sw, err := x.NewStreamWriter(sheet)
	if err != nil {
		u.failErr(w, r, rq, fmt.Errorf("web: xlsx: %w", err))
		return
	}
	styles := map[string]int{}
	for kind, s := range map[string]*excelize.Style{
		"head":    {Font: &excelize.Font{Bold: true}},
		kAmount:   {NumFmt: 4}, // #,##0.00
		kQty:      {CustomNumFmt: ptr("#,##0.###")},
		kDate:     {CustomNumFmt: ptr("dd.mm.yyyy")},
		kDateTime: {CustomNumFmt: ptr("dd.mm.yyyy hh:mm")},
	} {
		if styles[kind], err = x.NewStyle(s); err != nil {
			u.failErr(w, r, rq, fmt.Errorf("web: xlsx style: %w", err))
			return
		}
	}
	row := 1
	err = u.exportRows(r, rq, e, func(head []string) error {
		cells := make([]any, len(head))
		for i, h := range head {
			cells[i] = excelize.Cell{StyleID: styles["head"], Value: h}
		}
		if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return err
		}
		return sw.SetRow("A1", cells)
	}, func(line []exportCell) error {
		row++
		cells := make([]any, len(line))
		for i, c := range line {
			cells[i] = xlsxCell(c, styles)
		}
		return sw.SetRow("A"+strconv.Itoa(row), cells)
	})
	if err == nil {
		err = sw.Flush()
	}
	if err != nil {
		u.failErr(w, r, rq, fmt.Errorf("web: xlsx %s: %w", e.Name, err))
		return
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="`+exportName(e, "xlsx")+`"`)
	if err := x.Write(w); err != nil {
		u.log.Error("web: xlsx write", "entity", e.Name, "err", err)
	}
}

func ptr[T any](v T) *T { return &v }

// xlsxCell is an exported value as a typed cell.
func xlsxCell(c exportCell, styles map[string]int) any {
	switch {
	case c.Num != "":
		if c.Kind == kInt {
			if n, err := strconv.ParseInt(c.Num, 10, 64); err == nil {
				return n
			}
		}
		n, err := strconv.ParseFloat(c.Num, 64)
		if err != nil {
			return c.Num
		}
		return excelize.Cell{StyleID: styles[c.Kind], Value: n}
	case c.Kind == kDate || c.Kind == kDateTime:
		// Excel has no zones: the wall time is what the user sees.
		at := time.Date(c.At.Year(), c.At.Month(), c.At.Day(), c.At.Hour(), c.At.Minute(), c.At.Second(), 0, time.UTC)
		return excelize.Cell{StyleID: styles[c.Kind], Value: at}
	}
	return c.Text
}
