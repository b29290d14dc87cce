package crm_test

import (
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

func TestSyncLegalAddress(t *testing.T) {
	plain := crm.Address{Postcode: "101000", Country: "Россия", Region: "Москва", City: "Москва", Street: "ул. Ленина", House: "1", Flat: "5"}
	typed := crm.RequisiteAddress{TypeID: crm.AddressLegal, Address1: "ул. Ленина, 1", Address2: "5", City: "Москва", PostalCode: "101000",
		Province: "Москва", Country: "Россия"}
	actual := crm.RequisiteAddress{TypeID: crm.AddressActual, City: "Тверь"}
	for _, c := range []struct {
		name      string
		old, cur  crm.Requisite
		wantPlain crm.Address
		wantTyped []crm.RequisiteAddress
	}{
		{"plain added makes the legal one", crm.Requisite{}, crm.Requisite{Address: plain},
			plain, []crm.RequisiteAddress{typed}},
		{"legal added makes the plain one", crm.Requisite{}, crm.Requisite{Addresses: []crm.RequisiteAddress{actual, typed}},
			crm.Address{Postcode: "101000", Country: "Россия", Region: "Москва", City: "Москва", Street: "ул. Ленина, 1", Flat: "5"},
			[]crm.RequisiteAddress{actual, typed}},
		{"plain changed keeps the legal one's district and location",
			crm.Requisite{Address: plain, Addresses: []crm.RequisiteAddress{{TypeID: crm.AddressLegal, Region: "Тверской", LocAddrID: 7}}},
			crm.Requisite{Address: crm.Address{City: "Москва"}, Addresses: []crm.RequisiteAddress{{TypeID: crm.AddressLegal, Region: "Тверской", LocAddrID: 7}}},
			crm.Address{City: "Москва"}, []crm.RequisiteAddress{{TypeID: crm.AddressLegal, City: "Москва", Region: "Тверской", LocAddrID: 7}}},
		{"plain emptied removes the legal one", crm.Requisite{Address: plain, Addresses: []crm.RequisiteAddress{typed, actual}},
			crm.Requisite{Addresses: []crm.RequisiteAddress{typed, actual}}, crm.Address{}, []crm.RequisiteAddress{actual}},
		{"legal removed empties the plain one", crm.Requisite{Address: plain, Addresses: []crm.RequisiteAddress{typed}},
			crm.Requisite{Address: plain}, crm.Address{}, nil},
		{"both changed: the typed one wins", crm.Requisite{Address: plain, Addresses: []crm.RequisiteAddress{typed}},
			crm.Requisite{Address: crm.Address{City: "Казань"}, Addresses: []crm.RequisiteAddress{{TypeID: crm.AddressLegal, City: "Тверь"}}},
			crm.Address{City: "Тверь"}, []crm.RequisiteAddress{{TypeID: crm.AddressLegal, City: "Тверь"}}},
		{"other types alone change nothing", crm.Requisite{Address: plain, Addresses: []crm.RequisiteAddress{typed}},
			crm.Requisite{Address: plain, Addresses: []crm.RequisiteAddress{typed, actual}}, plain, []crm.RequisiteAddress{typed, actual}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cur := c.cur
			crm.SyncLegalAddress(&c.old, &cur)
			if cur.Address != c.wantPlain {
				t.Errorf("Address = %+v, want %+v", cur.Address, c.wantPlain)
			}
			if len(cur.Addresses) != len(c.wantTyped) {
				t.Fatalf("Addresses = %+v, want %+v", cur.Addresses, c.wantTyped)
			}
			for i := range c.wantTyped {
				if cur.Addresses[i] != c.wantTyped[i] {
					t.Errorf("Addresses[%d] = %+v, want %+v", i, cur.Addresses[i], c.wantTyped[i])
				}
			}
		})
	}
}

func TestRequisiteAddressesNormalize(t *testing.T) {
	for _, c := range []struct {
		as    []crm.RequisiteAddress
		field string
	}{
		{[]crm.RequisiteAddress{{TypeID: 5}}, "addresses[0].type_id"},
		{[]crm.RequisiteAddress{{TypeID: 1}, {TypeID: 1}}, "addresses[1].type_id"},
		{[]crm.RequisiteAddress{{TypeID: 8, LocAddrID: -1}}, "addresses[0].loc_addr_id"},
	} {
		r := crm.Requisite{Addresses: c.as}
		fe, ok := crm.AsFieldError(r.Normalize())
		if !ok || fe.Field != c.field {
			t.Errorf("%+v: error %v, want one naming %s", c.as, fe, c.field)
		}
	}
	r := crm.Requisite{Addresses: []crm.RequisiteAddress{{TypeID: 9, City: " Тверь "}, {TypeID: 1}}}
	if err := r.Normalize(); err != nil || r.Addresses[0].TypeID != 1 || r.Addresses[1].City != "Тверь" {
		t.Errorf("Normalize: %v %+v (want sorted by type, trimmed)", err, r.Addresses)
	}
}
