package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestProductLifecycle(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		c1, err := s.CreateCatalog(ctx, admin, crm.Catalog{Name: "Кабель"})
		if err != nil {
			t.Fatal(err)
		}
		c2, err := s.CreateCatalog(ctx, admin, crm.Catalog{Name: "Электрика"})
		if err != nil {
			t.Fatal(err)
		}
		vat := crm.Amount(2000)
		p, err := s.CreateProduct(ctx, admin, crm.Product{
			Name: " Кабель ВВГ 3x2.5 ", Article: "VVG-325", Unit: "м", Price: 12550, Currency: "rub",
			VATRate: &vat, VATIncluded: true, Stock: 1500, Description: "медный", Active: true,
			CatalogIDs: []int64{c2.ID, c1.ID, c2.ID},
		})
		if err != nil {
			t.Fatal(err)
		}
		if p.ID == 0 || p.Name != "Кабель ВВГ 3x2.5" || p.Currency != "RUB" || !slices.Equal(p.CatalogIDs, []int64{c1.ID, c2.ID}) {
			t.Fatalf("unexpected product: %+v", p)
		}
		got, err := s.GetProduct(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != p.Name || got.Article != "VVG-325" || got.Unit != "м" || got.Price != 12550 || got.VATRate == nil || *got.VATRate != 2000 ||
			!got.VATIncluded || got.Stock != 1500 || got.Description != "медный" || !got.Active || got.CreatedByID != admin.UserID ||
			!slices.Equal(got.CatalogIDs, []int64{c1.ID, c2.ID}) {
			t.Fatalf("read back differs: %+v", got)
		}

		noVAT, err := s.CreateProduct(ctx, admin, crm.Product{Name: "Без НДС"})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetProduct(ctx, noVAT.ID); got.VATRate != nil || got.Active || got.CatalogIDs == nil || len(got.CatalogIDs) != 0 {
			t.Fatalf("product without VAT: %+v", got)
		}

		for _, tc := range []struct {
			name  string
			p     crm.Product
			field string
		}{
			{"no name", crm.Product{Name: "  "}, "name"},
			{"bad currency", crm.Product{Name: "x", Currency: "XXX"}, "currency"},
			{"missing catalog", crm.Product{Name: "x", CatalogIDs: []int64{c1.ID, 999999}}, "catalog_ids[1]"},
			{"bad catalog id", crm.Product{Name: "x", CatalogIDs: []int64{-1}}, "catalog_ids[0]"},
			{"VAT over 100", crm.Product{Name: "x", VATRate: new(crm.Amount(10001))}, "vat_rate"},
			{"inactive user", crm.Product{Name: "x", Meta: crm.Meta{AssignedByID: 999999}}, "assigned_by_id"},
		} {
			_, err := s.CreateProduct(ctx, admin, tc.p)
			if fe, ok := crm.AsFieldError(err); !ok || fe.Field != tc.field {
				t.Errorf("%s: got %v, want an error on %s", tc.name, err, tc.field)
			}
		}

		up, err := s.UpdateProduct(ctx, admin, p.ID, func(x *crm.Product) error { x.Price = 13000; return nil })
		if err != nil || up.Price != 13000 {
			t.Fatalf("update: %v %+v", err, up)
		}
		evs, err := s.Events(ctx, events.Query{Entity: store.EntityProduct, RecordID: p.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[0].Action != events.Create || evs[1].Action != events.Update {
			t.Fatalf("events: %+v", evs)
		}
		if ch, ok := evs[1].Changes["price"]; !ok || string(ch.Old) != "125.50" || string(ch.New) != "130.00" || len(evs[1].Changes) != 1 {
			t.Fatalf("update changes: %+v", evs[1].Changes)
		}
		if want, _ := json.Marshal([]int64{c1.ID, c2.ID}); string(evs[0].Changes["catalog_ids"].New) != string(want) {
			t.Fatalf("create event catalog_ids: %s", evs[0].Changes["catalog_ids"].New)
		}

		// A deleted catalog drops out of the list; the membership comes back
		// with it, even after the product was saved in between.
		if err := s.Delete(ctx, admin, store.EntityCatalog, c1.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetProduct(ctx, p.ID); !slices.Equal(got.CatalogIDs, []int64{c2.ID}) {
			t.Fatalf("catalog ids with c1 deleted: %v", got.CatalogIDs)
		}
		if _, err := s.UpdateProduct(ctx, admin, p.ID, func(x *crm.Product) error { x.Description = "медный, 100 м"; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateProduct(ctx, admin, p.ID, func(x *crm.Product) error { x.CatalogIDs = []int64{c1.ID}; return nil }); err == nil {
			t.Fatal("a deleted catalog was accepted")
		} else if fe, ok := crm.AsFieldError(err); !ok || fe.Field != "catalog_ids[0]" {
			t.Fatalf("deleted catalog: %v", err)
		}
		if err := s.Restore(ctx, admin, store.EntityCatalog, c1.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetProduct(ctx, p.ID); !slices.Equal(got.CatalogIDs, []int64{c1.ID, c2.ID}) {
			t.Fatalf("catalog ids after restore: %v", got.CatalogIDs)
		}
		up, err = s.UpdateProduct(ctx, admin, p.ID, func(x *crm.Product) error { x.CatalogIDs = []int64{c2.ID}; return nil })
		if err != nil || !slices.Equal(up.CatalogIDs, []int64{c2.ID}) {
			t.Fatalf("leave c1: %v %+v", err, up.CatalogIDs)
		}
		if got, _ := s.GetProduct(ctx, p.ID); !slices.Equal(got.CatalogIDs, []int64{c2.ID}) {
			t.Fatalf("catalog ids after leaving c1: %v", got.CatalogIDs)
		}

		if err := s.Delete(ctx, admin, store.EntityProduct, p.ID); err != nil {
			t.Fatal(err)
		}
		if ps, _, _ := s.ListProducts(ctx, store.ListParams{}); len(ps) != 1 || ps[0].ID != noVAT.ID {
			t.Fatalf("deleted product still listed: %d", len(ps))
		}
		if ids, _, _ := s.CatalogItems(ctx, c2.ID); len(ids) != 0 {
			t.Fatalf("deleted product still in its catalog: %v", ids)
		}
		if _, err := s.UpdateProduct(ctx, admin, p.ID, func(x *crm.Product) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of deleted product: %v", err)
		}
		if err := s.Restore(ctx, admin, store.EntityProduct, p.ID); err != nil {
			t.Fatal(err)
		}
		if ids, _, _ := s.CatalogItems(ctx, c2.ID); !slices.Equal(ids, []int64{p.ID}) {
			t.Fatalf("restored product not back in its catalog: %v", ids)
		}
	})
}

func TestFindProduct(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		mk := func(name, article string) int64 {
			t.Helper()
			p, err := s.CreateProduct(ctx, admin, crm.Product{Name: name, Article: article, Active: true})
			if err != nil {
				t.Fatal(err)
			}
			return p.ID
		}
		plain := mk("Болт М8", "")
		a1 := mk("Болт М8", "A1")
		other := mk("Гайка М8", "A1")
		gone := mk("Шайба", "W1")
		if err := s.Delete(ctx, admin, store.EntityProduct, gone); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, article string
			want          int64 // 0: not found
		}{
			{"Болт М8", "", plain},
			{"Болт М8", "A1", a1},
			{" Болт М8 ", "A1 ", a1},
			{"Гайка М8", "A1", other},
			{"Гайка М8", "", 0},
			{"Болт М8", "A2", 0},
			{"болт м8", "A1", 0},
			{"Шайба", "W1", 0},
		} {
			p, err := s.FindProduct(ctx, tc.name, tc.article)
			switch {
			case tc.want == 0 && !errors.Is(err, store.ErrNotFound):
				t.Errorf("find %q/%q: got %d %v, want not found", tc.name, tc.article, p.ID, err)
			case tc.want != 0 && (err != nil || p.ID != tc.want):
				t.Errorf("find %q/%q: got %d %v, want %d", tc.name, tc.article, p.ID, err, tc.want)
			}
		}
		// A second live product with the same name and article: the oldest wins.
		dup := mk("Болт М8", "A1")
		if p, err := s.FindProduct(ctx, "Болт М8", "A1"); err != nil || p.ID != a1 {
			t.Fatalf("duplicate: got %d %v, want %d", p.ID, err, a1)
		}
		if err := s.Delete(ctx, admin, store.EntityProduct, a1); err != nil {
			t.Fatal(err)
		}
		if p, err := s.FindProduct(ctx, "Болт М8", "A1"); err != nil || p.ID != dup {
			t.Fatalf("after deleting the oldest: got %d %v, want %d", p.ID, err, dup)
		}
	})
}

func TestListProducts(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		var ids []int64
		for i, tc := range []struct {
			name   string
			price  crm.Amount
			stock  crm.Quantity
			active bool
		}{
			{"Дрель", 450000, 3000, true},
			{"Перфоратор", 890000, 0, true},
			{"Шуруповёрт", 560000, 1500, true},
			{"Лобзик", 320000, 2000, false},
			{"Болгарка", 560000, 500, true},
		} {
			p, err := s.CreateProduct(ctx, admin, crm.Product{Name: tc.name, Article: string(rune('A' + i)), Price: tc.price, Stock: tc.stock, Active: tc.active})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, p.ID)
		}
		// Active ones, dearest first (ties by id, descending), two a page.
		var got []int64
		cursor := ""
		pages := 0
		for {
			ps, next, err := s.ListProducts(ctx, store.ListParams{
				Filters: []store.Filter{{Field: "active", Value: "true"}}, Sort: "-price", Limit: 2, Cursor: cursor,
			})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, p := range ps {
				got = append(got, p.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if want := []int64{ids[1], ids[4], ids[2], ids[0]}; !slices.Equal(got, want) || pages != 2 {
			t.Fatalf("pages %d, order %v, want %v", pages, got, want)
		}
		for _, tc := range []struct {
			p    store.ListParams
			want []int64
		}{
			{store.ListParams{Filters: []store.Filter{{Field: "stock", Op: "gte", Value: "1.5"}}}, []int64{ids[0], ids[2], ids[3]}},
			{store.ListParams{Filters: []store.Filter{{Field: "price", Op: "lt", Value: "5000"}}}, []int64{ids[0], ids[3]}},
			{store.ListParams{Filters: []store.Filter{{Field: "article", Value: "C"}}}, []int64{ids[2]}},
			{store.ListParams{Q: "ПЕРФ"}, []int64{ids[1]}},
			{store.ListParams{Sort: "stock", Limit: 2}, []int64{ids[1], ids[4]}},
		} {
			ps, _, err := s.ListProducts(ctx, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, p := range ps {
				got = append(got, p.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%+v: got %v, want %v", tc.p, got, tc.want)
			}
		}
		if _, _, err := s.ListProducts(ctx, store.ListParams{Filters: []store.Filter{{Field: "description", Value: "x"}}}); err == nil {
			t.Fatal("filter on an unlisted column accepted")
		}
		if _, _, err := s.ListProducts(ctx, store.ListParams{Phone: "+79250000000"}); err == nil {
			t.Fatal("phone lookup on products accepted")
		}
	})
}
