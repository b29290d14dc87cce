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

func TestContactRequisitesAndBankDetails(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		c, err := s.CreateContact(ctx, admin, crm.Contact{Name: "Иван", LastName: "Петров"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.AddRequisite(ctx, admin, crm.Requisite{
			ContactID: c.ID, PresetID: crm.PresetIP, Name: "ИП Петров", INN: "500100732259", OGRNIP: "304500116000157",
			FirstName: "Иван", LastName: "Петров", SecondName: "Сергеевич", XMLID: "1c-42",
		})
		if err != nil {
			t.Fatal(err)
		}
		if r.ID == 0 || r.ContactID != c.ID || r.AccountID != 0 || r.PresetID != crm.PresetIP || r.Sort != 500 || r.Inactive ||
			r.CreatedByID != admin.UserID || r.CreatedAt.IsZero() || r.UpdatedAt != r.CreatedAt {
			t.Fatalf("contact requisite: %+v", r)
		}
		list, err := s.RequisitesOf(ctx, store.EntityContact, c.ID)
		if err != nil || len(list) != 1 || list[0].OGRNIP != "304500116000157" || list[0].XMLID != "1c-42" {
			t.Fatalf("requisites of contact: %v %+v", err, list)
		}

		// Bank details one by one.
		b, err := s.AddBankDetail(ctx, admin, r.ID, crm.BankDetail{Name: "Основной", BIK: "044525225", Account: "40802810938000000001",
			CorrAccount: "30101810400000000225", Bank: "ПАО Сбербанк", BankAddress: "Москва, ул. Вавилова, 19", Currency: "rub"})
		if err != nil {
			t.Fatal(err)
		}
		if b.ID == 0 || b.Currency != "RUB" || b.Sort != 500 || b.CreatedByID != admin.UserID {
			t.Fatalf("bank detail: %+v", b)
		}
		if _, err := s.AddBankDetail(ctx, admin, r.ID, crm.BankDetail{Name: "x", BIK: "12345"}); !isField(err, "bik") {
			t.Fatalf("bad BIK: %v", err)
		}
		if _, err := s.AddBankDetail(ctx, admin, r.ID, crm.BankDetail{Name: "x", Account: "4080281093800000000X"}); !isField(err, "account") {
			t.Fatalf("bad account: %v", err)
		}
		b2, err := s.ChangeBankDetail(ctx, admin, b.ID, func(x *crm.BankDetail) error { x.Comments = "для платежей"; return nil })
		if err != nil || b2.Comments != "для платежей" || b2.ID != b.ID || b2.CreatedAt != b.CreatedAt || b2.Bank != "ПАО Сбербанк" {
			t.Fatalf("changed bank detail: %v %+v", err, b2)
		}
		if _, err := s.ChangeBankDetail(ctx, admin, b.ID, func(x *crm.BankDetail) error { x.CorrAccount = "301"; return nil }); !isField(err, "corr_account") {
			t.Fatalf("bad corr account: %v", err)
		}
		got, rid, err := s.GetBankDetail(ctx, b.ID)
		if err != nil || rid != r.ID || got.Comments != "для платежей" {
			t.Fatalf("get bank detail: %v %d %+v", err, rid, got)
		}

		// A partial change of the requisite keeps its bank details.
		r2, err := s.ChangeRequisite(ctx, admin, r.ID, func(x *crm.Requisite) error { x.Director = "Петров И. С."; x.ContactID = 999; return nil })
		if err != nil || r2.Director != "Петров И. С." || r2.ContactID != c.ID || len(r2.BankDetails) != 1 || r2.BankDetails[0].ID != b.ID {
			t.Fatalf("changed requisite: %v %+v", err, r2)
		}
		if _, err := s.ChangeRequisite(ctx, admin, r.ID, func(x *crm.Requisite) error { x.KPP = "12"; return nil }); !isField(err, "kpp") {
			t.Fatalf("bad KPP: %v", err)
		}
		if _, err := s.ChangeRequisite(ctx, admin, r.ID, func(x *crm.Requisite) error { x.PresetID = 9; return nil }); !isField(err, "preset_id") {
			t.Fatalf("bad preset: %v", err)
		}

		if err := s.DeleteBankDetail(ctx, admin, b.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.GetBankDetail(ctx, b.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted bank detail: %v", err)
		}
		if err := s.DeleteBankDetail(ctx, admin, b.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete of bank detail: %v", err)
		}

		// Deleting a requisite deletes its bank details.
		b3, err := s.AddBankDetail(ctx, admin, r.ID, crm.BankDetail{Name: "Второй", BIK: "044525974"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRequisite(ctx, admin, r.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.GetBankDetail(ctx, b3.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("bank detail of deleted requisite: %v", err)
		}

		// Every write was an update of the contact naming "requisites";
		// the refused ones wrote nothing.
		evs, err := s.Events(ctx, events.Query{Entity: store.EntityContact, RecordID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		for _, ev := range evs {
			if _, ok := ev.Changes["requisites"]; ok && ev.Action == events.Update {
				n++
			}
		}
		if n != 7 { // add, bank add, bank change, requisite change, bank delete, bank add, delete
			t.Fatalf("%d requisite events on the contact, want 7: %+v", n, evs)
		}
	})
}

func TestRequisiteOwnerAndValidation(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		a := mustAccount(t, s, admin, "Ромашка")
		c, err := s.CreateContact(ctx, admin, crm.Contact{Name: "Анна"})
		if err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]crm.Requisite{
			"no owner":   {Name: "x"},
			"two owners": {AccountID: a.ID, ContactID: c.ID},
		} {
			if _, err := s.AddRequisite(ctx, admin, r); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
		if _, err := s.AddRequisite(ctx, admin, crm.Requisite{ContactID: c.ID + 100}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing contact: %v", err)
		}
		for field, r := range map[string]crm.Requisite{
			"inn":                 {INN: "7707083894"},
			"ogrn":                {OGRN: "102770013219"},
			"ogrnip":              {OGRNIP: "3045001160001"},
			"okpo":                {OKPO: "123"},
			"bank_details[0].bik": {BankDetails: []crm.BankDetail{{BIK: "04452522"}}},
		} {
			r.AccountID = a.ID
			if _, err := s.AddRequisite(ctx, admin, r); !isField(err, field) {
				t.Errorf("%s: %v", field, err)
			}
		}
		if err := s.Delete(ctx, admin, store.EntityContact, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddRequisite(ctx, admin, crm.Requisite{ContactID: c.ID}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("requisite on deleted contact: %v", err)
		}
	})
}

// TestFindByRequisiteINN: an account whose own INN is empty is found by
// the INN of its requisite, and so is a contact.
func TestFindByRequisiteINN(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		a := mustAccount(t, s, admin, "Без ИНН")
		other := mustAccount(t, s, admin, "Другая")
		if _, err := s.CreateRequisite(ctx, admin, a.ID, crm.Requisite{Name: "Основные", INN: "7707083893"}); err != nil {
			t.Fatal(err)
		}
		c, err := s.CreateContact(ctx, admin, crm.Contact{Name: "Пётр"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddRequisite(ctx, admin, crm.Requisite{ContactID: c.ID, PresetID: crm.PresetPerson, INN: "500100732259"}); err != nil {
			t.Fatal(err)
		}
		as, _, err := s.ListAccounts(ctx, store.ListParams{INN: " 7707083893 "})
		if err != nil || len(as) != 1 || as[0].ID != a.ID {
			t.Fatalf("accounts by requisite INN: %v %+v", err, as)
		}
		as, _, err = s.ListAccounts(ctx, store.ListParams{Q: "7707083893"})
		if err != nil || len(as) != 1 || as[0].ID != a.ID {
			t.Fatalf("accounts by q=INN: %v %+v", err, as)
		}
		if _, err := s.UpdateAccount(ctx, admin, other.ID, func(x *crm.Account) error { x.INN = "7707083893"; return nil }); err != nil {
			t.Fatal(err)
		}
		as, _, err = s.ListAccounts(ctx, store.ListParams{INN: "7707083893"})
		if err != nil || len(as) != 2 {
			t.Fatalf("accounts by own and requisite INN: %v %+v", err, as)
		}
		cs, _, err := s.ListContacts(ctx, store.ListParams{INN: "500100732259"})
		if err != nil || len(cs) != 1 || cs[0].ID != c.ID {
			t.Fatalf("contacts by requisite INN: %v %+v", err, cs)
		}
		cs, _, err = s.ListContacts(ctx, store.ListParams{INN: "7707083893"})
		if err != nil || len(cs) != 0 {
			t.Fatalf("contacts by an account's INN: %v %+v", err, cs)
		}
	})
}

func isField(err error, field string) bool {
	fe, ok := crm.AsFieldError(err)
	return ok && fe.Field == field
}
