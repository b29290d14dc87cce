package site_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/commerceml/site"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/notify"
)

// A site whose runs keep failing rings the bell of its responsible user
// and of the administrators when the failures reach alert_after: once per
// failing streak, however many runs fail and scans look; the first
// success after it tells them it works again, once. A failure below
// alert_after tells nobody. Runs go against the second Obmen for real;
// the password is what breaks and mends them.
func TestFailingSiteRingsTheBell(t *testing.T) {
	pair(t, func(t *testing.T, one, shop *instance) {
		m, err := one.app.Store.CreateUser(one.ctx, one.admin, crm.User{Login: "manager", Role: crm.RoleManager, Active: true}, "manager-password")
		if err != nil {
			t.Fatal(err)
		}
		good := site.Settings{Name: "Магазин", URL: shop.srv.URL + "/1c_exchange.php", Login: "admin", Password: shop.key, AlertAfter: 2,
			ResponsibleUserID: m.ID}
		bad := good
		bad.Password = "wrong"
		var s site.Settings
		if code := one.api("POST", "/api/v1/site-exchanges", bad, &s); code != 201 {
			t.Fatalf("create: %d", code)
		}
		path := fmt.Sprintf("/api/v1/site-exchanges/%d", s.ID)
		run := func(kind, want string) {
			t.Helper()
			var res site.RunResult
			if code := one.api("POST", path+"/run?kind="+kind, nil, &res); code != 200 || res.Status != want {
				t.Fatalf("run %s: %d %+v, want %s", kind, code, res, want)
			}
		}
		// bell lists the site notifications of a user after a scan, as
		// "kind title".
		bell := func(user int64) []string {
			t.Helper()
			if _, err := one.app.Notify.Scan(one.ctx); err != nil {
				t.Fatal(err)
			}
			list, err := one.app.Notify.List(one.ctx, user, 100)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for i := len(list) - 1; i >= 0; i-- { // oldest first
				n := list[i]
				if n.Kind != notify.KindSiteFailing && n.Kind != notify.KindSiteRecovered {
					continue
				}
				if n.Link() != fmt.Sprintf("/admin/sites/%d", s.ID) {
					t.Errorf("link %s", n.Link())
				}
				if n.Kind == notify.KindSiteFailing && !strings.Contains(n.Body, "Неудачных запусков подряд: 2") {
					t.Errorf("the alert's body: %q", n.Body)
				}
				out = append(out, n.Kind+" "+n.Title)
			}
			return out
		}
		expect := func(want ...string) {
			t.Helper()
			for _, u := range []int64{one.admin.UserID, m.ID} {
				if got := bell(u); strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("user %d's bell:\n%s\nwant:\n%s", u, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
		}
		failing := "site_failing Обмен с сайтом «Магазин» не работает: обмен заказами"
		recovered := "site_recovered Обмен с сайтом «Магазин» снова работает: обмен заказами"

		run("orders", "failure")
		expect() // one failure of two
		run("orders", "failure")
		expect(failing)
		run("orders", "failure") // the same streak
		expect(failing)
		// The catalog has its own count: one failure rings nothing.
		run("catalog", "failure")
		expect(failing)

		if code := one.api("PUT", path, good, nil); code != 200 {
			t.Fatalf("mend: %d", code)
		}
		run("orders", "success")
		expect(failing, recovered)
		run("orders", "success")
		expect(failing, recovered)

		// A second streak: alerted again, recovered again.
		if code := one.api("PUT", path, bad, nil); code != 200 {
			t.Fatalf("break: %d", code)
		}
		run("orders", "failure")
		run("orders", "failure")
		expect(failing, recovered, failing)
		if code := one.api("PUT", path, good, nil); code != 200 {
			t.Fatalf("mend: %d", code)
		}
		run("orders", "success")
		expect(failing, recovered, failing, recovered)
	})
}
