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

func TestAccountLifecycle(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		a, err := s.CreateAccount(ctx, admin, crm.Account{
			Title: " ПАО Сбербанк ", FullName: "Публичное акционерное общество «Сбербанк России»",
			INN: "7707083893", KPP: "773601001", OGRN: "1027700132195", Industry: "BANKING",
			Comms:        crm.Comms{Phones: []crm.Comm{{Value: "+7 (495) 500-55-50"}}, Webs: []crm.Comm{{Value: "sberbank.ru"}}},
			LegalAddress: crm.Address{Postcode: "117312", City: "Москва", Street: "ул. Вавилова", House: "19"},
			SourceID:     "PARTNER",
			// Requisites are not written by CreateAccount.
			Requisites: []crm.Requisite{{Name: "ignored"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if a.ID == 0 || a.Title != "ПАО Сбербанк" || a.Kind != crm.AccountLegal || len(a.Requisites) != 0 || a.Phones[0].Normalized != "+74955005550" {
			t.Fatalf("unexpected account: %+v", a)
		}
		got, err := s.GetAccount(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.INN != "7707083893" || got.KPP != "773601001" || got.OGRN != "1027700132195" || got.LegalAddress.House != "19" ||
			got.Webs[0].Value != "sberbank.ru" || got.SourceID != "PARTNER" || got.Requisites == nil || len(got.Requisites) != 0 {
			t.Fatalf("read back differs: %+v", got)
		}
		for _, p := range []store.ListParams{
			{INN: "7707083893"}, {INN: " 7707083893 "}, {Q: "770708"}, {Q: "сбербанк"}, {Phone: "8 495 500-55-50"},
		} {
			as, _, err := s.ListAccounts(ctx, p)
			if err != nil || len(as) != 1 || as[0].ID != a.ID {
				t.Fatalf("find by %+v: %v %d", p, err, len(as))
			}
		}
		if as, _, err := s.ListAccounts(ctx, store.ListParams{INN: "7736207543"}); err != nil || len(as) != 0 {
			t.Fatalf("other INN found %d accounts: %v", len(as), err)
		}

		up, err := s.UpdateAccount(ctx, admin, a.ID, func(x *crm.Account) error {
			x.Title = "Сбербанк"
			x.Requisites = []crm.Requisite{{Name: "also ignored"}}
			return nil
		})
		if err != nil || up.Title != "Сбербанк" || len(up.Requisites) != 0 {
			t.Fatalf("update: %v %+v", err, up)
		}
		evs, err := s.Events(ctx, events.Query{Entity: store.EntityAccount, RecordID: a.ID})
		if err != nil || len(evs) != 2 {
			t.Fatalf("events: %v %+v", err, evs)
		}
		if ch := evs[1].Changes; len(ch) != 1 || string(ch["title"].Old) != `"ПАО Сбербанк"` || string(ch["title"].New) != `"Сбербанк"` {
			t.Fatalf("update changes: %+v", ch)
		}
		if got, _ := s.GetAccount(ctx, a.ID); got.Title != "Сбербанк" || got.UpdatedAt.Before(got.CreatedAt) {
			t.Fatalf("update not stored: %+v", got)
		}

		if err := s.Delete(ctx, admin, store.EntityAccount, a.ID); err != nil {
			t.Fatal(err)
		}
		if as, _, _ := s.ListAccounts(ctx, store.ListParams{INN: "7707083893"}); len(as) != 0 {
			t.Fatal("deleted account still found by INN")
		}
		if _, err := s.UpdateAccount(ctx, admin, a.ID, func(x *crm.Account) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of deleted account: %v", err)
		}
		if _, err := s.CreateRequisite(ctx, admin, a.ID, crm.Requisite{Name: "x"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("requisite on deleted account: %v", err)
		}
		if err := s.Restore(ctx, admin, store.EntityAccount, a.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetAccount(ctx, a.ID); got.DeletedAt != nil || len(got.Phones) != 1 {
			t.Fatalf("restore lost data: %+v", got)
		}
	})
}

func TestAccountValidation(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		for _, tc := range []struct {
			name  string
			a     crm.Account
			field string
		}{
			{"no title", crm.Account{INN: "7707083893"}, "title"},
			{"INN checksum", crm.Account{Title: "Рога и копыта", INN: "7707083894"}, "inn"},
			{"INN length", crm.Account{Title: "Рога и копыта", INN: "77070838"}, "inn"},
			{"INN letters", crm.Account{Title: "Рога и копыта", INN: "77070838AB"}, "inn"},
			{"KPP length", crm.Account{Title: "Рога и копыта", KPP: "7736010"}, "kpp"},
			{"OGRN length", crm.Account{Title: "Рога и копыта", OGRN: "10277001321"}, "ogrn"},
			{"kind", crm.Account{Title: "Рога и копыта", Kind: "corp"}, "kind"},
			{"source", crm.Account{Title: "Рога и копыта", SourceID: "NOPE"}, "source_id"},
			{"user", crm.Account{Title: "Рога и копыта", Meta: crm.Meta{AssignedByID: 999}}, "assigned_by_id"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.CreateAccount(ctx, admin, tc.a)
				if fe, ok := crm.AsFieldError(err); !ok || fe.Field != tc.field {
					t.Fatalf("got %v, want an error on %s", err, tc.field)
				}
			})
		}
		if as, _, _ := s.ListAccounts(ctx, store.ListParams{}); len(as) != 0 {
			t.Fatalf("invalid accounts were stored: %d", len(as))
		}
		ip, err := s.CreateAccount(ctx, admin, crm.Account{Title: "ИП Петров", Kind: crm.AccountIP, INN: "500100732259"})
		if err != nil {
			t.Fatalf("12-digit INN: %v", err)
		}
		_, err = s.UpdateAccount(ctx, admin, ip.ID, func(x *crm.Account) error { x.INN = "500100732250"; return nil })
		if fe, ok := crm.AsFieldError(err); !ok || fe.Field != "inn" {
			t.Fatalf("update with bad INN: %v", err)
		}
	})
}

func TestAccountRequisites(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		a := mustAccount(t, s, admin, "Сбербанк")
		r1, err := s.CreateRequisite(ctx, admin, a.ID, crm.Requisite{
			Name: " Основные ", INN: "7707083893", KPP: "773601001", OGRN: "1027700132195",
			Address: crm.Address{City: "Москва"},
			BankDetails: []crm.BankDetail{
				{Name: "Расчётный", BIK: "044525225", Bank: "ПАО Сбербанк", Account: "40702810938000000001", CorrAccount: "30101810400000000225"},
				{Name: "Валютный", BIK: "044525225", Account: "40702840938000000002"},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if r1.ID == 0 || r1.AccountID != a.ID || r1.Name != "Основные" || len(r1.BankDetails) != 2 || r1.BankDetails[0].ID == 0 {
			t.Fatalf("unexpected requisite: %+v", r1)
		}
		r2, err := s.CreateRequisite(ctx, admin, a.ID, crm.Requisite{Name: "Филиал", INN: "7707083893", KPP: "775001001"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.GetAccount(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Requisites) != 2 || got.Requisites[0].ID != r1.ID || got.Requisites[1].ID != r2.ID {
			t.Fatalf("requisites: %+v", got.Requisites)
		}
		def := got.Requisites[0]
		if def.Address.City != "Москва" || len(def.BankDetails) != 2 || def.BankDetails[0].Name != "Расчётный" ||
			def.BankDetails[1].Name != "Валютный" || def.BankDetails[0].CorrAccount != "30101810400000000225" {
			t.Fatalf("default requisite read back: %+v", def)
		}
		if got.Requisites[1].BankDetails == nil || len(got.Requisites[1].BankDetails) != 0 {
			t.Fatalf("requisite without bank details: %+v", got.Requisites[1])
		}
		as, _, err := s.ListAccounts(ctx, store.ListParams{})
		if err != nil || len(as) != 1 || len(as[0].Requisites) != 2 || as[0].Requisites[0].ID != r1.ID {
			t.Fatalf("list with requisites: %v %+v", err, as)
		}

		// An account update keeps the requisites as stored.
		up, err := s.UpdateAccount(ctx, admin, a.ID, func(x *crm.Account) error {
			x.Comments = "ключевой клиент"
			x.Requisites = x.Requisites[1:]
			return nil
		})
		if err != nil || len(up.Requisites) != 2 || up.Requisites[0].ID != r1.ID {
			t.Fatalf("update touched requisites: %v %+v", err, up.Requisites)
		}
		if got, _ := s.GetAccount(ctx, a.ID); len(got.Requisites) != 2 {
			t.Fatalf("update dropped requisites: %+v", got.Requisites)
		}

		// Update: the first bank detail keeps its id, the second goes, a
		// new one comes.
		keep := r1.BankDetails[0]
		keep.Bank = "Сбербанк России"
		r1u, err := s.UpdateRequisite(ctx, admin, r1.ID, crm.Requisite{
			Name: "Основные", INN: "7707083893", KPP: "773601001",
			BankDetails: []crm.BankDetail{keep, {Name: "Новый", BIK: "044525974", Account: "40702810000000000003"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if r1u.AccountID != a.ID || r1u.OGRN != "" || len(r1u.BankDetails) != 2 || r1u.BankDetails[0].ID != keep.ID ||
			r1u.BankDetails[0].Bank != "Сбербанк России" || r1u.BankDetails[1].Name != "Новый" || r1u.BankDetails[1].ID == r1.BankDetails[1].ID {
			t.Fatalf("updated requisite: %+v", r1u)
		}
		list, err := s.ListRequisites(ctx, a.ID)
		if err != nil || len(list) != 2 || list[0].OGRN != "" || len(list[0].BankDetails) != 2 || list[0].BankDetails[1].Name != "Новый" {
			t.Fatalf("list after update: %v %+v", err, list)
		}

		if err := s.DeleteRequisite(ctx, admin, r1.ID); err != nil {
			t.Fatal(err)
		}
		list, err = s.ListRequisites(ctx, a.ID)
		if err != nil || len(list) != 1 || list[0].ID != r2.ID {
			t.Fatalf("list after delete: %v %+v", err, list)
		}
		if err := s.DeleteRequisite(ctx, admin, r1.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if _, err := s.UpdateRequisite(ctx, admin, r1.ID, crm.Requisite{Name: "x"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of deleted requisite: %v", err)
		}
		if _, err := s.ListRequisites(ctx, a.ID+100); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("requisites of missing account: %v", err)
		}

		// Each requisite write is an update of the account naming
		// "requisites"; the account update above changed only comments.
		evs, err := s.Events(ctx, events.Query{Entity: store.EntityAccount, RecordID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		var fields [][]string
		for _, e := range evs[1:] {
			if e.Action != events.Update {
				t.Fatalf("event %d action %s", e.ID, e.Action)
			}
			var names []string
			for k := range e.Changes {
				names = append(names, k)
			}
			slices.Sort(names)
			fields = append(fields, names)
		}
		want := [][]string{{"requisites"}, {"requisites"}, {"comments"}, {"requisites"}, {"requisites"}}
		if !slices.EqualFunc(fields, want, slices.Equal[[]string]) {
			t.Fatalf("event fields %v, want %v", fields, want)
		}
		var before, after []crm.Requisite
		last := evs[len(evs)-1].Changes["requisites"]
		if err := json.Unmarshal(last.Old, &before); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(last.New, &after); err != nil {
			t.Fatal(err)
		}
		if len(before) != 2 || before[0].ID != r1.ID || len(before[0].BankDetails) != 2 || len(after) != 1 || after[0].ID != r2.ID {
			t.Fatalf("delete event lists: old %+v new %+v", before, after)
		}
		var firstNew []crm.Requisite
		if err := json.Unmarshal(evs[1].Changes["requisites"].New, &firstNew); err != nil || len(firstNew) != 1 ||
			string(evs[1].Changes["requisites"].Old) != "[]" {
			t.Fatalf("create event: %v %s", err, evs[1].Changes["requisites"].Old)
		}
	})
}

func TestRequisiteValidation(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		a := mustAccount(t, s, admin, "Ромашка")
		for _, tc := range []struct {
			name  string
			r     crm.Requisite
			field string
		}{
			{"INN checksum", crm.Requisite{INN: "7707083894"}, "inn"},
			{"KPP", crm.Requisite{KPP: "77360100X"}, "kpp"},
			{"OGRN", crm.Requisite{OGRN: "102770013219"}, "ogrn"},
			{"BIK", crm.Requisite{BankDetails: []crm.BankDetail{{BIK: "04452522"}}}, "bank_details[0].bik"},
			{"account", crm.Requisite{BankDetails: []crm.BankDetail{{BIK: "044525225"}, {Account: "4070281093800000000"}}}, "bank_details[1].account"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.CreateRequisite(ctx, admin, a.ID, tc.r)
				if fe, ok := crm.AsFieldError(err); !ok || fe.Field != tc.field {
					t.Fatalf("got %v, want an error on %s", err, tc.field)
				}
			})
		}
		if list, err := s.ListRequisites(ctx, a.ID); err != nil || len(list) != 0 {
			t.Fatalf("invalid requisites were stored: %v %d", err, len(list))
		}
		if _, err := s.CreateRequisite(ctx, admin, a.ID+100, crm.Requisite{Name: "x"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("requisite of missing account: %v", err)
		}
	})
}

func TestAccountList(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		for _, a := range []crm.Account{
			{Title: "Гамма", Kind: crm.AccountLegal},
			{Title: "Альфа", Kind: crm.AccountLegal},
			{Title: "ИП Дельта", Kind: crm.AccountIP},
			{Title: "Бета", Kind: crm.AccountLegal},
			{Title: "Вега", Kind: crm.AccountLegal},
		} {
			if _, err := s.CreateAccount(ctx, admin, a); err != nil {
				t.Fatal(err)
			}
		}
		p := store.ListParams{Filters: []store.Filter{{Field: "kind", Value: "legal"}}, Sort: "title", Limit: 3}
		var titles []string
		for pages := 0; ; pages++ {
			if pages > 3 {
				t.Fatal("cursor does not advance")
			}
			as, next, err := s.ListAccounts(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range as {
				titles = append(titles, a.Title)
			}
			if next == "" {
				if pages != 1 {
					t.Fatalf("%d pages, want 2", pages+1)
				}
				break
			}
			p.Cursor = next
		}
		if want := []string{"Альфа", "Бета", "Вега", "Гамма"}; !slices.Equal(titles, want) {
			t.Fatalf("got %v, want %v", titles, want)
		}
		as, _, err := s.ListAccounts(ctx, store.ListParams{Filters: []store.Filter{{Field: "title", Op: "like", Value: "Дельт"}}})
		if err != nil || len(as) != 1 || as[0].Kind != crm.AccountIP {
			t.Fatalf("like filter: %v %+v", err, as)
		}
	})
}
