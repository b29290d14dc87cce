package bitrix24_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/connector/bitrix24"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// A manager changes the deal's product rows in the portal (a second
// Obmen): the deal's new sum brings the rows back as the order's lines —
// a row left as Obmen sent it keeps its line (and its product), a changed
// one is priced as the portal has it, a new one is added, a removed one
// goes — and the order's total is the deal's sum. The same event again
// writes nothing, and the order sent again makes no crm.deal.update.
func TestApplyDealRowsSecondObmen(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			p := newPair(t, e)
			s, ps := p.shop.App.Store, p.portal.App.Store
			prod, err := s.CreateProduct(ctx, p.shopActor, crm.Product{Name: "Фотокнига", Price: 150000, Currency: "RUB"})
			if err != nil {
				t.Fatal(err)
			}
			person, err := s.CreateContact(ctx, p.shopActor, crm.Contact{Name: "Анна", Comms: crm.Comms{
				Phones: []crm.Comm{{Value: "+7 925 765-43-21", ValueType: "WORK"}}}})
			if err != nil {
				t.Fatal(err)
			}
			vat := crm.Amount(2000)
			order, err := s.CreateSalesOrder(ctx, p.shopActor, crm.SalesOrder{ContactID: person.ID, Items: []crm.LineItem{
				{ProductID: prod.ID, Name: "Фотокнига", Price: 150000, Quantity: 1000, VATRate: &vat, VATIncluded: true},
				{Name: "Открытка", Price: 10000, Quantity: 2000},
				{Name: "Доставка", Price: 30000, Quantity: 1000}}})
			if err != nil {
				t.Fatal(err)
			}
			o := out(t, p.call(t, bitrix24.ActionDealUpsert, map[string]any{"sales_order_id": order.ID}))
			dealID := id(o["id"])
			if o["outcome"] != bitrix24.OutcomeCreated || dealID == 0 {
				t.Fatalf("deal.upsert: %v", o)
			}
			apply := func() map[string]any {
				return out(t, p.call(t, bitrix24.ActionEventApply, map[string]any{"event": "ONCRMDEALUPDATE", "id": dealID}))
			}
			// Nothing changed in the portal: nothing to take.
			if a := apply(); a["outcome"] != bitrix24.ApplyUnchanged {
				t.Fatalf("apply of the deal as sent: %v", a)
			}

			// The manager: two photobooks, no postcards, gift wrapping.
			admin := crm.Actor{UserID: p.portalAdmin}
			deal, err := ps.UpdateDeal(ctx, admin, dealID, func(x *crm.Deal) error {
				rows := x.ProductRows
				rows[0].Quantity = 2000
				x.ProductRows = []crm.LineItem{rows[0], rows[2], {Name: "Подарочная упаковка", Price: 25000, Quantity: 1000, Unit: "шт"}}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			a := apply()
			if a["outcome"] != bitrix24.ApplyUpdated || fmt.Sprint(a["changed"]) != "[items]" {
				t.Fatalf("apply of the changed rows: %v", a)
			}
			got, err := s.GetSalesOrder(ctx, order.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Total != deal.Opportunity || len(got.Items) != 3 {
				t.Fatalf("the order after the portal's rows: total %s (deal %s), items %+v", got.Total, deal.Opportunity, got.Items)
			}
			book, delivery, wrap := got.Items[0], got.Items[1], got.Items[2]
			if book.ProductID != prod.ID || book.Quantity != 2000 || book.Sum != 300000 || book.VATRate == nil || *book.VATRate != vat ||
				delivery.Name != "Доставка" || delivery.Sum != 30000 ||
				wrap.Name != "Подарочная упаковка" || wrap.Sum != 25000 || wrap.Unit != "шт" || wrap.ProductID != 0 {
				t.Fatalf("the order's lines: %+v", got.Items)
			}
			if a := apply(); a["outcome"] != bitrix24.ApplyUnchanged {
				t.Fatalf("the same event again: %v", a)
			}
			if again, _ := s.GetSalesOrder(ctx, order.ID); !again.UpdatedAt.Equal(got.UpdatedAt) {
				t.Fatal("the same event rewrote the order")
			}
			// The order as the portal now has it goes nowhere.
			if o := out(t, p.call(t, bitrix24.ActionDealUpsert, map[string]any{"sales_order_id": order.ID})); o["outcome"] != bitrix24.OutcomeUnchanged {
				t.Fatalf("the order sent again after the portal's rows: %v", o)
			}

			// A sum typed by hand on a deal with no rows: the order keeps
			// its lines, its timeline says so once.
			if _, err := ps.UpdateDeal(ctx, admin, dealID, func(x *crm.Deal) error {
				x.ProductRows, x.Opportunity = []crm.LineItem{}, 100000
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if a := apply(); a["outcome"] != bitrix24.ApplyUnchanged || a["opportunity"] != "1000.00" {
					t.Fatalf("apply of a typed sum: %v", a)
				}
			}
			if kept, _ := s.GetSalesOrder(ctx, order.ID); len(kept.Items) != 3 || kept.Total != got.Total {
				t.Fatalf("the order after a typed sum: %+v", kept)
			}
			cs, err := s.ListComments(ctx, store.EntitySalesOrder, order.ID)
			if err != nil || len(cs) != 1 || !strings.Contains(cs[0].Body, "1000.00") {
				t.Fatalf("the order's timeline: %+v %v", cs, err)
			}
		})
	}
}
