package bitrix_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
)

// TestConformanceAddresses plays crm.address.* as b24restdocs shows them:
// typed addresses of a company's and a contact's requisites, with
// Bitrix24's error texts, the legal address kept equal to the requisite's
// address of Obmen's own API, and the answers' shapes compared with the
// documented examples.
func TestConformanceAddresses(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		companyID := idOf(t, e.ok(e.json("crm.company.add", map[string]any{"fields": map[string]any{"TITLE": "ООО Ромашка"}})))
		contactID := idOf(t, e.ok(e.json("crm.contact.add", map[string]any{"fields": map[string]any{"NAME": "Иван"}})))
		reqID := idOf(t, e.ok(e.json("crm.requisite.add", map[string]any{"fields": map[string]any{
			"ENTITY_TYPE_ID": 4, "ENTITY_ID": companyID, "PRESET_ID": 1, "NAME": "Организация"}})))
		personReq := idOf(t, e.ok(e.json("crm.requisite.add", map[string]any{"fields": map[string]any{
			"ENTITY_TYPE_ID": 3, "ENTITY_ID": contactID, "PRESET_ID": 3, "NAME": "Физ. лицо"}})))

		conform(t, "crm.address.fields", e.ok(e.get("crm.address.fields", "")))
		fields := e.ok(e.get("crm.address.fields", ""))
		expect(t, fields, map[string]string{"result/TYPE_ID/isRequired": "true", "result/TYPE_ID/isImmutable": "true",
			"result/ENTITY_ID/isRequired": "true", "result/ANCHOR_ID/isReadOnly": "true", "result/CITY/isReadOnly": "false",
			"result/ADDRESS_1/title": "Street, house, building, structure"})
		conform(t, "crm.enum.addresstype", e.ok(e.get("crm.enum.addresstype", "")))

		// The documentation's example, on the company's requisite.
		example := map[string]any{"TYPE_ID": 1, "ENTITY_TYPE_ID": 8, "ENTITY_ID": reqID, "ADDRESS_1": "4 Peace Avenue",
			"ADDRESS_2": "Drama Theater", "CITY": "City", "POSTAL_CODE": "000000", "REGION": "Urban District", "PROVINCE": "Region", "COUNTRY": "USA"}
		conform(t, "crm.address.add", e.ok(e.json("crm.address.add", map[string]any{"fields": example})))
		e.fails(e.json("crm.address.add", map[string]any{"fields": example}), http.StatusBadRequest, "", "TypeAddress exists.")
		with := func(k string, v any) map[string]any {
			m := map[string]any{}
			for kk, vv := range example {
				m[kk] = vv
			}
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
			return m
		}
		for _, c := range []struct {
			fields map[string]any
			want   string
		}{
			{with("TYPE_ID", nil), "TYPE_ID is not defined or invalid."},
			{with("TYPE_ID", 5), "TYPE_ID is not defined or invalid."},
			{with("ENTITY_TYPE_ID", nil), "ENTITY_TYPE_ID is not defined or invalid."},
			{with("ENTITY_TYPE_ID", 4), "ENTITY_TYPE_ID is not defined or invalid."},
			{with("ENTITY_ID", nil), "ENTITY_ID is not defined or invalid."},
			{with("ENTITY_ID", "abc"), "ENTITY_ID is not defined or invalid."},
			{with("ENTITY_ID", 99999), "Access denied."},
		} {
			e.fails(e.json("crm.address.add", map[string]any{"fields": c.fields}), http.StatusBadRequest, "", c.want)
		}

		// The legal address is the requisite's address of Obmen's API.
		e.ok(e.form("crm.address.add", q("fields[TYPE_ID]", "6", "fields[ENTITY_TYPE_ID]", "8", "fields[ENTITY_ID]", reqID,
			"fields[ADDRESS_1]", "ул. Ленина, 1", "fields[ADDRESS_2]", "офис 5", "fields[CITY]", "Москва", "fields[POSTAL_CODE]", "101000",
			"fields[PROVINCE]", "Московская область", "fields[COUNTRY]", "Россия", "fields[LOC_ADDR_ID]", "479")))
		r, err := e.s.GetRequisite(ctx, requisiteOwnerID(t, reqID))
		if err != nil {
			t.Fatal(err)
		}
		if want := (crm.Address{Street: "ул. Ленина, 1", Flat: "офис 5", City: "Москва", Postcode: "101000", Region: "Московская область", Country: "Россия"}); r.Address != want {
			t.Errorf("requisite address after crm.address.add of the legal one: %+v, want %+v", r.Address, want)
		}
		if len(r.Addresses) != 2 || r.Addresses[0].TypeID != 1 || r.Addresses[1].LocAddrID != 479 {
			t.Errorf("typed addresses in Obmen's requisite: %+v", r.Addresses)
		}
		// … and the other way: Obmen's API changes the address.
		r.Address = crm.Address{Street: "ул. Тверская", House: "7", City: "Москва", Postcode: "125009", Country: "Россия"}
		r.Addresses = nil // a client that does not know typed addresses
		if _, err := e.s.UpdateRequisite(ctx, e.admin, r.ID, r); err != nil {
			t.Fatal(err)
		}

		list := e.ok(e.json("crm.address.list", map[string]any{"filter": map[string]any{"ENTITY_TYPE_ID": 8, "ENTITY_ID": reqID},
			"order": map[string]any{"TYPE_ID": "DESC"}}))
		conform(t, "crm.address.list", list)
		expect(t, list, map[string]string{"total": "2", "result/0/TYPE_ID": "6", "result/0/ADDRESS_1": "ул. Тверская, 7",
			"result/0/ADDRESS_2": "", "result/0/POSTAL_CODE": "125009", "result/0/LOC_ADDR_ID": "479", "result/0/ANCHOR_TYPE_ID": "4",
			"result/0/ANCHOR_ID": companyID, "result/0/ENTITY_ID": reqID, "result/1/TYPE_ID": "1", "result/1/CITY": "City",
			"result/1/REGION": "Urban District", "result/1/COUNTRY_CODE": ""})

		// Update: the named address only, the rest kept.
		conform(t, "crm.address.update", e.ok(e.json("crm.address.update", map[string]any{"fields": map[string]any{
			"TYPE_ID": 1, "ENTITY_TYPE_ID": 8, "ENTITY_ID": reqID, "CITY": "Тверь", "ADDRESS_2": ""}})))
		e.fails(e.json("crm.address.update", map[string]any{"fields": map[string]any{"TYPE_ID": 9, "ENTITY_TYPE_ID": 8, "ENTITY_ID": reqID, "CITY": "x"}}),
			http.StatusBadRequest, "", "TypeAddress not found.")
		e.fails(e.json("crm.address.update", map[string]any{"fields": map[string]any{"TYPE_ID": 1, "ENTITY_TYPE_ID": 8}}),
			http.StatusBadRequest, "", "ENTITY_ID is not defined or invalid.")
		actual := e.ok(e.json("crm.address.list", map[string]any{"filter": map[string]any{"TYPE_ID": 1, "ENTITY_ID": reqID},
			"select": []string{"CITY", "ADDRESS_1", "ADDRESS_2"}}))
		expect(t, actual, map[string]string{"total": "1", "result/0/CITY": "Тверь", "result/0/ADDRESS_1": "4 Peace Avenue", "result/0/ADDRESS_2": ""})
		if _, ok := actual.Doc.Lookup("result", "0", "COUNTRY"); ok {
			t.Errorf("select CITY, ADDRESS_1, ADDRESS_2 answered COUNTRY: %s", actual.Body)
		}

		// The contact's requisite: anchored to the contact; a text filter.
		e.ok(e.json("crm.address.add", map[string]any{"fields": map[string]any{"TYPE_ID": 4, "ENTITY_TYPE_ID": 8, "ENTITY_ID": personReq,
			"CITY": "Казань", "ADDRESS_1": "ул. Баумана, 10"}}))
		person := e.ok(e.json("crm.address.list", map[string]any{"filter": map[string]any{"%ADDRESS_1": "баумана", "ANCHOR_TYPE_ID": 3}}))
		expect(t, person, map[string]string{"total": "1", "result/0/ANCHOR_ID": contactID, "result/0/TYPE_ID": "4"})
		if n := e.ok(e.json("crm.address.list", map[string]any{})).str(t, "total"); n != "3" {
			t.Errorf("all addresses: %s, want 3", n)
		}

		// Delete; the legal one's removal empties the requisite's address.
		del := map[string]any{"fields": map[string]any{"TYPE_ID": 6, "ENTITY_TYPE_ID": 8, "ENTITY_ID": reqID}}
		conform(t, "crm.address.delete", e.ok(e.json("crm.address.delete", del)))
		e.fails(e.json("crm.address.delete", del), http.StatusBadRequest, "", "TypeAddress not found.")
		if r, err := e.s.GetRequisite(ctx, r.ID); err != nil || r.Address != (crm.Address{}) || len(r.Addresses) != 1 {
			t.Errorf("requisite after the legal address's delete: %v %+v", err, r)
		}

		// Every write was an update of the company naming its requisites.
		evs, err := e.s.Events(ctx, events.Query{Entity: store.EntityAccount})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if _, ok := ev.Changes["requisites"]; ok {
				n++
			}
		}
		if n != 6 { // requisite add, 2 address adds, Obmen's update, address update, address delete
			t.Errorf("%d requisite events of the company, want 6", n)
		}

		// A requisite's delete takes its addresses.
		e.ok(e.get("crm.requisite.delete", "id="+reqID))
		if n := e.ok(e.json("crm.address.list", map[string]any{"filter": map[string]any{"ENTITY_ID": reqID}})).str(t, "total"); n != "0" {
			t.Errorf("addresses of a deleted requisite: %s", n)
		}
	})
}
