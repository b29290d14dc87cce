package intake_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

// TestOrderOfAManagerMatchesEveryRecord: matching an order to an account
// by INN and a contact by phone is the system's own lookup: a manager's
// key sending the order links the lead to the company that exists, though
// another user is responsible for it and the manager still cannot see it.
func TestOrderOfAManagerMatchesEveryRecord(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		st := e.app.Store
		admin := crm.Actor{UserID: e.admin.ID}
		anna, err := st.CreateUser(ctx, admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1")
		if err != nil {
			t.Fatal(err)
		}
		_, key, err := st.CreateAPIKey(ctx, admin, anna.ID, "site")
		if err != nil {
			t.Fatal(err)
		}
		acc, err := st.CreateAccount(ctx, admin, crm.Account{Title: "ООО Ромашка", INN: "7709745454"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := st.CreateContact(ctx, admin, crm.Contact{Name: "Пётр", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 925 642-42-90"}}}})
		if err != nil {
			t.Fatal(err)
		}
		e.key = key
		r := e.do("POST", "/api/v1/intake/orders", []byte(`{"ИНН":"7709745454","КонтактноеЛицо":"Пётр","Телефон":"89256424290"}`))
		if r.Status != http.StatusCreated {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		var a orderAnswer
		r.json(t, &a)
		if a.Lead.AccountID != acc.ID || a.Lead.ContactID != c.ID || a.Lead.AssignedByID != anna.ID {
			t.Errorf("lead links: account %d (want %d), contact %d (want %d), assigned %d", a.Lead.AccountID, acc.ID, a.Lead.ContactID, c.ID, a.Lead.AssignedByID)
		}
		if r := e.do("GET", "/api/v1/accounts/"+strconv.FormatInt(acc.ID, 10), nil); r.Status != http.StatusNotFound {
			t.Errorf("the manager reads the matched account: %d", r.Status)
		}
	})
}
