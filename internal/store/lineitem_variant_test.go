package store_test

import (
	"context"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func docVariant(t *testing.T, s *store.Store, productID int64, id1c, name, chars string, price crm.Amount) int64 {
	return docInsert(t, s, `INSERT INTO product_variants (product_id, id1c, name, characteristics, price, currency, stock)
		VALUES ($1, $2, $3, $4, $5, 'RUB', 5000)`, productID, id1c, name, chars, int64(price))
}

// A line item of an order, deal or invoice may name a variant of its
// product: it is kept and read back, a variant alone names its product,
// and a variant of another product (or of nothing) is refused naming
// the row and field.
func TestLineItemVariants(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		shirt := docProduct(t, s, admin, "Футболка", "шт", 100000)
		cap := docProduct(t, s, admin, "Кепка", "шт", 50000)
		red := docVariant(t, s, shirt, "g1#c1", "Футболка (красный, XL)", `[{"name":"Цвет","value":"красный"},{"name":"Размер","value":"XL"}]`, 120000)
		blue := docVariant(t, s, shirt, "g1#c2", "", `[{"name":"Цвет","value":"синий"}]`, 110000)
		capRed := docVariant(t, s, cap, "g2#c1", "Кепка (красная)", `[]`, 55000)

		o, err := s.CreateSalesOrder(ctx, admin, crm.SalesOrder{Items: []crm.LineItem{
			{ProductID: shirt, VariantID: red, Price: 120000, Quantity: 1000},
			{VariantID: blue, Price: 110000, Quantity: 2000}, // the variant names its product
			{ProductID: shirt, Price: 100000, Quantity: 1000},
		}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSalesOrder(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []struct {
			product, variant int64
			name             string
		}{{shirt, red, "Футболка (красный, XL)"}, {shirt, blue, "Футболка"}, {shirt, 0, "Футболка"}} {
			it := got.Items[i]
			if it.ProductID != want.product || it.VariantID != want.variant || it.Name != want.name {
				t.Errorf("order item %d: product %d variant %d name %q, want %d %d %q", i, it.ProductID, it.VariantID, it.Name, want.product, want.variant, want.name)
			}
		}
		// An update that leaves the rows as they are keeps the variants.
		up, err := s.UpdateSalesOrder(ctx, admin, o.ID, func(x *crm.SalesOrder) error { x.Comments = "ok"; return nil })
		if err != nil || up.Items[0].VariantID != red || up.Items[1].VariantID != blue {
			t.Fatalf("update: %v %+v", err, up.Items)
		}

		d, err := s.CreateDeal(ctx, admin, crm.Deal{Title: "Сделка", ProductRows: []crm.LineItem{{ProductID: shirt, VariantID: blue, Price: 110000, Quantity: 1000}}})
		if err != nil {
			t.Fatal(err)
		}
		if d, err = s.GetDeal(ctx, d.ID); err != nil || d.ProductRows[0].VariantID != blue {
			t.Fatalf("deal: %v %+v", err, d.ProductRows)
		}
		// An invoice made from the deal keeps the row's variant.
		inv, err := s.CreateInvoiceFromDeal(ctx, admin, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if inv, err = s.GetInvoice(ctx, inv.ID); err != nil || inv.Items[0].VariantID != blue {
			t.Fatalf("invoice from deal: %v %+v", err, inv.Items)
		}
		if _, err := s.CreateInvoice(ctx, admin, crm.Invoice{Items: []crm.LineItem{{ProductID: cap, VariantID: capRed, Quantity: 1000}}}); err != nil {
			t.Fatalf("invoice with a variant: %v", err)
		}

		for _, tc := range []struct {
			name  string
			items []crm.LineItem
			field string
		}{
			{"variant of another product", []crm.LineItem{{Name: "x", Quantity: 1000}, {ProductID: cap, VariantID: red, Quantity: 1000}}, "items[1].variant_id"},
			{"no such variant", []crm.LineItem{{ProductID: shirt, VariantID: capRed + 100, Quantity: 1000}}, "items[0].variant_id"},
			{"variant of a service", []crm.LineItem{{ServiceID: 1, VariantID: red, Quantity: 1000}}, "items[0].variant_id"},
			{"negative variant", []crm.LineItem{{ProductID: shirt, VariantID: -1, Quantity: 1000}}, "items[0].variant_id"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := s.CreateSalesOrder(ctx, admin, crm.SalesOrder{Items: tc.items}); fieldOf(err) != tc.field {
					t.Fatalf("got %s, want %s", fieldOf(err), tc.field)
				}
			})
		}
		if _, err := s.UpdateDeal(ctx, admin, d.ID, func(x *crm.Deal) error { x.ProductRows[0].ProductID = cap; return nil }); fieldOf(err) != "product_rows[0].variant_id" {
			t.Fatalf("deal row moved to another product with its variant: %v", err)
		}

		vs, err := s.VariantsOfProducts(ctx, []int64{shirt, cap})
		if err != nil || len(vs[shirt]) != 2 || len(vs[cap]) != 1 {
			t.Fatalf("variants of products: %v %+v", err, vs)
		}
		if txt := vs[shirt][0].CharacteristicsText(); txt != "Цвет: красный; Размер: XL" {
			t.Errorf("characteristics text %q", txt)
		}
		if txt := vs[cap][0].CharacteristicsText(); txt != "Кепка (красная)" {
			t.Errorf("characteristics text without characteristics %q", txt)
		}
		byID, err := s.VariantsByIDs(ctx, []int64{blue, capRed + 100})
		if err != nil || len(byID) != 1 || byID[blue].ID1C != "g1#c2" {
			t.Fatalf("variants by ids: %v %+v", err, byID)
		}
	})
}
