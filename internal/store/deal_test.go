package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// dealTestRow inserts a bare record with plain SQL, so deal tests do not
// depend on the contact and account stores.
func dealTestRow(t *testing.T, s *store.Store, query string, args ...any) int64 {
	t.Helper()
	var id int64
	err := s.DB().Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, query, args...).Scan(&id)
	})
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	return id
}

func dealTestContact(t *testing.T, s *store.Store, name string) int64 {
	return dealTestRow(t, s, `INSERT INTO contacts (name, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
		VALUES ($1, 1, 1, 1, 1, 1) RETURNING id`, name)
}

func dealTestAccount(t *testing.T, s *store.Store, title string) int64 {
	return dealTestRow(t, s, `INSERT INTO accounts (title, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
		VALUES ($1, 1, 1, 1, 1, 1) RETURNING id`, title)
}

func TestDealLifecycle(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		acc := dealTestAccount(t, s, "ООО Ромашка")
		c1 := dealTestContact(t, s, "Иван")
		c2 := dealTestContact(t, s, "Мария")
		vat := crm.Amount(2000)
		d, err := s.CreateDeal(ctx, admin, crm.Deal{
			Title: " Поставка баннеров ", AccountID: acc, ContactIDs: []int64{c2, c1}, SourceID: "WEB",
			UTM: crm.UTM{UTMSource: "yandex", UTMCampaign: "spring"}, BeginDate: "2025-03-01",
			Closed: true, Won: true, Opportunity: 1, // derived: ignored
			ProductRows: []crm.LineItem{
				{Name: "Баннер", Price: 150050, Quantity: 2500, Unit: "м2", VATRate: &vat, VATIncluded: true},
				{Name: "Монтаж", Price: 500000, Quantity: 1000, DiscountRate: 1000},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		// 1500.50 × 2.5 = 3751.25; 5000 − 10% = 4500.00
		if d.ID == 0 || d.Title != "Поставка баннеров" || d.StageID != "NEW" || d.Closed || d.Won || d.Opportunity != 825125 {
			t.Fatalf("unexpected deal: %+v", d)
		}
		got, err := s.GetDeal(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.ContactIDs, []int64{c2, c1}) || got.AccountID != acc || len(got.ProductRows) != 2 ||
			got.ProductRows[0].Tax != 62521 || got.ProductRows[1].Discount != 50000 || got.ProductRows[1].Sum != 450000 ||
			got.Opportunity != 825125 || got.UTMCampaign != "spring" || got.BeginDate != "2025-03-01" || got.CreatedByID != admin.UserID {
			t.Fatalf("read back differs: %+v", got)
		}

		for _, tc := range []struct {
			stage       string
			closed, won bool
		}{
			{"EXECUTING", false, false},
			{"WON", true, true},
			{"LOSE", true, false},
			{"PREPARATION", false, false},
		} {
			up, err := s.UpdateDeal(ctx, admin, d.ID, func(x *crm.Deal) error {
				x.StageID = tc.stage
				x.Closed, x.Won = !tc.closed, !tc.won // whatever is sent is ignored
				return nil
			})
			if err != nil {
				t.Fatalf("stage %s: %v", tc.stage, err)
			}
			back, _ := s.GetDeal(ctx, d.ID)
			if up.Closed != tc.closed || up.Won != tc.won || back.Closed != tc.closed || back.Won != tc.won {
				t.Fatalf("stage %s: closed/won %v/%v, stored %v/%v", tc.stage, up.Closed, up.Won, back.Closed, back.Won)
			}
		}
		if ds, _, err := s.ListDeals(ctx, store.ListParams{Filters: []store.Filter{{Field: "closed", Value: "false"}, {Field: "stage_id", Value: "PREPARATION"}}}); err != nil || len(ds) != 1 {
			t.Fatalf("filter closed=false: %v %d", err, len(ds))
		}

		for _, tc := range []struct {
			name   string
			mutate func(*crm.Deal)
			field  string
		}{
			{"stage of another pipeline", func(x *crm.Deal) { x.StageID = "C1:NEW" }, "stage_id"},
			{"unknown stage", func(x *crm.Deal) { x.StageID = "NOPE" }, "stage_id"},
			{"unknown pipeline", func(x *crm.Deal) { x.CategoryID, x.StageID = 7, "" }, "category_id"},
			{"unknown source", func(x *crm.Deal) { x.SourceID = "TV" }, "source_id"},
			{"inactive currency", func(x *crm.Deal) { x.Currency = "JPY" }, "currency"},
			{"unknown account", func(x *crm.Deal) { x.AccountID = 999 }, "account_id"},
			{"unknown contact", func(x *crm.Deal) { x.ContactIDs = []int64{c1, 999} }, "contact_ids[1]"},
			{"repeated contact", func(x *crm.Deal) { x.ContactIDs = []int64{c1, c1} }, "contact_ids"},
			{"unknown product", func(x *crm.Deal) { x.ProductRows[1].ProductID = 999 }, "product_rows[1].product_id"},
			{"bad date", func(x *crm.Deal) { x.CloseDate = "31.12.2025" }, "close_date"},
			{"no title", func(x *crm.Deal) { x.Title = " " }, "title"},
		} {
			_, err := s.UpdateDeal(ctx, admin, d.ID, func(x *crm.Deal) error { tc.mutate(x); return nil })
			if f := fieldOf(err); f != tc.field {
				t.Errorf("%s: field %q, want %q", tc.name, f, tc.field)
			}
		}
		if _, err := s.CreateDeal(ctx, admin, crm.Deal{Title: "x", StageID: "C1:WON"}); fieldOf(err) != "stage_id" {
			t.Fatalf("create with another pipeline's stage: %v", err)
		}

		// A contact in the recycle bin drops out of contact_ids; the link
		// survives an update of the deal and comes back on restore.
		if err := s.Delete(ctx, admin, store.EntityContact, c2); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetDeal(ctx, d.ID)
		if !slices.Equal(got.ContactIDs, []int64{c1}) {
			t.Fatalf("deleted contact still listed: %v", got.ContactIDs)
		}
		c3 := dealTestContact(t, s, "Пётр")
		if _, err := s.UpdateDeal(ctx, admin, d.ID, func(x *crm.Deal) error {
			x.ContactIDs = append(x.ContactIDs, c3)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.Restore(ctx, admin, store.EntityContact, c2); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetDeal(ctx, d.ID)
		if !slices.Contains(got.ContactIDs, c2) || !slices.Contains(got.ContactIDs, c1) || !slices.Contains(got.ContactIDs, c3) || len(got.ContactIDs) != 3 {
			t.Fatalf("restored contact's link lost: %v", got.ContactIDs)
		}
		// A deal whose account is in the recycle bin can still be edited.
		if err := s.Delete(ctx, admin, store.EntityAccount, acc); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateDeal(ctx, admin, d.ID, func(x *crm.Deal) error { x.Comments = "ok"; return nil }); err != nil {
			t.Fatalf("update with binned account: %v", err)
		}

		if err := s.Delete(ctx, admin, store.EntityDeal, d.ID); err != nil {
			t.Fatal(err)
		}
		if ds, _, _ := s.ListDeals(ctx, store.ListParams{}); len(ds) != 0 {
			t.Fatalf("deleted deal still listed")
		}
		if ds, _, _ := s.ListDeals(ctx, store.ListParams{Deleted: true}); len(ds) != 1 {
			t.Fatalf("deleted deal not in the bin")
		}
		if _, err := s.UpdateDeal(ctx, admin, d.ID, func(x *crm.Deal) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of deleted deal: %v", err)
		}
		if err := s.Restore(ctx, admin, store.EntityDeal, d.ID); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetDeal(ctx, d.ID)
		if got.DeletedAt != nil || len(got.ProductRows) != 2 || len(got.ContactIDs) != 3 {
			t.Fatalf("restore lost data: %+v", got)
		}

		evs, err := s.Events(ctx, events.Query{Entity: store.EntityDeal, RecordID: d.ID})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range evs {
			actions = append(actions, e.Action)
		}
		want := []string{"create", "update", "update", "update", "update", "update", "update", "delete", "restore"}
		if !slices.Equal(actions, want) {
			t.Fatalf("events: %v, want %v", actions, want)
		}
		if ch := evs[0].Changes["contact_ids"]; string(ch.New) != fmt.Sprintf("[%d,%d]", c2, c1) {
			t.Fatalf("create event contact_ids: %s", ch.New)
		}
		won := evs[2].Changes // EXECUTING → WON
		if string(won["stage_id"].Old) != `"EXECUTING"` || string(won["stage_id"].New) != `"WON"` ||
			string(won["closed"].Old) != "false" || string(won["closed"].New) != "true" ||
			string(won["won"].New) != "true" || len(won) != 3 {
			t.Fatalf("stage change event: %+v", won)
		}
	})
}

func TestDealListPages(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		// Two deals share an amount, so the id breaks the tie.
		amounts := []crm.Amount{50000, 1250075, 300000, 300000, 999, 700000}
		ids := map[crm.Amount][]int64{}
		for i, a := range amounts {
			stage := "NEW"
			if i%2 == 1 {
				stage = "WON"
			}
			d, err := s.CreateDeal(ctx, admin, crm.Deal{Title: fmt.Sprintf("Сделка %d", i), Opportunity: a, StageID: stage,
				UTM: crm.UTM{UTMSource: "vk"}, CloseDate: fmt.Sprintf("2025-01-%02d", i+1)})
			if err != nil {
				t.Fatal(err)
			}
			ids[a] = append(ids[a], d.ID)
		}
		want := []int64{ids[1250075][0], ids[700000][0], ids[300000][1], ids[300000][0], ids[50000][0], ids[999][0]}
		var seen []int64
		cur, pages := "", 0
		for {
			ds, next, err := s.ListDeals(ctx, store.ListParams{Sort: "-opportunity", Limit: 4, Cursor: cur})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, d := range ds {
				seen = append(seen, d.ID)
			}
			if next == "" {
				break
			}
			cur = next
		}
		if pages != 2 || !slices.Equal(seen, want) {
			t.Fatalf("pages %d, order %v, want %v", pages, seen, want)
		}

		for _, tc := range []struct {
			name    string
			filters []store.Filter
			sort    string
			want    []int64
		}{
			{"won", []store.Filter{{Field: "won", Value: "true"}}, "opportunity",
				[]int64{ids[300000][1], ids[700000][0], ids[1250075][0]}},
			{"amount range", []store.Filter{{Field: "opportunity", Op: "gte", Value: "500"}, {Field: "opportunity", Op: "lt", Value: "7000.00"}}, "-id",
				[]int64{ids[300000][1], ids[300000][0], ids[50000][0]}},
			{"close date", []store.Filter{{Field: "close_date", Op: "gt", Value: "2025-01-04"}}, "-close_date",
				[]int64{ids[700000][0], ids[999][0]}},
			{"utm and stage", []store.Filter{{Field: "utm_source", Value: "vk"}, {Field: "stage_id", Op: "in", Value: "NEW, LOSE"}}, "",
				[]int64{ids[50000][0], ids[300000][0], ids[999][0]}},
		} {
			ds, _, err := s.ListDeals(ctx, store.ListParams{Filters: tc.filters, Sort: tc.sort})
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var got []int64
			for _, d := range ds {
				got = append(got, d.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
		if _, _, err := s.ListDeals(ctx, store.ListParams{Filters: []store.Filter{{Field: "won", Value: "maybe"}}}); fieldOf(err) != "won" {
			t.Fatalf("bad bool filter: %v", err)
		}
	})
}
