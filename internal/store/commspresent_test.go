package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestCommsPresent: one read answers every probe — by entity, kind and
// the value however it is typed; a deleted record's phone is not present.
func TestCommsPresent(t *testing.T) {
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s := store.New(eng.Open(t))
			admin := storetest.Admin(t, s)
			ctx := context.Background()
			if _, err := s.CreateLead(ctx, admin, crm.Lead{Title: "Живой", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 925 111-22-33"}}, Emails: []crm.Comm{{Value: "Ivan@Mail.ru"}}}}); err != nil {
				t.Fatal(err)
			}
			gone, err := s.CreateContact(ctx, admin, crm.Contact{Name: "Удалённый", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 925 999-00-00"}}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, admin, store.EntityContact, gone.ID); err != nil {
				t.Fatal(err)
			}
			probes := []store.CommProbe{
				{Entity: store.EntityLead, Kind: crm.KindPhone, Value: "8 (925) 111-22-33"},
				{Entity: store.EntityContact, Kind: crm.KindPhone, Value: "8 (925) 111-22-33"},
				{Entity: store.EntityLead, Kind: crm.KindEmail, Value: "ivan@mail.ru"},
				{Entity: store.EntityLead, Kind: crm.KindPhone, Value: "ivan@mail.ru"},
				{Entity: store.EntityContact, Kind: crm.KindPhone, Value: "+79259990000"},
				{Entity: store.EntityLead, Kind: crm.KindEmail, Value: "petr@mail.ru"},
			}
			got, err := s.CommsPresent(ctx, probes)
			if err != nil {
				t.Fatal(err)
			}
			want := []bool{true, false, true, false, false, false}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("probe %d %+v: present %v, want %v", i, probes[i], got[i], want[i])
				}
			}
			if _, err := s.CommsPresent(ctx, []store.CommProbe{{Entity: "nope", Kind: crm.KindPhone, Value: "1"}}); err == nil {
				t.Error("an unknown entity is accepted")
			}
			if _, err := s.CommsPresent(ctx, []store.CommProbe{{Entity: store.EntityLead, Kind: "FAX", Value: "1"}}); err == nil {
				t.Error("an unknown kind is accepted")
			}
		})
	}
}

// TestCreateLeadCommsCheck: a CommsCheck is answered by CreateLead as
// the database was before the new lead — its own phone and e-mail are
// not found, an existing lead's are — whether the lead is written in one
// statement (PostgreSQL, a plain lead) or as usual (line items).
func TestCreateLeadCommsCheck(t *testing.T) {
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s := store.New(eng.Open(t))
			admin := storetest.Admin(t, s)
			ctx := context.Background()
			if _, err := s.CreateLead(ctx, admin, crm.Lead{Title: "Был", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 925 111-22-33"}}}}); err != nil {
				t.Fatal(err)
			}
			for i, l := range []crm.Lead{
				{Title: "Простой"},
				{Title: "С товаром", ProductRows: []crm.LineItem{{Name: "Баннер", Price: 1000, Quantity: 1000}}},
			} {
				own := fmt.Sprintf("+7 925 555-00-0%d", i)
				mail := fmt.Sprintf("new%d@mail.ru", i)
				l.Comms = crm.Comms{Phones: []crm.Comm{{Value: "8 925 111 22 33"}, {Value: own}}, Emails: []crm.Comm{{Value: mail}}}
				check := &store.CommsCheck{Probes: []store.CommProbe{
					{Entity: store.EntityLead, Kind: crm.KindPhone, Value: "8 925 111 22 33"},
					{Entity: store.EntityContact, Kind: crm.KindPhone, Value: "8 925 111 22 33"},
					{Entity: store.EntityLead, Kind: crm.KindPhone, Value: own},
					{Entity: store.EntityLead, Kind: crm.KindEmail, Value: mail},
				}}
				made, err := s.CreateLead(store.WithCommsCheck(ctx, check), admin, l)
				if err != nil {
					t.Fatal(err)
				}
				if !check.Done {
					t.Fatalf("%s: the check is not answered", l.Title)
				}
				if want := []bool{true, false, false, false}; !slices.Equal(check.Found, want) {
					t.Errorf("%s: found %v, want %v", l.Title, check.Found, want)
				}
				// The lead is there with its comms: the check did not
				// change what was written.
				got, err := s.GetLead(ctx, made.ID)
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Phones) != 2 || len(got.Emails) != 1 || got.Phones[1].ID == 0 {
					t.Errorf("%s: comms %+v", l.Title, got.Comms)
				}
				// And now they are found.
				again, err := s.CommsPresent(ctx, check.Probes[2:])
				if err != nil {
					t.Fatal(err)
				}
				if !again[0] || !again[1] {
					t.Errorf("%s: after the create found %v", l.Title, again)
				}
			}
		})
	}
}
