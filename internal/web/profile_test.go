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

// TestProfile: an administrator fills a manager's profile (user info
// fields), a wrong birthday is refused naming the field, and the manager
// edits his own contact details but not what the company says of him;
// the action journal page lists calls.
func TestProfile(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		adm := e.browser()
		adm.signIn()
		anna, err := e.app.Store.CreateUser(ctx, e.admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1")
		if err != nil {
			t.Fatal(err)
		}
		path := "/admin/users/" + strconv.FormatInt(anna.ID, 10) + "/profile"
		form := url.Values{"gender": {"F"}, "birthday": {"1990-03-08"}, "company": {"ООО Обмен"}, "user_type": {"extranet"},
			"city": {"Тула"}, "telegram": {"@anna"}}
		if p := adm.post(path, form); p.Status != http.StatusSeeOther {
			t.Fatalf("admin saves: %d %s", p.Status, errorsOf(p.Body))
		}
		got, _ := e.app.Store.GetUserProfile(ctx, anna.ID)
		if got.Gender != "F" || got.Birthday != "1990-03-08" || got.Company != "ООО Обмен" || got.UserType != "extranet" || got.City != "Тула" || got.Telegram != "@anna" {
			t.Fatalf("profile %+v", got)
		}
		if p := adm.get(path); p.Status != http.StatusOK || !strings.Contains(p.Body, `value="Тула"`) || !strings.Contains(p.Body, "Пользователь экстранета") {
			t.Fatalf("profile page: %d", p.Status)
		}
		if p := adm.post(path, url.Values{"birthday": {"8 марта"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Дата рождения") {
			t.Fatalf("bad birthday: %d %s", p.Status, errorsOf(p.Body))
		}

		b := e.browser()
		if p := b.login(url.Values{"login": {"anna"}, "password": {"anna-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("anna signs in: %d", p.Status)
		}
		b.get("/")
		if p := b.post("/account/profile", url.Values{"city": {"Орёл"}, "company": {"Своя фирма"}, "user_type": {"employee"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("own profile: %d %s", p.Status, errorsOf(p.Body))
		}
		got, _ = e.app.Store.GetUserProfile(ctx, anna.ID)
		if got.City != "Орёл" || got.Company != "ООО Обмен" || got.UserType != "extranet" {
			t.Fatalf("own edit: %+v", got)
		}
		if p := b.get(path); p.Status != http.StatusForbidden {
			t.Fatalf("a manager opens the admin's profile page: %d", p.Status)
		}
		if p := adm.get("/automation/calls"); p.Status != http.StatusOK || !strings.Contains(p.Body, "Журнал действий") {
			t.Fatalf("action journal: %d", p.Status)
		}
	})
}
