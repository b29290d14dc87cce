package store_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestCatalogTree(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		mk := func(name string, parent int64) crm.Catalog {
			t.Helper()
			c, err := s.CreateCatalog(ctx, admin, crm.Catalog{Name: name, ParentID: parent, Description: "раздел " + name})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		root := mk("Инструмент", 0)
		child := mk("Электроинструмент", root.ID)
		grand := mk("Дрели", child.ID)
		other := mk("Крепёж", 0)
		got, err := s.GetCatalog(ctx, grand.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Дрели" || got.ParentID != child.ID || got.Description != "раздел Дрели" || got.CreatedByID != admin.UserID {
			t.Fatalf("read back differs: %+v", got)
		}

		for _, tc := range []struct {
			name   string
			id     int64
			parent int64
		}{
			{"own parent", root.ID, root.ID},
			{"parent is a child", root.ID, child.ID},
			{"parent is a grandchild", root.ID, grand.ID},
			{"child under its child", child.ID, grand.ID},
			{"missing parent", other.ID, 999999},
		} {
			_, err := s.UpdateCatalog(ctx, admin, tc.id, func(c *crm.Catalog) error { c.ParentID = tc.parent; return nil })
			if fe, ok := crm.AsFieldError(err); !ok || fe.Field != "parent_id" {
				t.Errorf("%s: got %v, want an error on parent_id", tc.name, err)
			}
		}
		if _, err := s.CreateCatalog(ctx, admin, crm.Catalog{Name: ""}); err == nil {
			t.Fatal("catalog without a name accepted")
		} else if fe, ok := crm.AsFieldError(err); !ok || fe.Field != "name" {
			t.Fatalf("no name: %v", err)
		}

		// Moving a subtree elsewhere is fine; a deleted catalog cannot become
		// a parent, but a child keeps a parent that went to the bin.
		moved, err := s.UpdateCatalog(ctx, admin, child.ID, func(c *crm.Catalog) error { c.ParentID = other.ID; return nil })
		if err != nil || moved.ParentID != other.ID {
			t.Fatalf("move: %v %+v", err, moved)
		}
		evs, err := s.Events(ctx, events.Query{Entity: store.EntityCatalog, RecordID: child.ID})
		if err != nil || len(evs) != 2 {
			t.Fatalf("events: %v %+v", err, evs)
		}
		if ch := evs[1].Changes["parent_id"]; len(evs[1].Changes) != 1 || string(ch.Old) != strconv.FormatInt(root.ID, 10) || string(ch.New) != strconv.FormatInt(other.ID, 10) {
			t.Fatalf("move changes: %+v", evs[1].Changes)
		}
		if err := s.Delete(ctx, admin, store.EntityCatalog, root.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCatalog(ctx, admin, crm.Catalog{Name: "x", ParentID: root.ID}); err == nil {
			t.Fatal("deleted parent accepted")
		} else if fe, ok := crm.AsFieldError(err); !ok || fe.Field != "parent_id" {
			t.Fatalf("deleted parent: %v", err)
		}
		if err := s.Delete(ctx, admin, store.EntityCatalog, other.ID); err != nil {
			t.Fatal(err)
		}
		if c, err := s.UpdateCatalog(ctx, admin, child.ID, func(c *crm.Catalog) error { c.Name = "Электро"; return nil }); err != nil || c.ParentID != other.ID {
			t.Fatalf("rename under a deleted parent: %v %+v", err, c)
		}
		if _, err := s.UpdateCatalog(ctx, admin, root.ID, func(c *crm.Catalog) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of deleted catalog: %v", err)
		}

		cs, _, err := s.ListCatalogs(ctx, store.ListParams{Filters: []store.Filter{{Field: "parent_id", Value: strconv.FormatInt(child.ID, 10)}}})
		if err != nil || len(cs) != 1 || cs[0].ID != grand.ID {
			t.Fatalf("filter by parent: %v %+v", err, cs)
		}
	})
}

func TestCatalogItems(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		cat, err := s.CreateCatalog(ctx, admin, crm.Catalog{Name: "Сантехника"})
		if err != nil {
			t.Fatal(err)
		}
		var pids []int64
		for _, name := range []string{"Смеситель", "Кран", "Сифон"} {
			p, err := s.CreateProduct(ctx, admin, crm.Product{Name: name, Active: true})
			if err != nil {
				t.Fatal(err)
			}
			pids = append(pids, p.ID)
		}
		svc, err := s.CreateService(ctx, admin, crm.Service{Name: "Установка смесителя", Active: true})
		if err != nil {
			t.Fatal(err)
		}

		if err := s.SetCatalogItems(ctx, admin, cat.ID, []int64{pids[2], pids[0], pids[2]}, []int64{svc.ID}); err != nil {
			t.Fatal(err)
		}
		ps, ss, err := s.CatalogItems(ctx, cat.ID)
		if err != nil || !slices.Equal(ps, []int64{pids[0], pids[2]}) || !slices.Equal(ss, []int64{svc.ID}) {
			t.Fatalf("items: %v %v %v", err, ps, ss)
		}
		if p, _ := s.GetProduct(ctx, pids[0]); !slices.Equal(p.CatalogIDs, []int64{cat.ID}) {
			t.Fatalf("product catalog ids: %v", p.CatalogIDs)
		}
		// The same set again changes nothing and writes no event.
		if err := s.SetCatalogItems(ctx, admin, cat.ID, []int64{pids[0], pids[2]}, []int64{svc.ID}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCatalogItems(ctx, admin, cat.ID, []int64{pids[1]}, nil); err != nil {
			t.Fatal(err)
		}
		evs, err := s.Events(ctx, events.Query{Entity: store.EntityCatalog, RecordID: cat.ID})
		if err != nil || len(evs) != 3 {
			t.Fatalf("events: %v %d", err, len(evs))
		}
		id := func(n int64) string { return strconv.FormatInt(n, 10) }
		first := `{"product_ids":[` + id(pids[0]) + `,` + id(pids[2]) + `],"service_ids":[` + id(svc.ID) + `]}`
		want := []struct{ old, new string }{
			{`{"product_ids":[],"service_ids":[]}`, first},
			{first, `{"product_ids":[` + id(pids[1]) + `],"service_ids":[]}`},
		}
		for i, w := range want {
			e := evs[i+1]
			ch, ok := e.Changes["items"]
			if e.Action != events.Update || !ok || len(e.Changes) != 1 || string(ch.Old) != w.old || string(ch.New) != w.new {
				t.Fatalf("event %d: %s %+v", i+1, e.Action, e.Changes)
			}
		}

		for _, tc := range []struct {
			name       string
			prod, serv []int64
			field      string
		}{
			{"missing product", []int64{pids[0], 999999}, nil, "product_ids[1]"},
			{"service as product", []int64{999999}, nil, "product_ids[0]"},
			{"missing service", nil, []int64{999999}, "service_ids[0]"},
			{"bad id", []int64{0}, nil, "product_ids[0]"},
		} {
			err := s.SetCatalogItems(ctx, admin, cat.ID, tc.prod, tc.serv)
			if fe, ok := crm.AsFieldError(err); !ok || fe.Field != tc.field {
				t.Errorf("%s: got %v, want an error on %s", tc.name, err, tc.field)
			}
		}

		// A deleted product leaves the list; replacing the items keeps its
		// membership, so it comes back with it.
		if err := s.Delete(ctx, admin, store.EntityProduct, pids[1]); err != nil {
			t.Fatal(err)
		}
		if ps, _, _ := s.CatalogItems(ctx, cat.ID); len(ps) != 0 {
			t.Fatalf("deleted product listed: %v", ps)
		}
		if err := s.SetCatalogItems(ctx, admin, cat.ID, []int64{pids[0]}, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCatalogItems(ctx, admin, cat.ID, []int64{pids[1]}, nil); err == nil {
			t.Fatal("deleted product accepted")
		}
		if err := s.Restore(ctx, admin, store.EntityProduct, pids[1]); err != nil {
			t.Fatal(err)
		}
		if ps, _, _ := s.CatalogItems(ctx, cat.ID); !slices.Equal(ps, []int64{pids[0], pids[1]}) {
			t.Fatalf("restored product not back: %v", ps)
		}

		// A deleted catalog takes no new items but still shows what it holds.
		if err := s.Delete(ctx, admin, store.EntityCatalog, cat.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCatalogItems(ctx, admin, cat.ID, nil, nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("items of a deleted catalog: %v", err)
		}
		if ps, _, err := s.CatalogItems(ctx, cat.ID); err != nil || len(ps) != 2 {
			t.Fatalf("items of a deleted catalog: %v %v", err, ps)
		}
		if _, _, err := s.CatalogItems(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("items of a missing catalog: %v", err)
		}
	})
}

func TestListCatalogsPages(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		var ids []int64
		for _, name := range []string{"Г", "А", "В", "Б", "Д"} {
			c, err := s.CreateCatalog(ctx, admin, crm.Catalog{Name: name})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
		var got []int64
		cursor := ""
		for pages := 1; ; pages++ {
			cs, next, err := s.ListCatalogs(ctx, store.ListParams{Sort: "-name", Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				got = append(got, c.ID)
			}
			if next == "" {
				if pages != 3 {
					t.Fatalf("%d pages, want 3", pages)
				}
				break
			}
			cursor = next
		}
		if want := []int64{ids[4], ids[0], ids[2], ids[3], ids[1]}; !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
}
