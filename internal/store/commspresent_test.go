package store_test

import (
	"context"
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
