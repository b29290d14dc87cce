package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestLinksToUnseenRecordsRefused: a manager cannot link what they create
// to a record they may not see — a deal's company and contacts, an order's
// company, a ticket's contact, an activity's owner: the link is refused as
// if the record did not exist (nothing revealed, nothing put into another
// user's timeline). A link the record already has is kept on update.
func TestLinksToUnseenRecordsRefused(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		mk := func(login string) crm.User {
			u, err := s.CreateUser(ctx, admin, crm.User{Login: login, Role: crm.RoleManager, Active: true}, "manager-password")
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		anna, boris := mk("anna"), mk("boris")
		acc := crm.Account{Title: "ООО Бориса"}
		acc.AssignedByID = boris.ID
		bAcc, err := s.CreateAccount(ctx, admin, acc)
		if err != nil {
			t.Fatal(err)
		}
		con := crm.Contact{Name: "Контакт Бориса"}
		con.AssignedByID = boris.ID
		bCon, err := s.CreateContact(ctx, admin, con)
		if err != nil {
			t.Fatal(err)
		}
		actx := store.WithScope(ctx, anna.ID)
		as := crm.Actor{UserID: anna.ID}
		own := func(m *crm.Meta) { m.AssignedByID = anna.ID }
		wantRefused := func(what, field string, err error) {
			t.Helper()
			fe, ok := crm.AsFieldError(err)
			if !ok || fe.Field != field {
				t.Errorf("%s: %v, want a refusal of %s", what, err, field)
			}
		}
		d := crm.Deal{Title: "Сделка Анны", AccountID: bAcc.ID}
		own(&d.Meta)
		_, err = s.CreateDeal(actx, as, d)
		wantRefused("deal → another's company", "account_id", err)
		d = crm.Deal{Title: "Сделка Анны", ContactIDs: []int64{bCon.ID}}
		own(&d.Meta)
		_, err = s.CreateDeal(actx, as, d)
		wantRefused("deal → another's contact", "contact_ids[0]", err)
		o := crm.SalesOrder{AccountID: bAcc.ID, Currency: "RUB"}
		own(&o.Meta)
		_, err = s.CreateSalesOrder(actx, as, o)
		wantRefused("order → another's company", "account_id", err)
		k := crm.Ticket{Title: "Обращение", ContactID: bCon.ID}
		own(&k.Meta)
		_, err = s.CreateTicket(actx, as, k)
		wantRefused("ticket → another's contact", "contact_id", err)
		st := time.Now()
		a := crm.Activity{Kind: crm.ActivityCall, Subject: "Звонок", StartAt: &st, OwnerType: "contact", OwnerID: bCon.ID}
		own(&a.Meta)
		_, err = s.CreateActivity(actx, as, a)
		wantRefused("activity → another's contact", "owner_id", err)

		// The admin links Anna's deal to Boris's contact; Anna still edits it.
		d = crm.Deal{Title: "Общая", ContactIDs: []int64{bCon.ID}}
		own(&d.Meta)
		shared, err := s.CreateDeal(ctx, admin, d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateDeal(actx, as, shared.ID, func(d *crm.Deal) error { d.Title = "Общая, изменена"; return nil }); err != nil {
			t.Errorf("updating a deal that keeps its link: %v", err)
		}
		// Seen records link as before.
		g := crm.Deal{Title: "Своя", ContactIDs: []int64{}}
		own(&g.Meta)
		if _, err := s.CreateDeal(actx, as, g); err != nil {
			t.Errorf("a deal with no links: %v", err)
		}
	})
}
