package site_test

import (
	"fmt"
	"testing"

	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/commerceml/site"
	"github.com/obmen/obmen/internal/crm"
)

// Orders made in the "site" (a second Obmen) come to Obmen with their
// counterparty; a status changed in Obmen goes back through the status
// map; an order made by hand in Obmen stays home.
func TestOrdersWithSite(t *testing.T) {
	pair(t, func(t *testing.T, one, shop *instance) {
		statuses := map[string]string{"Created": "N", "Approved": "P", "Delivered": "F"}
		set := exchange.DefaultSettings()
		set.Enabled, set.StepMillis, set.StatusMap = true, 50, statuses
		if code := shop.api("PUT", "/api/v1/exchanges/settings", set, nil); code != 200 {
			t.Fatalf("site's exchange settings: %d", code)
		}
		ss := shop.app.Store
		acc, err := ss.CreateAccount(shop.ctx, shop.admin, crm.Account{Title: "Ромашка", FullName: "ООО «Ромашка»", INN: "7707083893"})
		if err != nil {
			t.Fatal(err)
		}
		siteOrder, err := ss.CreateSalesOrder(shop.ctx, shop.admin, crm.SalesOrder{AccountID: acc.ID, Status: crm.OrderCreated,
			Items: []crm.LineItem{{Name: "Кроссовки", Price: 550000, Quantity: 2000}}})
		if err != nil {
			t.Fatal(err)
		}
		hand, err := one.app.Store.CreateSalesOrder(one.ctx, one.admin, crm.SalesOrder{Status: crm.OrderApproved, Items: []crm.LineItem{{Name: "Звонок", Price: 100, Quantity: 1000}}})
		if err != nil {
			t.Fatal(err)
		}
		var created site.Settings
		if code := one.api("POST", "/api/v1/site-exchanges", site.Settings{URL: shop.srv.URL + "/1c_exchange.php", Login: "admin", Password: shop.key,
			StatusMap: statuses}, &created); code != 201 {
			t.Fatalf("create: %d", code)
		}
		run := func() site.RunResult {
			t.Helper()
			var res site.RunResult
			if code := one.api("POST", fmt.Sprintf("/api/v1/site-exchanges/%d/run?kind=orders", created.ID), nil, &res); code != 200 || res.Status != "success" {
				t.Fatalf("run: %d %+v", code, res)
			}
			return res
		}
		res := run()
		if c := res.Counts["sales_order"]; c == nil || c.Created != 1 || c.Sent != 0 {
			t.Fatalf("first run: %+v", res.Counts["sales_order"])
		}
		var id int64
		if err := one.d.Read.QueryRowContext(one.ctx, "SELECT id FROM sales_orders WHERE from_site = $1", siteOrder.Number).Scan(&id); err != nil {
			t.Fatalf("the site's order %s did not arrive: %v", siteOrder.Number, err)
		}
		got, err := one.app.Store.GetSalesOrder(one.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != crm.OrderCreated || len(got.Items) != 1 || got.Total != siteOrder.Total || got.AccountID == 0 {
			t.Errorf("arrived: %+v", got)
		}
		if a, err := one.app.Store.GetAccount(one.ctx, got.AccountID); err != nil || a.FullName != "ООО «Ромашка»" {
			t.Errorf("counterparty: %+v %v", a, err)
		}

		// A second run changes nothing and sends nothing.
		if res := run(); res.Counts["sales_order"] != nil && (res.Counts["sales_order"].Sent != 0 || res.Counts["sales_order"].Created != 0) {
			t.Errorf("second run: %+v", res.Counts["sales_order"])
		}
		// The manager delivers it in Obmen; the next run sends the status.
		if _, err := one.app.Store.UpdateSalesOrder(one.ctx, one.admin, id, func(o *crm.SalesOrder) error { o.Status = crm.OrderDelivered; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := one.app.Store.UpdateSalesOrder(one.ctx, one.admin, hand.ID, func(o *crm.SalesOrder) error { o.Status = crm.OrderDelivered; return nil }); err != nil {
			t.Fatal(err)
		}
		res = run()
		if c := res.Counts["sales_order"]; c == nil || c.Sent != 1 {
			t.Fatalf("third run: %+v", res.Counts)
		}
		back, err := ss.GetSalesOrder(shop.ctx, siteOrder.ID)
		if err != nil || back.Status != crm.OrderDelivered {
			t.Errorf("the site's order after the run: %q %v, want Delivered", back.Status, err)
		}
		var n int
		if err := shop.d.Read.QueryRowContext(shop.ctx, "SELECT COUNT(*) FROM sales_orders WHERE deleted_at = 0").Scan(&n); err != nil || n != 1 {
			t.Errorf("the site has %d orders (%v): the hand-made one must stay home", n, err)
		}
	})
}
