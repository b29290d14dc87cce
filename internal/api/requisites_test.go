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
