package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestListNewestFirstRemembered: a list shows the newest records first
// with the total; the user's sort and filters come back when the list is
// opened again, until "reset"; saved filters are offered and kept per
// user.
func TestListNewestFirstRemembered(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		for _, n := range []string{"Первая заявка", "Вторая заявка", "Третья заявка"} {
			if _, err := e.app.Store.CreateLead(context.Background(), e.admin, crm.Lead{Title: n}); err != nil {
				t.Fatal(err)
			}
		}
		b := e.browser()
		b.signIn()
		p := b.get("/e/lead")
		if !inOrder(p.Body, "Третья заявка", "Вторая заявка", "Первая заявка") || !strings.Contains(p.Body, `id="total">всего: 3<`) {
			t.Fatalf("default list: not newest first or no total")
		}
		if !strings.Contains(p.Body, ">Мои новые лиды</a>") {
			t.Error("the preset filter is not offered")
		}
		if p := b.get("/e/lead?sort=title&f.status_id=NEW&limit=20"); !inOrder(p.Body, "Вторая заявка", "Первая заявка", "Третья заявка") {
			t.Fatal("sort by title")
		}
		p = b.get("/e/lead")
		if p.Status != http.StatusSeeOther || p.Location != "/e/lead?f.status_id=NEW&limit=20&sort=title" {
			t.Fatalf("the list opened again: %d %q", p.Status, p.Location)
		}
		if p := b.get("/e/lead?reset=1"); p.Status != http.StatusOK || !inOrder(p.Body, "Третья заявка", "Вторая заявка") {
			t.Fatalf("reset: %d", p.Status)
		}
		if p := b.get("/e/lead"); p.Status != http.StatusOK {
			t.Fatalf("after reset the list still redirects: %d %q", p.Status, p.Location)
		}
		if p := b.post("/e/lead/filters", url.Values{"name": {"По названию"}, "query": {"sort=title&cursor=x"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("save filter: %d", p.Status)
		}
		if p := b.get("/e/lead?q=заявка"); !strings.Contains(p.Body, `<a href="/e/lead?sort=title">По названию</a>`) {
			t.Error("the saved filter is not offered")
		}
		if p := b.post("/e/lead/filters", url.Values{"name": {"По названию"}, "action": {"delete"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("delete filter: %d", p.Status)
		}
		if p := b.get("/e/lead?q=заявка"); strings.Contains(p.Body, `По названию</a>`) {
			t.Error("the deleted filter is still offered")
		}
	})
}

// TestTimeZones: times are shown and typed in the user's zone, else the
// installation's (the configuration's, then the admin's setting), and
// stored in UTC.
func TestTimeZones(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnvWith(t, d, func(c *config.Config) { c.TimeZone = "Europe/Moscow" })
		ctx := context.Background()
		at := time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)
		a, err := e.app.Store.CreateActivity(ctx, e.admin, crm.Activity{Kind: "call", Subject: "Созвон", StartAt: &at})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		path := "/e/activity/" + itoa(a.ID)
		if p := b.get(path + "?edit=all"); !strings.Contains(p.Body, `value="2026-12-05T10:00"`) {
			t.Fatal("Moscow: the start is not 10:00")
		}
		if p := b.post("/settings", url.Values{"time_zone": {"Asia/Yekaterinburg"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("my zone: %d", p.Status)
		}
		if p := b.get(path + "?edit=all"); !strings.Contains(p.Body, `value="2026-12-05T12:00"`) {
			t.Fatal("Yekaterinburg: the start is not 12:00")
		}
		if p := b.get("/calendar?view=day&date=2026-12-05"); !strings.Contains(p.Body, "12:00 Созвон") {
			t.Error("the calendar is not in the user's zone")
		}
		// Typed in Yekaterinburg (UTC+5), stored in UTC.
		if p := b.post(path+"/field/start_at", url.Values{"start_at": {"2026-12-06T09:30"}, "version": {""}}); p.Status >= 400 {
			t.Fatalf("save start: %d %s", p.Status, errorsOf(p.Body))
		}
		got, _ := e.app.Store.GetActivity(ctx, a.ID)
		if got.StartAt == nil || !got.StartAt.Equal(time.Date(2026, 12, 6, 4, 30, 0, 0, time.UTC)) {
			t.Fatalf("stored start: %v", got.StartAt)
		}
		// Back to the installation's zone, which the admin moves to Samara.
		if p := b.post("/settings", url.Values{"time_zone": {""}}); p.Status != http.StatusSeeOther {
			t.Fatalf("reset zone: %d", p.Status)
		}
		if p := b.post("/settings", url.Values{"scope": {"installation"}, "time_zone": {"Europe/Samara"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("installation zone: %d", p.Status)
		}
		if p := b.get(path + "?edit=all"); !strings.Contains(p.Body, `value="2026-12-06T08:30"`) {
			t.Fatal("Samara: the start is not 08:30")
		}
		if p := b.post("/settings", url.Values{"time_zone": {"Mars/Olympus"}}); p.Status != http.StatusUnprocessableEntity {
			t.Errorf("an unknown zone: %d", p.Status)
		}
		_ = store.ErrNotFound
	})
}

// order reports whether the texts appear in body in this order.

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// inOrder reports whether the texts appear in body in this order.
func inOrder(body string, texts ...string) bool {
	last := -1
	for _, s := range texts {
		i := strings.Index(body, s)
		if i < 0 || i < last {
			return false
		}
		last = i
	}
	return true
}

// TestEmptyStatesSayWhatNext: an empty list says how to fill it, a
// filtered one how to widen it, and a manager who sees nothing is told
// that they see only their own records and whom to ask; the home page's
// empty sections say what comes there.
func TestEmptyStatesSayWhatNext(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.signIn()
		if p := b.get("/e/deal?reset=1"); !strings.Contains(p.Body, "Создайте первую кнопкой «Создать»") || strings.Contains(p.Body, `id="scope-hint"`) {
			t.Error("admin's empty list")
		}
		if p := b.get("/e/deal?q=нет-такого"); !strings.Contains(p.Body, "По этому поиску и фильтрам ничего не найдено") {
			t.Error("filtered empty list")
		}
		if p := b.get("/"); !strings.Contains(p.Body, "Новых лидов нет. Они появятся здесь из веб-форм") {
			t.Error("home's empty new leads")
		}
		if _, err := e.app.Store.CreateDeal(context.Background(), e.admin, crm.Deal{Title: "Сделка администратора"}); err != nil {
			t.Fatal(err)
		}
		if p := b.post("/admin/users", url.Values{"login": {"olga"}, "first_name": {"Ольга"}, "role": {"manager"}, "password": {"olga-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("create user: %d", p.Status)
		}
		m := e.browser()
		if p := m.login(url.Values{"login": {"olga"}, "password": {"olga-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("olga signs in: %d", p.Status)
		}
		p := m.get("/e/deal")
		if strings.Contains(p.Body, "Сделка администратора") || !strings.Contains(p.Body, `id="scope-hint"`) || !strings.Contains(p.Body, "попросите администратора открыть вам доступ") {
			t.Error("the manager who sees nothing is not told why")
		}
	})
}

// TestRowsReplacingAmountSaySo: a deal whose amount was typed by hand is
// told, as rows are typed, that saving them replaces the amount.
func TestRowsReplacingAmountSaySo(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		d, err := e.app.Store.CreateDeal(context.Background(), e.admin, crm.Deal{Title: "Вывеска", Opportunity: 4500000})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		path := "/e/deal/" + itoa(d.ID)
		if p := b.get(path); !strings.Contains(p.Body, `name="current_amount" value="45000.00"`) || strings.Contains(p.Body, `id="items-replaces"`) {
			t.Fatal("the card before rows")
		}
		p := b.post(path+"/items/preview", url.Values{"current_amount": {"45000.00"}, "item_name": {"Баннер"}, "item_price": {"1500,50"}, "item_quantity": {"2"},
			"item_unit": {""}, "item_discount_rate": {""}, "item_vat_rate": {""}, "item_vat_included": {"false"}, "item_product_id": {""}, "item_service_id": {""}})
		if !strings.Contains(p.Body, "Сумма записи 45\u00a0000,00 будет заменена итогом строк 3\u00a0001,00 при сохранении.") {
			t.Fatalf("no notice: %s", p.Body)
		}
	})
}
