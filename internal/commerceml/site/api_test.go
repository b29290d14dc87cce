package site_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/commerceml/site"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The settings API: validation names the field, the password is
// write-only and sealed at rest, an empty one keeps the stored one.
func TestSettingsAPI(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			in := start(t, e.Open(t))
			good := site.Settings{Name: "Магазин", URL: "https://shop.example.ru/bitrix/admin/1c_exchange.php", Login: "1c", Password: "s3cret-пароль",
				StatusMap: map[string]string{"Created": "N", "Delivered": "F"}, CatalogEvery: 15, OrdersEvery: 5, Enabled: true}
			bad := []struct {
				name  string
				mut   func(*site.Settings)
				field string
			}{
				{"no url", func(s *site.Settings) { s.URL = "" }, "url"},
				{"ftp url", func(s *site.Settings) { s.URL = "ftp://shop.ru/1c_exchange.php" }, "url"},
				{"url with query", func(s *site.Settings) { s.URL += "?type=catalog" }, "url"},
				{"url with login", func(s *site.Settings) { s.URL = "https://a:b@shop.ru/1c_exchange.php" }, "url"},
				{"no login", func(s *site.Settings) { s.Login = " " }, "login"},
				{"no password", func(s *site.Settings) { s.Password = "" }, "password"},
				{"negative owner", func(s *site.Settings) { s.OwnerAccountID = -1 }, "owner_account_id"},
				{"no such owner", func(s *site.Settings) { s.OwnerAccountID = 424242 }, "owner_account_id"},
				{"bad version", func(s *site.Settings) { s.Version = "3.1" }, "version"},
				{"bad encoding", func(s *site.Settings) { s.Encoding = "koi8-r" }, "encoding"},
				{"ambiguous status map", func(s *site.Settings) { s.StatusMap = map[string]string{"Created": "N", "Approved": "N"} }, "status_map"},
				{"negative schedule", func(s *site.Settings) { s.CatalogEvery = -1 }, "catalog_every"},
				{"schedule over a week", func(s *site.Settings) { s.OrdersEvery = 20000 }, "orders_every"},
				{"no such catalog", func(s *site.Settings) { s.Catalogs = []int64{999} }, "catalogs[0]"},
				{"no such user", func(s *site.Settings) { s.ResponsibleUserID = 999 }, "responsible_user_id"},
			}
			for _, b := range bad {
				s := good
				s.StatusMap = map[string]string{"Created": "N"}
				b.mut(&s)
				var out map[string]any
				if code := in.api("POST", "/api/v1/site-exchanges", s, &out); code != 422 || !strings.Contains(fmt.Sprint(out), "field:"+b.field+" ") {
					t.Errorf("%s: %d %v, want 422 naming %s", b.name, code, out, b.field)
				}
			}
			var created site.Settings
			if code := in.api("POST", "/api/v1/site-exchanges", good, &created); code != 201 {
				t.Fatalf("create: %d %+v", code, created)
			}
			if created.Password != "" || !created.PasswordSet || created.Version != "2.05" || created.AlertAfter != 3 {
				t.Errorf("created: %+v", created)
			}
			var sealed string
			if err := in.d.Read.QueryRowContext(in.ctx, "SELECT password FROM site_exchanges WHERE id = $1", created.ID).Scan(&sealed); err != nil ||
				sealed == "" || strings.Contains(sealed, "s3cret") {
				t.Errorf("stored password %q %v: want it sealed", sealed, err)
			}
			var dup map[string]any
			if code := in.api("POST", "/api/v1/site-exchanges", good, &dup); code != 422 || !strings.Contains(fmt.Sprint(dup), "field:name ") {
				t.Errorf("same name again: %d %v", code, dup)
			}
			// An update without a password keeps it.
			upd := good
			upd.Password, upd.Name = "", "Магазин 2"
			var got site.Settings
			if code := in.api("PUT", fmt.Sprintf("/api/v1/site-exchanges/%d", created.ID), upd, &got); code != 200 || got.Name != "Магазин 2" || !got.PasswordSet {
				t.Fatalf("update: %d %+v", code, got)
			}
			opened, err := in.app.Sites.Store.Open(in.ctx, created.ID)
			if err != nil || opened.Password != "s3cret-пароль" {
				t.Errorf("open after update: %q %v", opened.Password, err)
			}
			var list site.List
			if code := in.api("GET", "/api/v1/site-exchanges", nil, &list); code != 200 || len(list.Items) != 1 || list.Items[0].Password != "" {
				t.Errorf("list: %d %+v", code, list)
			}
			var res map[string]any
			if code := in.api("POST", fmt.Sprintf("/api/v1/site-exchanges/%d/run?kind=prices", created.ID), nil, &res); code != 400 {
				t.Errorf("run kind=prices: %d %v", code, res)
			}
			if code := in.api("DELETE", fmt.Sprintf("/api/v1/site-exchanges/%d", created.ID), nil, nil); code != 204 {
				t.Errorf("delete: %d", code)
			}
			if code := in.api("GET", fmt.Sprintf("/api/v1/site-exchanges/%d", created.ID), nil, &res); code != 404 {
				t.Errorf("get after delete: %d", code)
			}
		})
	}
}

// A check against an address that answers nothing useful reports the
// error rather than failing the request; the SSRF guard refuses private
// addresses not allowed by the configuration.
func TestCheckReportsError(t *testing.T) {
	in := start(t, storetest.OpenSQLite(t))
	var created site.Settings
	if code := in.api("POST", "/api/v1/site-exchanges", site.Settings{URL: "http://10.1.2.3/1c_exchange.php", Login: "a", Password: "b"}, &created); code != 201 {
		t.Fatalf("create: %d", code)
	}
	var check site.CheckResult
	if code := in.api("POST", fmt.Sprintf("/api/v1/site-exchanges/%d/check", created.ID), nil, &check); code != 200 || check.OK || check.Error == "" {
		t.Errorf("check: %d %+v", code, check)
	}
}
