package api_test

import (
	"fmt"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

// TestContactRequisites: a contact (a sole proprietor) gets requisites
// with a bank detail and is then found by their INN; a bad BIK is refused
// naming the field.
func TestContactRequisites(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		id := e.create("/api/v1/contacts", map[string]any{"name": "Иван", "last_name": "Петров"})
		path := fmt.Sprintf("/api/v1/contacts/%d/requisites", id)
		r := decode[crm.Requisite](t, must(t, e.do("POST", path, map[string]any{
			"name": "ИП Петров", "preset_id": crm.PresetIP, "inn": "500100732259", "ogrnip": "304500116000157",
			"bank_details": []any{map[string]any{"name": "Счёт", "bik": "044525225", "account": "40802810938000000001"}},
		}), 201))
		if r.ContactID != id || r.AccountID != 0 || len(r.BankDetails) != 1 || r.BankDetails[0].ID == 0 {
			t.Fatalf("created: %+v", r)
		}
		list := decode[listOf[crm.Requisite]](t, must(t, e.do("GET", path, nil), 200))
		if len(list.Items) != 1 || list.Items[0].ID != r.ID || list.Items[0].OGRNIP != "304500116000157" {
			t.Fatalf("list: %+v", list)
		}
		found := decode[listOf[crm.Contact]](t, must(t, e.do("GET", "/api/v1/contacts?inn=500100732259", nil), 200))
		if len(found.Items) != 1 || found.Items[0].ID != id {
			t.Fatalf("contacts by requisite INN: %+v", found)
		}
		checkErr(t, e.do("POST", path, map[string]any{"bank_details": []any{map[string]any{"bik": "12345"}}}), 422, "validation_failed", "bank_details[0].bik", "")
		checkErr(t, e.do("GET", "/api/v1/contacts/999999/requisites", nil), 404, "not_found", "", "")
	})
}

// TestRequisiteAddresses: Obmen's API serves a requisite's typed
// addresses (Bitrix24's crm.address.*) beside its one address, which is
// the legal typed one; a PUT without addresses keeps them, with an empty
// list removes them, and a repeated type is refused naming the item.
func TestRequisiteAddresses(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		id := e.create("/api/v1/accounts", map[string]any{"title": "ООО Адреса"})
		r := decode[crm.Requisite](t, must(t, e.do("POST", fmt.Sprintf("/api/v1/accounts/%d/requisites", id), map[string]any{
			"name": "Организация", "address": map[string]any{"city": "Москва", "street": "ул. Ленина", "house": "1"},
			"addresses": []any{map[string]any{"type_id": crm.AddressDelivery, "city": "Химки", "address_1": "Склад 3"}},
		}), 201))
		if len(r.Addresses) != 2 || r.Addresses[0].TypeID != crm.AddressLegal || r.Addresses[0].Address1 != "ул. Ленина, 1" ||
			r.Addresses[1].TypeID != crm.AddressDelivery || r.Addresses[1].City != "Химки" {
			t.Fatalf("created: %+v", r.Addresses)
		}
		path := fmt.Sprintf("/api/v1/requisites/%d", r.ID)
		// A client of before typed addresses changes the address only.
		up := decode[crm.Requisite](t, must(t, e.do("PUT", path, map[string]any{"name": "Организация", "address": map[string]any{"city": "Тверь"}}), 200))
		if len(up.Addresses) != 2 || up.Addresses[0].City != "Тверь" || up.Addresses[0].Address1 != "" || up.Addresses[1].City != "Химки" {
			t.Fatalf("after a PUT of the address: %+v", up.Addresses)
		}
		checkErr(t, e.do("PUT", path, map[string]any{"addresses": []any{map[string]any{"type_id": 1}, map[string]any{"type_id": 1}}}),
			422, "validation_failed", "addresses[1].type_id", "")
		none := decode[crm.Requisite](t, must(t, e.do("PUT", path, map[string]any{"name": "Организация", "address": map[string]any{"city": "Тверь"},
			"addresses": []any{}}), 200))
		if len(none.Addresses) != 0 || none.Address != (crm.Address{}) {
			t.Fatalf("after a PUT of no addresses: %+v %+v", none.Addresses, none.Address)
		}
	})
}
