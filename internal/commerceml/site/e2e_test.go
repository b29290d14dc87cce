package site_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/app"
	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/commerceml/site"
	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store/storetest"
)

// instance is a running Obmen (the real app wiring) over loopback HTTP.
type instance struct {
	t     testing.TB
	d     *db.DB
	app   *app.Server
	srv   *httptest.Server
	key   string
	admin crm.Actor
	ctx   context.Context
}

func start(t testing.TB, d *db.DB) *instance {
	t.Helper()
	cfg := config.Default()
	cfg.AdminPassword = "admin-password"
	cfg.DataDir = t.TempDir()
	cfg.OutboundAllow = []string{"127.0.0.0/8"}
	ctx := context.Background()
	a, err := app.NewServer(d, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.EnsureAdmin(ctx, a.Store, cfg, io.Discard); err != nil {
		t.Fatal(err)
	}
	a.CommerceML.SetAuthLimiter(httpx.NewLimiter(time.Millisecond, 1000))
	in := &instance{t: t, d: d, app: a, srv: httptest.NewServer(a.Handler), ctx: ctx}
	t.Cleanup(func() { in.srv.Close(); a.CommerceML.Close() })
	u, err := a.Store.UserByLogin(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	in.admin = crm.Actor{UserID: u.ID}
	if _, in.key, err = a.Store.CreateAPIKey(ctx, in.admin, u.ID, "test"); err != nil {
		t.Fatal(err)
	}
	return in
}

func (in *instance) api(method, path string, body any, out any) int {
	in.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, in.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+in.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			in.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
	}
	return res.StatusCode
}

// pair is Obmen playing 1C (one) and a second Obmen playing the site.
func pair(t *testing.T, fn func(t *testing.T, one, shop *instance)) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			one, shop := start(t, e.Open(t)), start(t, e.Open(t))
			set := exchange.DefaultSettings()
			set.Enabled, set.StepMillis, set.Zip, set.FileLimit = true, 50, true, 4096
			if code := shop.api("PUT", "/api/v1/exchanges/settings", set, nil); code != 200 {
				t.Fatalf("site's exchange settings: %d", code)
			}
			fn(t, one, shop)
		})
	}
}

// enable1C turns on the instance's exchange with 1C (steps of 50 ms).
func (in *instance) enable1C() {
	in.t.Helper()
	set := exchange.DefaultSettings()
	set.Enabled, set.StepMillis = true, 50
	if code := in.api("PUT", "/api/v1/exchanges/settings", set, nil); code != 200 {
		in.t.Fatalf("exchange settings: %d", code)
	}
}

// runOK runs a site's exchange of kind through the API and wants it to
// succeed.
func (in *instance) runOK(siteID int64, kind string) site.RunResult {
	in.t.Helper()
	var res site.RunResult
	if code := in.api("POST", fmt.Sprintf("/api/v1/site-exchanges/%d/run?kind=%s", siteID, kind), nil, &res); code != 200 || res.Status != "success" {
		in.t.Fatalf("run %s: %d %+v", kind, code, res)
	}
	return res
}

func (in *instance) exec(q string, args ...any) int64 {
	in.t.Helper()
	var id int64
	err := in.d.Write(in.ctx, func(ctx context.Context, tx *sql.Tx) error {
		if strings.Contains(q, "RETURNING") {
			return tx.QueryRowContext(ctx, q, args...).Scan(&id)
		}
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	})
	if err != nil {
		in.t.Fatalf("%s: %v", q, err)
	}
	return id
}

// offerRows lists what a database holds of the catalog, one line per
// product or variant and price type, comparable across instances.
func offerRows(t testing.TB, in *instance) []string {
	rows, err := in.d.Read.QueryContext(in.ctx, `SELECT p.name, p.article, COALESCE(v.name, ''), COALESCE(v.characteristics, ''), COALESCE(v.stock, p.stock), pp.price_type, pp.price
		FROM products p LEFT JOIN product_variants v ON v.product_id = p.id
		LEFT JOIN product_prices pp ON pp.product_id = p.id AND pp.variant_id = COALESCE(v.id, 0)
		WHERE p.deleted_at = 0`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name, article, vname, chars string
		var stock int64
		var ptype sql.NullString
		var price sql.NullInt64
		if err := rows.Scan(&name, &article, &vname, &chars, &stock, &ptype, &price); err != nil {
			t.Fatal(err)
		}
		// The importer writes the characteristics' keys capitalized, the
		// CRM lower case; both read the same.
		chars = strings.NewReplacer(`"Name"`, `"name"`, `"Value"`, `"value"`).Replace(chars)
		out = append(out, fmt.Sprintf("%s|%s|%s|%s|%d|%s|%d", name, article, vname, chars, stock, ptype.String, price.Int64))
	}
	sort.Strings(out)
	return out
}

// The catalog with variants and two price types goes to a second Obmen
// playing the site, zipped and in chunks of its file_limit, and arrives
// complete; the run is journaled with direction "site".
func TestCatalogToSite(t *testing.T) {
	pair(t, func(t *testing.T, one, shop *instance) {
		s := one.app.Store
		shoes, err := s.CreateCatalog(one.ctx, one.admin, crm.Catalog{Name: "Обувь"})
		if err != nil {
			t.Fatal(err)
		}
		run, err := s.CreateCatalog(one.ctx, one.admin, crm.Catalog{Name: "Беговая", ParentID: shoes.ID})
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.CreateCatalog(one.ctx, one.admin, crm.Catalog{Name: "Прочее"})
		if err != nil {
			t.Fatal(err)
		}
		var products []crm.Product
		for i := range 30 {
			cat := run.ID
			if i == 29 {
				cat = other.ID
			}
			p, err := s.CreateProduct(one.ctx, one.admin, crm.Product{Name: fmt.Sprintf("Кроссовки «Бег» №%d", i), Article: fmt.Sprintf("RUN-%02d", i), Unit: "шт",
				Price: crm.Amount(100000 + i*100), Stock: crm.Quantity(5000 + i), Active: true, Description: "Лёгкие & удобные <для бега>", CatalogIDs: []int64{cat}})
			if err != nil {
				t.Fatal(err)
			}
			products = append(products, p)
			one.exec("INSERT INTO product_prices (product_id, variant_id, price_type, type_id1c, price, currency) VALUES ($1, 0, 'Розничная', 'pt-retail', $2, 'RUB')", p.ID, 100000+i*100)
			one.exec("INSERT INTO product_prices (product_id, variant_id, price_type, type_id1c, price, currency) VALUES ($1, 0, 'Оптовая', 'pt-whole', $2, 'RUB')", p.ID, 80000+i*100)
		}
		// The first product has two variants, each with both prices.
		p0 := products[0]
		for j, size := range []string{"42", "44"} {
			v := one.exec(`INSERT INTO product_variants (product_id, id1c, name, article, characteristics, price, currency, stock)
				VALUES ($1, $2, $3, $4, $5, $6, 'RUB', $7) RETURNING id`, p0.ID, fmt.Sprintf("own-%d#size-%s", p0.ID, size), p0.Name+" ("+size+")", "RUN-00-"+size,
				`[{"name":"Размер","value":"`+size+`"}]`, 110000+j*1000, 2000+j*1000)
			one.exec("INSERT INTO product_prices (product_id, variant_id, price_type, type_id1c, price, currency) VALUES ($1, $2, 'Розничная', 'pt-retail', $3, 'RUB')", p0.ID, v, 110000+j*1000)
			one.exec("INSERT INTO product_prices (product_id, variant_id, price_type, type_id1c, price, currency) VALUES ($1, $2, 'Оптовая', 'pt-whole', $3, 'RUB')", p0.ID, v, 90000+j*1000)
		}

		var created site.Settings
		code := one.api("POST", "/api/v1/site-exchanges", site.Settings{Name: "Магазин", URL: shop.srv.URL + "/1c_exchange.php", Login: "admin", Password: shop.key,
			Catalogs: []int64{shoes.ID}, PriceType: "Розничная", ExtraPriceTypes: []string{"Оптовая"}, Enabled: true}, &created)
		if code != 201 || created.ID == 0 || !created.PasswordSet || created.Password != "" {
			t.Fatalf("create: %d %+v", code, created)
		}
		var check site.CheckResult
		if code := one.api("POST", fmt.Sprintf("/api/v1/site-exchanges/%d/check", created.ID), nil, &check); code != 200 || !check.OK || !check.Zip || check.FileLimit != 4096 {
			t.Fatalf("check: %d %+v", code, check)
		}
		res := one.runOK(created.ID, "catalog")
		if res.Counts["product"] == nil || res.Counts["variant"] == nil {
			t.Fatalf("counts: %+v", res.Counts)
		}
		if res.Counts["product"].Sent != 29 || res.Counts["variant"].Sent != 2 {
			t.Errorf("counts: product %+v variant %+v", res.Counts["product"], res.Counts["variant"])
		}
		e, err := one.app.CommerceML.GetEntry(one.ctx, res.EntryID)
		if err != nil || e.Direction != site.DirSite || e.Status != "success" || e.Counts == nil {
			t.Errorf("journal: %+v %v", e, err)
		}
		// What went to the site can be downloaded from the journal.
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/exchanges/%d/file", one.srv.URL, res.EntryID), nil)
		req.Header.Set("Authorization", "Bearer "+one.key)
		if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/zip" {
			t.Errorf("the run's file: %v %v", r, err)
		} else {
			r.Body.Close()
		}

		// The site holds what was exported: the chosen catalog's 29
		// products (not the one in "Прочее"), both variants, both prices.
		got := offerRows(t, shop)
		var want []string
		for _, r := range offerRows(t, one) {
			if !strings.Contains(r, "№29|") {
				want = append(want, r)
			}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("site's catalog:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		var groups int
		if err := shop.d.Read.QueryRowContext(shop.ctx, "SELECT COUNT(*) FROM catalogs WHERE name IN ('Обувь', 'Беговая') AND deleted_at = 0").Scan(&groups); err != nil || groups != 2 {
			t.Errorf("site's groups: %d %v", groups, err)
		}

		// "Only changed": the next run sends the one product renamed
		// since, and the site keeps the others.
		created.OnlyChanged, created.Password = true, ""
		if code := one.api("PUT", fmt.Sprintf("/api/v1/site-exchanges/%d", created.ID), created, &created); code != 200 {
			t.Fatalf("update: %d", code)
		}
		if _, err := s.UpdateProduct(one.ctx, one.admin, products[3].ID, func(p *crm.Product) error { p.Name = "Кроссовки «Бег» №3 (новые)"; return nil }); err != nil {
			t.Fatal(err)
		}
		res = site.RunResult{}
		if code := one.api("POST", fmt.Sprintf("/api/v1/site-exchanges/%d/run?kind=catalog", created.ID), nil, &res); code != 200 || res.Status != "success" {
			t.Fatalf("second run: %d %+v", code, res)
		}
		if c := res.Counts["product"]; c == nil || c.Sent != 1 {
			t.Errorf("only changed sent %+v, want 1 product", c)
		}
		var n int
		if err := shop.d.Read.QueryRowContext(shop.ctx, "SELECT COUNT(*) FROM products WHERE deleted_at = 0 AND active").Scan(&n); err != nil || n != 29 {
			t.Errorf("site's active products after a changes-only run: %d %v, want 29", n, err)
		}
		if err := shop.d.Read.QueryRowContext(shop.ctx, "SELECT COUNT(*) FROM products WHERE name = 'Кроссовки «Бег» №3 (новые)'").Scan(&n); err != nil || n != 1 {
			t.Errorf("the renamed product on the site: %d %v", n, err)
		}
	})
}
