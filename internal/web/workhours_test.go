package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

// TestWorkHoursAndDutyRule: an administrator sets a manager's working
// hours on the users page (shown back ticked, in Russian), a wrong time is
// refused naming the field, and a distribution rule is created with
// "only during working hours".
func TestWorkHoursAndDutyRule(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		b := e.browser()
		b.signIn()
		anna, err := e.app.Store.CreateUser(ctx, e.admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1")
		if err != nil {
			t.Fatal(err)
		}
		path := "/admin/users/" + strconv.FormatInt(anna.ID, 10) + "/hours"
		if p := b.post(path, url.Values{"work_days": {"0", "1", "2", "3", "4"}, "work_from": {"09:00"}, "work_to": {"18:30"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("hours: %d %s", p.Status, errorsOf(p.Body))
		}
		got, _ := e.app.Store.GetUser(ctx, anna.ID)
		if want := (crm.WorkHours{Days: 31, From: 540, To: 1110}); got.WorkHours != want {
			t.Fatalf("hours stored %+v, want %+v", got.WorkHours, want)
		}
		p := b.get("/admin/users")
		if !strings.Contains(p.Body, "Рабочие часы") || !strings.Contains(p.Body, `value="18:30"`) || !strings.Contains(p.Body, `name="work_days" value="4" checked`) ||
			strings.Contains(p.Body, `name="work_days" value="5" checked`) {
			t.Fatalf("users page does not show the hours: %s", p.Body)
		}
		if p := b.post(path, url.Values{"work_from": {"25:00"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Начало рабочего дня") {
			t.Fatalf("bad time: %d %s", p.Status, errorsOf(p.Body))
		}
		if p := b.post("/admin/distribution", url.Values{"name": {"Смены"}, "sort": {"10"}, "active": {"on"}, "user_ids": {strconv.FormatInt(anna.ID, 10)},
			"working_hours_only": {"on"}, "tz": {"Europe/Moscow"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("rule: %d %s", p.Status, errorsOf(p.Body))
		}
		rs, _ := e.app.Store.ListDistributionRules(ctx)
		if len(rs) != 1 || !rs[0].WorkingHoursOnly {
			t.Fatalf("rule: %+v", rs)
		}
		if p := b.get("/admin/distribution"); !strings.Contains(p.Body, "только рабочее время менеджеров") || !strings.Contains(p.Body, "Только в рабочее время менеджеров") {
			t.Fatal("distribution page does not say the rule keeps to working hours")
		}
	})
}
