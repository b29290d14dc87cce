package web_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestBrowserDailyWorkScreens opens the screens of a sales team's day —
// reports, duplicates, global search, notifications, lead distribution,
// the week — at a phone's 390×844 and a laptop's 1366×768 on a seeded
// team, checks each shows what was seeded, and takes the README's
// screenshots of them (-update-screenshots; name.png and name-phone.png).
func TestBrowserDailyWorkScreens(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	seedTeam(t, e)
	monday := time.Now().In(time.UTC).AddDate(0, 0, -int((time.Now().Weekday()+6)%7)).Format("2006-01-02")
	screens := []struct {
		name, path string
		// check is a script that answers "" when the screen shows what
		// was seeded, else what is missing.
		check string
	}{
		// The chart shown is drawn for the screen: its text is not shrunk
		// below a readable size.
		{"reports", "/reports", `(function(){
			if (!/Смирнова/.test(document.querySelector("main").innerText)) return "no manager";
			const shown = Array.from(document.querySelectorAll("main svg.chart")).filter(s => s.getBoundingClientRect().width > 0);
			if (shown.length < 4) return shown.length + " charts shown";
			const small = shown.map(s => s.querySelector("text").getBoundingClientRect().height).filter(h => h < 10);
			return small.length ? "chart text " + small.join(", ") + " px high" : "";
		})()`},
		{"duplicates", "/duplicates", `/Петров/.test(document.querySelector("main").innerText) ? "" : "the two Петровs are not listed"`},
		{"search", "/search?q=" + "2223344", `/Петров/.test(document.querySelector("main").innerText) ? "" : "the phone tail finds nothing"`},
		{"notifications", "/notifications", `document.querySelector("main") ? "" : "no page"`},
		{"distribution", "/admin/distribution", `/Заявки с сайта/.test(document.querySelector("main").innerText) ? "" : "the rule is not listed"`},
		{"calendar-week", "/calendar?view=week&user=0&date=" + monday, `/Встреча с клиентом/.test(document.querySelector("main").innerText) ? "" : "the meeting is not in the week"`},
	}
	for _, size := range []struct {
		w, h   int64
		suffix string
	}{{390, 844, "-phone"}, {1366, 768, ""}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			bs := newBrowserSession(t, e)
			bs.run("viewport", chromedp.EmulateViewport(size.w, size.h))
			for _, s := range screens {
				bs.run(s.name, chromedp.Navigate(e.srv.URL+s.path), chromedp.WaitReady(chromedp.CSS(`main`)))
				if miss := bs.eval(`(function(){ return ` + s.check + ` })()`); miss != "" {
					t.Errorf("%s at %d px: %s", s.path, size.w, miss)
				}
				bs.run(s.name+" shot", shot(bs.dir, s.name+size.suffix))
			}
		})
	}
}

// seedTeam makes a small sales team's month: two managers, leads from
// several sources and campaigns, deals across the stages, a duplicate
// pair, a distribution rule and a week of activities.
func seedTeam(t *testing.T, e *env) {
	t.Helper()
	ctx, s, a := t.Context(), e.app.Store, e.admin
	var managers []int64
	for i, n := range [][2]string{{"Анна", "Смирнова"}, {"Олег", "Кузнецов"}} {
		u, err := s.CreateUser(ctx, a, crm.User{Login: fmt.Sprintf("team%d", i+1), FirstName: n[0], LastName: n[1], Role: crm.RoleManager, Active: true}, "team-password-"+n[1])
		if err != nil {
			t.Fatal(err)
		}
		managers = append(managers, u.ID)
	}
	sources := []string{"WEB", "CALL", "EMAIL", "WEBFORM"}
	campaigns := []string{"spring", "brand", "retarget"}
	statuses := []string{"NEW", "IN_PROCESS", "PROCESSED", "JUNK"}
	for i := range 24 {
		l := crm.Lead{Title: fmt.Sprintf("Заявка %d", i+1), Name: "Клиент", LastName: fmt.Sprintf("№%d", i+1),
			SourceID: sources[i%len(sources)], StatusID: statuses[i%len(statuses)],
			UTM:  crm.UTM{UTMSource: "yandex", UTMMedium: "cpc", UTMCampaign: campaigns[i%len(campaigns)]},
			Meta: crm.Meta{AssignedByID: managers[i%2]}}
		if _, err := s.CreateLead(ctx, a, l); err != nil {
			t.Fatal(err)
		}
	}
	stages := []string{"NEW", "PREPARATION", "EXECUTING", "WON", "WON", "LOSE"}
	for i := range 12 {
		d := crm.Deal{Title: fmt.Sprintf("Поставка %d", i+1), StageID: stages[i%len(stages)], Opportunity: crm.Amount(int64(15_000+i*7_500) * 100),
			Meta: crm.Meta{AssignedByID: managers[i%2]}}
		if _, err := s.CreateDeal(ctx, a, d); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []crm.Contact{
		{Name: "Пётр", LastName: "Петров", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 912 222-33-44"}}}},
		{Name: "Петр", LastName: "Петров", Comms: crm.Comms{Phones: []crm.Comm{{Value: "8 (912) 222-33-44"}}}},
	} {
		if _, err := s.CreateContact(ctx, a, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SaveDistributionRule(ctx, a, crm.DistributionRule{Name: "Заявки с сайта", Active: true, UserIDs: managers}); err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for i, subj := range []string{"Встреча с клиентом", "Позвонить по счёту", "Отправить КП"} {
		at := today.Add(time.Duration(9+2*i) * time.Hour)
		end := at.Add(time.Hour)
		kind := []string{"meeting", "call", "task"}[i]
		if _, err := s.CreateActivity(ctx, a, crm.Activity{Kind: kind, Subject: subj, StartAt: &at, EndAt: &end}); err != nil {
			t.Fatal(err)
		}
	}
}
