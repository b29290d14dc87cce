package store_test

import (
	"context"
	"testing"

	"github.com/obmen/obmen/internal/address"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestAddressesMatchedOnWrite: an address written without a ФИАС id —
// through the API's create, a CSV import, a lead, an update — gets the
// ids (and an empty postcode) of the one house, street or city of the
// imported base its text names; the text stays as given. No unique match
// leaves it alone, an update that does not touch an address does not
// rewrite it, and before anything is imported nothing is looked up.
func TestAddressesMatchedOnWrite(t *testing.T) {
	const (
		house  = "000006a8-0000-4000-8000-0000000006a8"
		street = "00000642-0000-4000-8000-000000000642" // Казань's id: the street is unknown
	)
	kazan := crm.Address{City: "Казань", Street: "улица Карла Маркса", House: "10", Flat: "5"}
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		before, err := s.CreateAccount(ctx, admin, crm.Account{Title: "До импорта", LegalAddress: kazan})
		if err != nil {
			t.Fatal(err)
		}
		if before.LegalAddress.FIASID != "" {
			t.Fatalf("matched with nothing imported: %+v", before.LegalAddress)
		}
		if _, err := (&address.Importer{DB: s.DB()}).Import(ctx, "../address/testdata/gar"); err != nil {
			t.Fatal(err)
		}

		a, err := s.CreateAccount(ctx, admin, crm.Account{Title: "Набрано", LegalAddress: kazan,
			ActualAddress: crm.Address{City: "Казань", Street: "Несуществующая"}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.GetAccount(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		la, aa := got.LegalAddress, got.ActualAddress
		if la.FIASID != house || la.Postcode != "420015" || la.Street != kazan.Street || la.House != "10" || la.Flat != "5" {
			t.Fatalf("legal address: %+v", la)
		}
		if aa.FIASID != street || aa.KLADR != "1600000100000" || aa.Street != "Несуществующая" {
			t.Fatalf("actual address (the city's ids): %+v", aa)
		}

		// A CSV import and a lead.
		ids, bad, err := s.ImportContacts(ctx, admin, []crm.Contact{{Name: "Импорт", Address: kazan}}, false)
		if err != nil || len(bad) > 0 {
			t.Fatalf("import: %v %v", bad, err)
		}
		c, err := s.GetContact(ctx, ids[0])
		if err != nil || c.Address.FIASID != house {
			t.Fatalf("imported contact: %+v %v", c.Address, err)
		}
		l, err := s.CreateLead(ctx, admin, crm.Lead{Title: "Заявка", Address: crm.Address{City: "Нигдеград"}})
		if err != nil || l.Address.FIASID != "" {
			t.Fatalf("lead with an unknown city: %+v %v", l.Address, err)
		}

		// An update that leaves the address alone does not rewrite the
		// record made before the import; one that changes it matches.
		up, err := s.UpdateAccount(ctx, admin, before.ID, func(x *crm.Account) error { x.Title = "Переименована"; return nil })
		if err != nil || up.LegalAddress.FIASID != "" {
			t.Fatalf("unrelated update: %+v %v", up.LegalAddress, err)
		}
		up, err = s.UpdateAccount(ctx, admin, before.ID, func(x *crm.Account) error { x.LegalAddress.Flat = "6"; return nil })
		if err != nil || up.LegalAddress.FIASID != house || up.LegalAddress.Flat != "6" {
			t.Fatalf("address changed: %+v %v", up.LegalAddress, err)
		}
	})
}
