package web_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/obmen/obmen/internal/crm"
)

// TestReports: the funnel counts deals by stage with the conversion
// between stages, leads by source and campaign, won deals and revenue by
// manager, activities done/overdue/planned; the manager filter narrows
// them; each table downloads as CSV for Excel (semicolons, decimal comma).
func TestReports(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		m, err := s.CreateUser(ctx, e.admin, crm.User{Login: "olga", FirstName: "Ольга", LastName: "Смирнова", Role: crm.RoleManager, Active: true}, "manager-password")
		if err != nil {
			t.Fatal(err)
		}
		today := time.Now().In(msk).Format(time.DateOnly)
		for stage, n := range map[string]int{"NEW": 4, "PREPARATION": 3, "EXECUTING": 2, "WON": 1, "LOSE": 2} {
			for range n {
				d := crm.Deal{Title: "Сделка " + stage, StageID: stage, Opportunity: 1500050, Currency: "RUB"}
				if stage == "WON" {
					d.CloseDate = today
					d.AssignedByID = m.ID
				}
				if _, err := s.CreateDeal(ctx, e.admin, d); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i := range 4 {
			l := crm.Lead{Title: "Заявка", SourceID: "WEB", UTM: crm.UTM{UTMCampaign: "весна"}}
			if i == 3 {
				l = crm.Lead{Title: "Звонок", SourceID: "CALL"}
			}
			if _, err := s.CreateLead(ctx, e.admin, l); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now()
		for _, a := range []struct {
			start, end time.Duration
			done       bool
		}{{-3 * time.Hour, -2 * time.Hour, true}, {-2 * time.Hour, -time.Hour, false}, {time.Minute, 2 * time.Minute, false}} {
			st, en := now.Add(a.start), now.Add(a.end)
			act := crm.Activity{Kind: crm.ActivityCall, Subject: "Звонок", StartAt: &st, EndAt: &en, Done: a.done}
			act.AssignedByID = m.ID
			if _, err := s.CreateActivity(ctx, e.admin, act); err != nil {
				t.Fatal(err)
			}
		}
		b := e.browser()
		b.signIn()
		p := b.get("/reports")
		if p.Status != http.StatusOK {
			t.Fatalf("reports: %d %s", p.Status, p.Body)
		}
		row := func(body, section string) string {
			i := strings.Index(body, `id="rep-`+section+`"`)
			if i < 0 {
				t.Fatalf("no section %s", section)
			}
			j := strings.Index(body[i:], "</section>")
			return body[i : i+j]
		}
		for _, tc := range []struct{ section, want string }{
			{"funnel", "<td>Новая</td><td>4</td><td>10</td><td>100 %</td>"},
			{"funnel", "<td>Подготовка документов</td><td>3</td><td>6</td><td>60,0 %</td>"},
			{"funnel", "<td>Сделка успешна</td><td>1</td><td>1</td><td>100,0 %</td><td>15\u202f000,50</td>"},
			{"funnel", "<td>Сделка провалена</td><td>2</td><td></td><td>20,0 %</td>"},
			{"funnel", "<svg"},
			{"leads_source", "<td>Веб-сайт</td>"},
			{"leads_source", "<td>Звонок</td>"},
			{"leads_campaign", "<td>весна</td>"},
			{"won", "<td>Ольга Смирнова</td><td>" + time.Now().In(msk).Format("01.2006") + "</td><td>1</td><td>15\u202f000,50</td>"},
			{"activities", "<td>Ольга Смирнова</td><td>1</td><td>1</td><td>1</td>"},
		} {
			if sec := row(p.Body, tc.section); !strings.Contains(sec, tc.want) {
				t.Errorf("%s: no %q in\n%s", tc.section, tc.want, sec)
			}
		}
		// The manager filter: Olga has no leads and no open deals.
		p = b.get("/reports?user=" + itoa64(m.ID))
		if sec := row(p.Body, "leads_source"); !strings.Contains(sec, `class="empty"`) {
			t.Errorf("filtered leads: %s", sec)
		}
		if sec := row(p.Body, "won"); !strings.Contains(sec, "Ольга Смирнова") {
			t.Errorf("filtered won: %s", sec)
		}
		// CSV for Excel.
		c := b.get("/reports/export.csv?table=won")
		if c.Status != http.StatusOK || !strings.HasPrefix(c.Body, "\uFEFFМенеджер;Месяц;Выиграно;Выручка, ₽\n") || !strings.Contains(c.Body, ";1;15000,50\n") {
			t.Fatalf("csv: %d %q", c.Status, c.Body)
		}
		if c := b.get("/reports/export.csv?table=nope"); c.Status != http.StatusNotFound {
			t.Fatalf("unknown table: %d", c.Status)
		}
		// XLSX beside it: the same table, amounts as numbers.
		if p := b.get("/reports"); !strings.Contains(p.Body, `id="xlsx-won"`) || !strings.Contains(p.Body, "Скачать XLSX") {
			t.Error("no XLSX link beside the CSV")
		}
		x := b.get("/reports/export.xlsx?table=won")
		if x.Status != http.StatusOK || x.Header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
			t.Fatalf("xlsx: %d %s", x.Status, x.Header.Get("Content-Type"))
		}
		f, err := excelize.OpenReader(strings.NewReader(x.Body))
		if err != nil {
			t.Fatalf("open the XLSX: %v", err)
		}
		defer f.Close()
		sheet := f.GetSheetName(0)
		rows, _ := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if len(rows) < 2 || strings.Join(rows[0], ";") != "Менеджер;Месяц;Выиграно;Выручка, ₽" {
			t.Fatalf("xlsx rows %q", rows)
		}
		found := false
		for i, row := range rows[1:] {
			if len(row) == 4 && row[2] == "1" && row[3] == "15000.5" {
				typ, _ := f.GetCellType(sheet, "D"+strconv.Itoa(i+2))
				found = typ == excelize.CellTypeUnset || typ == excelize.CellTypeNumber
			}
		}
		if !found {
			t.Fatalf("no won row with the number 15000.5: %q", rows)
		}
		if c := b.get("/reports/export.xlsx?table=nope"); c.Status != http.StatusNotFound {
			t.Fatalf("unknown xlsx table: %d", c.Status)
		}
	})
}

var msk, _ = time.LoadLocation("Europe/Moscow")

func itoa64(v int64) string { return strconv.FormatInt(v, 10) }
