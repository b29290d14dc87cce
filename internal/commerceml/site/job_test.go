package site_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/commerceml/site"
	"github.com/obmen/obmen/internal/httpx"
)

// The schedule is kept in the database: two instances looking at it at
// once run a due exchange once; it is not due again until its period has
// passed; a disabled site is not run; failures count up to the alert.
func TestScheduleRunsOnceAcrossInstances(t *testing.T) {
	pair(t, func(t *testing.T, one, shop *instance) {
		var good, bad, off site.Settings
		for _, c := range []struct {
			s   site.Settings
			out *site.Settings
		}{
			{site.Settings{Name: "good", URL: shop.srv.URL + "/1c_exchange.php", Login: "admin", Password: shop.key, CatalogEvery: 15, OrdersEvery: 5, Enabled: true}, &good},
			{site.Settings{Name: "bad", URL: shop.srv.URL + "/1c_exchange.php", Login: "admin", Password: "wrong", OrdersEvery: 5, Enabled: true, AlertAfter: 2}, &bad},
			{site.Settings{Name: "off", URL: shop.srv.URL + "/1c_exchange.php", Login: "admin", Password: shop.key, CatalogEvery: 15, Enabled: false}, &off},
		} {
			if code := one.api("POST", "/api/v1/site-exchanges", c.s, c.out); code != 201 {
				t.Fatalf("create %s: %d", c.s.Name, code)
			}
		}
		past := time.Now().Add(-time.Minute).UnixMicro()
		one.exec("UPDATE site_exchanges SET catalog_due_at = $1, orders_due_at = $1 WHERE id IN ($2, $3)", past, good.ID, bad.ID)
		one.exec("UPDATE site_exchanges SET catalog_due_at = $1 WHERE id = $2", past, off.ID)

		// A run killed mid-upload left its entry running and its lease
		// (run out by now): the next run closes it as interrupted.
		killed := one.exec(`INSERT INTO cml_exchanges (session_id, type, direction, filename, status, started_at, site_id)
			VALUES ('site-x', 'catalog', 'site', 'catalog.zip', 'running', $1, $2) RETURNING id`, past, good.ID)
		one.exec("UPDATE site_exchanges SET catalog_lease = $1 WHERE id = $2", past, good.ID)

		// A second instance over the same database.
		other := site.New(one.app.Store, one.app.Sites.Store, httpx.NewOutboundClient(httpx.OutboundPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}), t.TempDir(),
			slog.New(slog.NewTextHandler(io.Discard, nil)))
		var wg sync.WaitGroup
		ran := make([]int, 2)
		for i, svc := range []*site.Service{one.app.Sites, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := svc.RunDue(context.Background())
				if err != nil {
					t.Error(err)
				}
				ran[i] = n
			}()
		}
		wg.Wait()
		if ran[0]+ran[1] != 3 {
			t.Errorf("runs %v, want 3 in all (good: catalog and orders; bad: orders)", ran)
		}
		count := func(siteID int64, typ string) int {
			var n int
			if err := one.d.Read.QueryRowContext(one.ctx, "SELECT COUNT(*) FROM cml_exchanges WHERE direction = 'site' AND site_id = $1 AND type = $2", siteID, typ).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if c, o, b, f := count(good.ID, "catalog"), count(good.ID, "sale"), count(bad.ID, "sale"), count(off.ID, "catalog"); c != 2 || o != 1 || b != 1 || f != 0 {
			t.Errorf("journal: good catalog %d (the killed one too) orders %d, bad orders %d, off %d; want 2 1 1 0", c, o, b, f)
		}
		if e, err := one.app.CommerceML.GetEntry(one.ctx, killed); err != nil || e.Status != "failure" || !strings.Contains(e.Error, "interrupted") {
			t.Errorf("the killed run's entry: %+v %v", e, err)
		}
		var catalogDue int64
		if err := one.d.Read.QueryRowContext(one.ctx, "SELECT catalog_due_at FROM site_exchanges WHERE id = $1", good.ID).Scan(&catalogDue); err != nil {
			t.Fatal(err)
		}
		if d := time.Until(time.UnixMicro(catalogDue)); d < 14*time.Minute || d > 16*time.Minute {
			t.Errorf("next catalog run in %v, want about 15 minutes", d)
		}
		// Not due again yet.
		if n, err := other.RunDue(context.Background()); err != nil || n != 0 {
			t.Errorf("again: %d %v", n, err)
		}
		// The bad one fails again at its next period and raises the alert.
		one.exec("UPDATE site_exchanges SET orders_due_at = $1 WHERE id = $2", past, bad.ID)
		if _, err := one.app.Sites.RunDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		var got site.Settings
		if code := one.api("GET", fmt.Sprintf("/api/v1/site-exchanges/%d", bad.ID), nil, &got); code != 200 || got.OrdersFailures != 2 || !got.Failing {
			t.Errorf("bad after two failures: %d failures %d failing %v", code, got.OrdersFailures, got.Failing)
		}
		var last string
		if err := one.d.Read.QueryRowContext(one.ctx, "SELECT error FROM cml_exchanges WHERE site_id = $1 ORDER BY id DESC LIMIT 1", bad.ID).Scan(&last); err != nil || last == "" {
			t.Errorf("the failed run's error: %q %v", last, err)
		}
	})
}

// The tick is a River periodic job of the real server: started with the
// job queue, it runs a site's exchange whose time has come.
func TestTickRunsWithTheJobQueue(t *testing.T) {
	pair(t, func(t *testing.T, one, shop *instance) {
		var s site.Settings
		if code := one.api("POST", "/api/v1/site-exchanges", site.Settings{URL: shop.srv.URL + "/1c_exchange.php", Login: "admin", Password: shop.key,
			OrdersEvery: 5, Enabled: true}, &s); code != 201 {
			t.Fatalf("create: %d", code)
		}
		one.exec("UPDATE site_exchanges SET orders_due_at = $1 WHERE id = $2", time.Now().Add(-time.Second).UnixMicro(), s.ID)
		stop, err := one.app.StartJobs(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		deadline := time.Now().Add(60 * time.Second)
		for {
			var st string
			err := one.d.Read.QueryRowContext(one.ctx, "SELECT status FROM cml_exchanges WHERE site_id = $1 AND type = 'sale' ORDER BY id DESC LIMIT 1", s.ID).Scan(&st)
			if err == nil && st == "success" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no scheduled run within a minute: %q %v", st, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
