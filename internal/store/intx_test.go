package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// Many records in one write, with events flushed on the way: all of them
// land with their events in order, or none does.
func TestWriteManyInOneTx(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		actor := crm.Actor{UserID: admin.UserID, Integration: "1c"}
		var catID, prodID, svcID, accID int64
		err := s.Write(ctx, actor, func(tx *store.Tx) error {
			cat, err := tx.CreateCatalog(crm.Catalog{Name: "Инструмент", Extra: crm.Extra{ExternalIDs: map[string]string{"1c": "g-1"}}})
			if err != nil {
				return err
			}
			catID = cat.ID
			if err := tx.EnsureUnit("м2"); err != nil {
				return err
			}
			if err := tx.EnsureUnit("м2"); err != nil {
				return err
			}
			for i := 0; i < 150; i++ {
				p, err := tx.CreateProduct(crm.Product{Name: "Дрель", Article: string(rune('A'+i%26)) + "-" + string(rune('0'+i/26)),
					Unit: "м2", CatalogIDs: []int64{cat.ID}})
				if err != nil {
					return err
				}
				if i == 0 {
					prodID = p.ID
				}
				if i%50 == 0 {
					if err := tx.FlushEvents(); err != nil {
						return err
					}
				}
			}
			if id, err := tx.ProductIDByNameArticle(" Дрель ", "A-0"); err != nil || id != prodID {
				t.Errorf("by name and article: %d %v", id, err)
			}
			if id, _ := tx.ProductIDByNameArticle("Дрель", ""); id != 0 {
				t.Errorf("empty article matched %d", id)
			}
			if id, _ := tx.IDByExternal(store.EntityCatalog, "1c", "g-1"); id != catID {
				t.Errorf("catalog by 1C id: %d", id)
			}
			if _, err := tx.UpdateProduct(prodID, func(p *crm.Product) error {
				p.Price = 12345
				p.ExternalIDs = map[string]string{"1c": "p-1"}
				return nil
			}); err != nil {
				return err
			}
			if id, _ := tx.IDByExternal(store.EntityProduct, "1c", "p-1"); id != prodID {
				t.Errorf("product by 1C id inside the write: %d", id)
			}
			sv, err := tx.CreateService(crm.Service{Name: "Монтаж"})
			if err != nil {
				return err
			}
			svcID = sv.ID
			if _, err := tx.UpdateService(sv.ID, func(v *crm.Service) error { v.Price = 500; return nil }); err != nil {
				return err
			}
			if id, _ := tx.ServiceIDByName("Монтаж"); id != sv.ID {
				t.Errorf("service by name: %d", id)
			}
			a, err := tx.CreateAccount(crm.Account{Title: "ООО Ромашка"})
			if err != nil {
				return err
			}
			accID = a.ID
			if _, err := tx.UpdateAccount(a.ID, func(a *crm.Account) error { a.INN = "7707083893"; return nil }); err != nil {
				return err
			}
			if id, _ := tx.AccountIDByTitle("ООО Ромашка"); id != a.ID {
				t.Errorf("account by title: %d", id)
			}
			if ok, _ := tx.CurrencyActive("RUB"); !ok {
				t.Error("RUB inactive")
			}
			if ok, _ := tx.CurrencyActive("XXX"); ok {
				t.Error("XXX active")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := s.GetProduct(ctx, prodID); p.Price != 12345 || p.ExternalIDs["1c"] != "p-1" || len(p.CatalogIDs) != 1 {
			t.Fatalf("product %+v", p)
		}
		if v, _ := s.GetService(ctx, svcID); v.Price != 500 {
			t.Fatal("service")
		}
		if a, _ := s.GetAccount(ctx, accID); a.INN != "7707083893" {
			t.Fatal("account")
		}
		evs, err := s.Events(ctx, events.Query{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		// 1 catalog + 150 products + 1 product update + service create and
		// update + account create and update, in order, all by "1c".
		var n int
		var last int64
		for _, ev := range evs {
			if ev.Integration != "1c" {
				continue
			}
			n++
			if ev.ID <= last {
				t.Fatalf("events out of order: %d after %d", ev.ID, last)
			}
			last = ev.ID
		}
		if n != 156 {
			t.Fatalf("%d events, want 156", n)
		}
		// A failing write leaves nothing, flushed events included.
		boom := errors.New("boom")
		err = s.Write(ctx, actor, func(tx *store.Tx) error {
			if _, err := tx.CreateProduct(crm.Product{Name: "Пила"}); err != nil {
				return err
			}
			if err := tx.FlushEvents(); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if _, err := s.FindProduct(ctx, "Пила", ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatal("rolled back product visible")
		}
		evs2, _ := s.Events(ctx, events.Query{Limit: 1000})
		if len(evs2) != len(evs) {
			t.Fatalf("rolled back events visible: %d → %d", len(evs), len(evs2))
		}
		// SalesOrdersByIDs / AccountsByIDs keep the order given.
		o1, _ := s.CreateSalesOrder(ctx, admin, crm.SalesOrder{AccountID: accID})
		o2, _ := s.CreateSalesOrder(ctx, admin, crm.SalesOrder{})
		sos, err := s.SalesOrdersByIDs(ctx, []int64{o2.ID, 999999, o1.ID})
		if err != nil || len(sos) != 2 || sos[0].ID != o2.ID || sos[1].ID != o1.ID {
			t.Fatalf("orders by ids: %v %v", len(sos), err)
		}
		if err := s.Write(ctx, actor, func(tx *store.Tx) error {
			if id, _ := tx.SalesOrderIDByNumber(o1.Number); id != o1.ID {
				t.Errorf("order by number: %d", id)
			}
			_, err := tx.UpdateSalesOrder(o1.ID, func(o *crm.SalesOrder) error { o.Status = crm.OrderApproved; return nil })
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if o, _ := s.GetSalesOrder(ctx, o1.ID); o.Status != crm.OrderApproved {
			t.Fatal("order status")
		}
		as, _ := s.AccountsByIDs(ctx, []int64{accID})
		if len(as) != 1 {
			t.Fatal("accounts by ids")
		}
	})
}
