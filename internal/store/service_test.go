package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestServiceLifecycle(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		cat, err := s.CreateCatalog(ctx, admin, crm.Catalog{Name: "Монтаж"})
		if err != nil {
			t.Fatal(err)
		}
		vat := crm.Amount(0)
		v, err := s.CreateService(ctx, admin, crm.Service{
			Name: "Монтаж розетки", Unit: "шт", Price: 50000, VATRate: &vat, Active: true, CatalogIDs: []int64{cat.ID},
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.GetService(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Монтаж розетки" || got.Unit != "шт" || got.Price != 50000 || got.Currency != "RUB" || got.VATRate == nil || *got.VATRate != 0 ||
			got.VATIncluded || !got.Active || !slices.Equal(got.CatalogIDs, []int64{cat.ID}) || got.AssignedByID != admin.UserID {
			t.Fatalf("read back differs: %+v", got)
		}
		if _, err := s.CreateService(ctx, admin, crm.Service{Name: "x", Price: -1}); err == nil {
			t.Fatal("negative price accepted")
		} else if fe, ok := crm.AsFieldError(err); !ok || fe.Field != "price" {
			t.Fatalf("negative price: %v", err)
		}
		if _, err := s.CreateService(ctx, admin, crm.Service{Name: "x", CatalogIDs: []int64{999999}}); err == nil {
			t.Fatal("missing catalog accepted")
		} else if fe, ok := crm.AsFieldError(err); !ok || fe.Field != "catalog_ids[0]" {
			t.Fatalf("missing catalog: %v", err)
		}

		for _, tc := range []struct {
			name string
			want int64
		}{{"Монтаж розетки", v.ID}, {"  Монтаж розетки ", v.ID}, {"Монтаж", 0}, {"монтаж розетки", 0}} {
			got, err := s.FindServiceByName(ctx, tc.name)
			if tc.want == 0 && !errors.Is(err, store.ErrNotFound) || tc.want != 0 && (err != nil || got.ID != tc.want) {
				t.Errorf("find %q: %d %v, want %d", tc.name, got.ID, err, tc.want)
			}
		}

		up, err := s.UpdateService(ctx, admin, v.ID, func(x *crm.Service) error { x.VATRate = nil; x.Unit = "ч"; return nil })
		if err != nil || up.VATRate != nil || up.Unit != "ч" {
			t.Fatalf("update: %v %+v", err, up)
		}
		evs, err := s.Events(ctx, events.Query{Entity: store.EntityService, RecordID: v.ID})
		if err != nil || len(evs) != 2 {
			t.Fatalf("events: %v %+v", err, evs)
		}
		ch := evs[1].Changes
		if len(ch) != 2 || string(ch["vat_rate"].Old) != "0.00" || string(ch["vat_rate"].New) != "null" || string(ch["unit"].New) != `"ч"` {
			t.Fatalf("update changes: %+v", ch)
		}
		if got, _ := s.GetService(ctx, v.ID); got.VATRate != nil {
			t.Fatalf("vat_rate not cleared: %v", *got.VATRate)
		}

		// Membership hides while the catalog is deleted and comes back.
		if err := s.Delete(ctx, admin, store.EntityCatalog, cat.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetService(ctx, v.ID); len(got.CatalogIDs) != 0 {
			t.Fatalf("deleted catalog listed: %v", got.CatalogIDs)
		}
		if err := s.Restore(ctx, admin, store.EntityCatalog, cat.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetService(ctx, v.ID); !slices.Equal(got.CatalogIDs, []int64{cat.ID}) {
			t.Fatalf("restored catalog not listed: %v", got.CatalogIDs)
		}

		if err := s.Delete(ctx, admin, store.EntityService, v.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindServiceByName(ctx, "Монтаж розетки"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted service found: %v", err)
		}
		if _, svc, _ := s.CatalogItems(ctx, cat.ID); len(svc) != 0 {
			t.Fatalf("deleted service in catalog: %v", svc)
		}
		if err := s.Restore(ctx, admin, store.EntityService, v.ID); err != nil {
			t.Fatal(err)
		}
		if _, svc, _ := s.CatalogItems(ctx, cat.ID); !slices.Equal(svc, []int64{v.ID}) {
			t.Fatalf("restored service not in catalog: %v", svc)
		}
	})
}

func TestListServices(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		var ids []int64
		for _, name := range []string{"Доставка", "Аренда", "Консультация", "Бурение", "Вывоз мусора"} {
			v, err := s.CreateService(ctx, admin, crm.Service{Name: name, Active: name != "Бурение", Currency: "RUB"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, v.ID)
		}
		var got []int64
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 3 {
				t.Fatal("cursor does not end")
			}
			vs, next, err := s.ListServices(ctx, store.ListParams{Sort: "name", Limit: 2, Cursor: cursor,
				Filters: []store.Filter{{Field: "active", Value: "1"}}})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vs {
				got = append(got, v.ID)
			}
			if cursor = next; cursor == "" {
				break
			}
		}
		// Аренда, Вывоз мусора, Доставка, Консультация (Бурение is inactive).
		if want := []int64{ids[1], ids[4], ids[0], ids[2]}; !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		vs, _, err := s.ListServices(ctx, store.ListParams{Filters: []store.Filter{{Field: "name", Op: "like", Value: "ренд"}}})
		if err != nil || len(vs) != 1 || vs[0].ID != ids[1] {
			t.Fatalf("like: %v %+v", err, vs)
		}
	})
}
