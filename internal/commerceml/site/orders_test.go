package site_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/commerceml/schematest"
	"github.com/obmen/obmen/internal/commerceml/site"
	"github.com/obmen/obmen/internal/crm"
	"golang.org/x/text/encoding/charmap"
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
		// The catalog goes to the site first: a product with VAT and two
		// variants, so that the site's order names a variant by the Ид
		// the export gave it.
		vat := crm.Amount(2000)
		p0, err := one.app.Store.CreateProduct(one.ctx, one.admin, crm.Product{Name: "Кроссовки", Article: "RUN", Unit: "шт", Price: 550000, VATRate: &vat, VATIncluded: true, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		var v42 int64
		for j, size := range []string{"42", "44"} {
			v := one.exec(`INSERT INTO product_variants (product_id, id1c, name, article, characteristics, price, currency, stock)
				VALUES ($1, $2, $3, $4, $5, $6, 'RUB', $7) RETURNING id`, p0.ID, fmt.Sprintf("own-%d#size-%s", p0.ID, size), "Кроссовки ("+size+")", "RUN-"+size,
				`[{"name":"Размер","value":"`+size+`"}]`, 550000+j*1000, 2000)
			if j == 0 {
				v42 = v
			}
		}
		var created site.Settings
		if code := one.api("POST", "/api/v1/site-exchanges", site.Settings{URL: shop.srv.URL + "/1c_exchange.php", Login: "admin", Password: shop.key,
			StatusMap: statuses}, &created); code != 201 {
			t.Fatalf("create: %d", code)
		}
		var cres site.RunResult
		if code := one.api("POST", fmt.Sprintf("/api/v1/site-exchanges/%d/run?kind=catalog", created.ID), nil, &cres); code != 200 || cres.Status != "success" {
			t.Fatalf("catalog run: %d %+v", code, cres)
		}
		var sp, sv int64
		if err := shop.d.Read.QueryRowContext(shop.ctx, "SELECT product_id, id FROM product_variants WHERE id1c = $1", fmt.Sprintf("obmen-product-%d#size-42", p0.ID)).Scan(&sp, &sv); err != nil {
			t.Fatalf("the variant on the site: %v", err)
		}
		siteOrder, err := ss.CreateSalesOrder(shop.ctx, shop.admin, crm.SalesOrder{AccountID: acc.ID, Status: crm.OrderCreated,
			Items: []crm.LineItem{
				{ProductID: sp, VariantID: sv, Name: "Кроссовки (42)", Unit: "шт", Price: 550000, Quantity: 2000, DiscountRate: 1000, VATRate: &vat, VATIncluded: true},
				{Name: "Доставка", Price: 30000, Quantity: 1000},
			}})
		if err != nil {
			t.Fatal(err)
		}
		hand, err := one.app.Store.CreateSalesOrder(one.ctx, one.admin, crm.SalesOrder{Status: crm.OrderApproved, Items: []crm.LineItem{{Name: "Звонок", Price: 100, Quantity: 1000}}})
		if err != nil {
			t.Fatal(err)
		}
		run := func() site.RunResult {
			t.Helper()
			res := one.runOK(created.ID, "orders")
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
		if got.Status != crm.OrderCreated || len(got.Items) != 2 || got.Total != siteOrder.Total || got.AccountID == 0 {
			t.Fatalf("arrived: %+v", got)
		}
		// The variant's line names Obmen's product and variant, with the
		// site's discount and VAT.
		if li := got.Items[0]; li.ProductID != p0.ID || li.VariantID != v42 || li.Discount != 110000 || li.VATRate == nil || *li.VATRate != vat || li.Sum != 990000 {
			t.Errorf("the variant's line: %+v", li)
		}
		if a, err := one.app.Store.GetAccount(one.ctx, got.AccountID); err != nil || a.FullName != "ООО «Ромашка»" || a.AssignedByID != one.admin.UserID {
			t.Errorf("counterparty: %+v %v", a, err)
		}
		// No responsible user is set: the first administrator has them.
		if got.AssignedByID != one.admin.UserID {
			t.Errorf("the order's responsible: %d, want %d", got.AssignedByID, one.admin.UserID)
		}

		// A second run changes nothing and sends nothing.
		if res := run(); res.Counts["sales_order"] != nil && (res.Counts["sales_order"].Sent != 0 || res.Counts["sales_order"].Created != 0) {
			t.Errorf("second run: %+v", res.Counts["sales_order"])
		}
		// The manager delivers it in Obmen; the next run sends the status.
		// The manager delivers it in Obmen, with three pairs instead of
		// two; the next run sends the status and the lines.
		changed, err := one.app.Store.UpdateSalesOrder(one.ctx, one.admin, id, func(o *crm.SalesOrder) error {
			o.Status = crm.OrderDelivered
			o.Items[0].Quantity = 3000
			return nil
		})
		if err != nil {
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
		// The site rebuilt the lines: its own product and variant, the new
		// quantity, the discount and VAT, the same total.
		if len(back.Items) != 2 || back.Total != changed.Total {
			t.Fatalf("the site's lines: %+v, total %s want %s", back.Items, back.Total, changed.Total)
		}
		if li := back.Items[0]; li.ProductID != sp || li.VariantID != sv || li.Quantity != 3000 || li.Discount != changed.Items[0].Discount ||
			li.VATRate == nil || *li.VATRate != vat || li.Sum != changed.Items[0].Sum || li.Unit != "шт" {
			t.Errorf("the site's variant line: %+v, want %+v", li, changed.Items[0])
		}
		if li := back.Items[1]; li.Name != "Доставка" || li.Price != 30000 || li.Quantity != 1000 {
			t.Errorf("the site's delivery line: %+v", li)
		}
		// What went to the site is valid against the schema.
		var from string
		if err := one.d.Read.QueryRowContext(one.ctx, "SELECT file_path FROM cml_exchanges WHERE id = $1", res.EntryID).Scan(&from); err != nil {
			t.Fatal(err)
		}
		doc, err := os.ReadFile(filepath.Join(filepath.Dir(from), "to-site.xml"))
		if err != nil {
			t.Fatal(err)
		}
		schematest.Validate(t, doc)
		if doc, err = charmap.Windows1251.NewDecoder().Bytes(doc); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), fmt.Sprintf("<Ид>obmen-product-%d#size-42</Ид>", p0.ID)) || !strings.Contains(string(doc), "<Скидки>") {
			t.Errorf("to-site.xml:\n%s", doc)
		}
		var n int
		if err := shop.d.Read.QueryRowContext(shop.ctx, "SELECT COUNT(*) FROM sales_orders WHERE deleted_at = 0").Scan(&n); err != nil || n != 1 {
			t.Errorf("the site has %d orders (%v): the hand-made one must stay home", n, err)
		}
	})
}
