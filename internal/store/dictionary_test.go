package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestPipelines(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		p, err := s.CreatePipeline(ctx, admin, crm.Pipeline{Name: " Опт ", Sort: 20, IsDefault: true})
		if err != nil {
			t.Fatal(err)
		}
		if p.ID != 1 || p.Name != "Опт" || p.IsDefault {
			t.Fatalf("pipeline: %+v", p)
		}
		stages, err := s.ListStatuses(ctx, "DEAL_STAGE_1")
		if err != nil {
			t.Fatal(err)
		}
		var codes, sems []string
		for _, st := range stages {
			codes = append(codes, st.StatusID)
			sems = append(sems, st.Semantics)
			if st.PipelineID == nil || *st.PipelineID != 1 || !st.System {
				t.Fatalf("stage %+v", st)
			}
		}
		if len(stages) != 3 || codes[0] != "C1:NEW" || codes[1] != "C1:WON" || codes[2] != "C1:LOSE" ||
			sems[0] != "" || sems[1] != "S" || sems[2] != "F" || stages[0].Name != "Новая" {
			t.Fatalf("stages %v %v", codes, sems)
		}

		won, err := s.CreateDeal(ctx, admin, crm.Deal{Title: "Опт: выиграна", CategoryID: 1, StageID: "C1:WON"})
		if err != nil {
			t.Fatal(err)
		}
		if !won.Closed || !won.Won {
			t.Fatalf("C1:WON deal: closed %v won %v", won.Closed, won.Won)
		}
		fresh, err := s.CreateDeal(ctx, admin, crm.Deal{Title: "Опт: новая", CategoryID: 1})
		if err != nil || fresh.StageID != "C1:NEW" || fresh.Closed {
			t.Fatalf("default stage: %v %+v", err, fresh)
		}
		if _, err := s.CreateDeal(ctx, admin, crm.Deal{Title: "x", CategoryID: 1, StageID: "WON"}); fieldOf(err) != "stage_id" {
			t.Fatalf("default pipeline's stage in pipeline 1: %v", err)
		}
		if err := s.DeletePipeline(ctx, admin, 1); fieldOf(err) != "id" {
			t.Fatalf("delete of a pipeline with deals: %v", err)
		}
		if err := s.DeletePipeline(ctx, admin, 0); fieldOf(err) != "id" {
			t.Fatalf("delete of the default pipeline: %v", err)
		}

		p2, err := s.CreatePipeline(ctx, admin, crm.Pipeline{Name: "Розница", Sort: 5})
		if err != nil || p2.ID != 2 {
			t.Fatalf("second pipeline: %v %+v", err, p2)
		}
		up, err := s.UpdatePipeline(ctx, admin, crm.Pipeline{ID: 2, Name: "Розница и сайт", Sort: 30})
		if err != nil || up.Name != "Розница и сайт" {
			t.Fatalf("update: %v %+v", err, up)
		}
		if _, err := s.UpdatePipeline(ctx, admin, crm.Pipeline{ID: 9, Name: "x"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of a missing pipeline: %v", err)
		}
		ps, err := s.ListPipelines(ctx)
		if err != nil || len(ps) != 3 || ps[0].ID != 0 || !ps[0].IsDefault || ps[1].ID != 1 || ps[2].Name != "Розница и сайт" {
			t.Fatalf("list: %v %+v", err, ps)
		}
		if err := s.DeletePipeline(ctx, admin, 2); err != nil {
			t.Fatal(err)
		}
		if left, _ := s.ListStatuses(ctx, "DEAL_STAGE_2"); len(left) != 0 {
			t.Fatalf("stages of a deleted pipeline left: %+v", left)
		}
		if err := s.DeletePipeline(ctx, admin, 2); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if _, err := s.CreatePipeline(ctx, admin, crm.Pipeline{Name: "  "}); fieldOf(err) != "name" {
			t.Fatalf("nameless pipeline: %v", err)
		}
	})
}

func TestStatuses(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		if _, err := s.CreatePipeline(ctx, admin, crm.Pipeline{Name: "Опт"}); err != nil {
			t.Fatal(err)
		}
		st, err := s.CreateStatus(ctx, admin, crm.Status{EntityID: "deal_stage_1", StatusID: "PROPOSAL", Name: "КП отправлено", Sort: 15})
		if err != nil {
			t.Fatal(err)
		}
		if st.ID == 0 || st.EntityID != "DEAL_STAGE_1" || st.StatusID != "C1:PROPOSAL" || st.PipelineID == nil || *st.PipelineID != 1 || st.System {
			t.Fatalf("stage: %+v", st)
		}
		stages, _ := s.ListStatuses(ctx, "DEAL_STAGE_1")
		if len(stages) != 4 || stages[1].StatusID != "C1:PROPOSAL" {
			t.Fatalf("stage not sorted in: %+v", stages)
		}
		all, err := s.ListStatuses(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(all); i++ {
			a, b := all[i-1], all[i]
			if a.EntityID > b.EntityID || (a.EntityID == b.EntityID && a.Sort > b.Sort) {
				t.Fatalf("all statuses out of order at %d: %+v %+v", i, a, b)
			}
		}

		for _, tc := range []struct {
			name  string
			st    crm.Status
			field string
		}{
			{"duplicate", crm.Status{EntityID: "DEAL_STAGE_1", StatusID: "C1:PROPOSAL", Name: "x"}, "status_id"},
			{"missing pipeline", crm.Status{EntityID: "DEAL_STAGE_7", StatusID: "X", Name: "x"}, "entity_id"},
			{"bad stage dictionary", crm.Status{EntityID: "DEAL_STAGE_X", StatusID: "X", Name: "x"}, "entity_id"},
			{"bad semantics", crm.Status{EntityID: "SOURCE", StatusID: "TV", Name: "ТВ", Semantics: "W"}, "semantics"},
			{"no name", crm.Status{EntityID: "SOURCE", StatusID: "TV"}, "name"},
		} {
			if _, err := s.CreateStatus(ctx, admin, tc.st); fieldOf(err) != tc.field {
				t.Errorf("%s: %v, want field %s", tc.name, err, tc.field)
			}
		}

		// A stage in use can be renamed but neither deleted nor turned into
		// a closing one.
		d, err := s.CreateDeal(ctx, admin, crm.Deal{Title: "КП", CategoryID: 1, StageID: "C1:PROPOSAL"})
		if err != nil || d.Closed {
			t.Fatalf("deal: %v %+v", err, d)
		}
		up, err := s.UpdateStatus(ctx, admin, crm.Status{ID: st.ID, Name: "Коммерческое предложение", Sort: 16})
		if err != nil || up.Name != "Коммерческое предложение" || up.Sort != 16 || up.StatusID != "C1:PROPOSAL" {
			t.Fatalf("rename: %v %+v", err, up)
		}
		if _, err := s.UpdateStatus(ctx, admin, crm.Status{ID: st.ID, Name: "x", Semantics: "S"}); fieldOf(err) != "semantics" {
			t.Fatalf("semantics of a stage in use changed: %v", err)
		}
		if err := s.DeleteStatus(ctx, admin, st.ID); fieldOf(err) != "status_id" {
			t.Fatalf("stage in use deleted: %v", err)
		}

		srcs, _ := s.ListStatuses(ctx, "SOURCE")
		byCode := map[string]crm.Status{}
		for _, x := range srcs {
			byCode[x.StatusID] = x
		}
		if _, err := s.UpdateDeal(ctx, admin, d.ID, func(x *crm.Deal) error { x.SourceID = "PARTNER"; return nil }); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteStatus(ctx, admin, byCode["PARTNER"].ID); fieldOf(err) != "status_id" {
			t.Fatalf("source in use deleted: %v", err)
		}
		// Even from the recycle bin the deal still holds it.
		if err := s.Delete(ctx, admin, store.EntityDeal, d.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteStatus(ctx, admin, byCode["PARTNER"].ID); fieldOf(err) != "status_id" {
			t.Fatalf("source used by a binned deal deleted: %v", err)
		}
		if err := s.DeleteStatus(ctx, admin, byCode["OTHER"].ID); err != nil {
			t.Fatalf("unused source: %v", err)
		}
		if _, err := s.GetStatus(ctx, byCode["OTHER"].ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted source still there: %v", err)
		}

		lead, _ := s.ListStatuses(ctx, "STATUS")
		for _, x := range lead {
			if x.StatusID == "CONVERTED" {
				if err := s.DeleteStatus(ctx, admin, x.ID); fieldOf(err) != "status_id" {
					t.Fatalf("system status deleted: %v", err)
				}
				if _, err := s.UpdateStatus(ctx, admin, crm.Status{ID: x.ID, Name: x.Name, Semantics: ""}); fieldOf(err) != "semantics" {
					t.Fatalf("system semantics changed: %v", err)
				}
			}
		}
		if err := s.DeleteStatus(ctx, admin, 99999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing status: %v", err)
		}
	})
}

func TestCurrencies(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		c, err := s.UpsertCurrency(ctx, admin, crm.Currency{Code: "kzt", Name: "Тенге", Active: true, Rate: "0.18750", Sort: 40})
		if err != nil || c.Code != "KZT" || c.Rate != "0.1875" {
			t.Fatalf("create: %v %+v", err, c)
		}
		got, err := s.GetCurrency(ctx, "KZT")
		if err != nil || got != c {
			t.Fatalf("read back: %v %+v", err, got)
		}
		if _, err := s.UpsertCurrency(ctx, admin, crm.Currency{Code: "USD", Name: "Доллар США", Active: true, Rate: "92,50", Sort: 20}); err != nil {
			t.Fatal(err)
		}
		if usd, _ := s.GetCurrency(ctx, "usd"); usd.Rate != "92.5" {
			t.Fatalf("USD rate %q", usd.Rate)
		}
		if rub, err := s.GetCurrency(ctx, "RUR"); err != nil || rub.Code != "RUB" || !rub.Base || rub.Rate != "1" {
			t.Fatalf("RUR alias: %v %+v", err, rub)
		}
		if _, err := s.GetCurrency(ctx, "XXX"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing currency: %v", err)
		}

		for _, tc := range []struct {
			name  string
			c     crm.Currency
			field string
		}{
			{"five decimals", crm.Currency{Code: "USD", Active: true, Rate: "92.12345"}, "rate"},
			{"zero rate", crm.Currency{Code: "USD", Active: true, Rate: "0"}, "rate"},
			{"no rate", crm.Currency{Code: "USD", Active: true}, "rate"},
			{"words", crm.Currency{Code: "USD", Active: true, Rate: "много"}, "rate"},
			{"bad code", crm.Currency{Code: "US", Active: true, Rate: "1"}, "code"},
			{"base with a rate", crm.Currency{Code: "USD", Active: true, Base: true, Rate: "92.5"}, "rate"},
			{"inactive base", crm.Currency{Code: "USD", Base: true}, "active"},
			{"base gives up", crm.Currency{Code: "RUB", Active: true, Rate: "1"}, "base"},
		} {
			if _, err := s.UpsertCurrency(ctx, admin, tc.c); fieldOf(err) != tc.field {
				t.Errorf("%s: %v, want field %s", tc.name, err, tc.field)
			}
		}

		// Only one base currency: a new base takes the role.
		if _, err := s.UpsertCurrency(ctx, admin, crm.Currency{Code: "EUR", Name: "Евро", Active: true, Base: true, Sort: 30}); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListCurrencies(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var bases []string
		for _, x := range list {
			if x.Base {
				bases = append(bases, x.Code)
			}
		}
		if len(list) != 4 || list[0].Code != "RUB" || list[3].Code != "KZT" || len(bases) != 1 || bases[0] != "EUR" {
			t.Fatalf("currencies %+v, bases %v", list, bases)
		}
		if eur, _ := s.GetCurrency(ctx, "EUR"); eur.Rate != "1" {
			t.Fatalf("base rate %q", eur.Rate)
		}
	})
}

func TestUnits(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		u, err := s.EnsureUnit(ctx, admin, " упак ")
		if err != nil || u.ID == 0 || u.Name != "упак" || u.Title != "упак" {
			t.Fatalf("ensure: %v %+v", err, u)
		}
		again, err := s.EnsureUnit(ctx, admin, "упак")
		if err != nil || again.ID != u.ID {
			t.Fatalf("ensure again: %v %+v", err, again)
		}
		seed, err := s.EnsureUnit(ctx, admin, "шт")
		if err != nil || seed.OKEI != "796" || seed.Title != "Штука" {
			t.Fatalf("seeded unit: %v %+v", err, seed)
		}
		if _, err := s.EnsureUnit(ctx, admin, ""); fieldOf(err) != "name" {
			t.Fatalf("empty unit: %v", err)
		}
		if _, err := s.CreateUnit(ctx, admin, crm.Unit{Name: "кг"}); fieldOf(err) != "name" {
			t.Fatalf("duplicate unit: %v", err)
		}
		if _, err := s.CreateUnit(ctx, admin, crm.Unit{Name: "т", OKEI: "tonne"}); fieldOf(err) != "okei" {
			t.Fatalf("bad OKEI: %v", err)
		}
		tn, err := s.CreateUnit(ctx, admin, crm.Unit{Name: "т", Title: "Тонна", OKEI: "168"})
		if err != nil {
			t.Fatal(err)
		}
		list, _ := s.ListUnits(ctx)
		if len(list) != 9 || list[8].ID != tn.ID || list[8].Title != "Тонна" {
			t.Fatalf("units %+v", list)
		}
		if err := s.DeleteUnit(ctx, admin, tn.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUnit(ctx, admin, tn.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
	})
}

func TestSettings(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		if v, err := s.GetSetting(ctx, "sales_order.prefix"); err != nil || v != "SO-" {
			t.Fatalf("seeded setting: %v %q", err, v)
		}
		if _, err := s.GetSetting(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing setting: %v", err)
		}
		for _, v := range []string{"ЗАК-", "Z-"} {
			if err := s.SetSetting(ctx, admin, "sales_order.prefix", v); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.GetSetting(ctx, "sales_order.prefix"); got != v {
				t.Fatalf("after set %q: %q", v, got)
			}
		}
		if err := s.SetSetting(ctx, admin, "site.name", "Обмен"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetSetting(ctx, "site.name"); got != "Обмен" {
			t.Fatalf("new setting: %q", got)
		}
		if err := s.SetSetting(ctx, admin, " ", "x"); fieldOf(err) != "key" {
			t.Fatalf("empty key: %v", err)
		}
	})
}
