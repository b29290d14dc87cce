package store_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
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
		w := newTwoManagers(t, s, admin)
		ctx, bAcc, bCon, actx, as, own := w.ctx, w.bAcc, w.bCon, w.actx, w.as, w.own
		var err error
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

// TestContactLinksToUnseenRefused: the references finding 7 left
// existence-checked — a contact's companies, a contact's and a deal's lead,
// a company's contacts — are refused to a manager who may not see the
// record, with the very answer a missing record gets; links a record
// already has are kept on update.
func TestContactLinksToUnseenRefused(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		w := newTwoManagers(t, s, admin)
		ctx, anna, bAcc, bCon, actx, as, own := w.ctx, w.anna, w.bAcc, w.bCon, w.actx, w.as, w.own
		lead := crm.Lead{Title: "Лид Бориса"}
		lead.AssignedByID = w.boris.ID
		bLead, err := s.CreateLead(ctx, admin, lead)
		if err != nil {
			t.Fatal(err)
		}
		const missing = 987654
		// refusedAsMissing: err is the refusal of field, worded as the
		// refusal of a record that does not exist (id replaced).
		refusedAsMissing := func(what, field string, id int64, err, missingErr error) {
			t.Helper()
			fe, ok := crm.AsFieldError(err)
			if !ok || fe.Field != field {
				t.Errorf("%s: %v, want a refusal of %s", what, err, field)
				return
			}
			mfe, ok := crm.AsFieldError(missingErr)
			if !ok || strings.ReplaceAll(fe.Message, itoa(id), "N") != strings.ReplaceAll(mfe.Message, itoa(missing), "N") {
				t.Errorf("%s: %q, want the answer of a missing record %v", what, fe.Message, missingErr)
			}
		}

		c := crm.Contact{Name: "Анна 1", AccountIDs: []int64{bAcc.ID}}
		own(&c.Meta)
		_, err = s.CreateContact(actx, as, c)
		c.AccountIDs = []int64{missing}
		_, errMissing := s.CreateContact(actx, as, c)
		refusedAsMissing("contact → another's company", "account_ids", bAcc.ID, err, errMissing)

		c = crm.Contact{Name: "Анна 2", LeadID: bLead.ID}
		own(&c.Meta)
		_, err = s.CreateContact(actx, as, c)
		c.LeadID = missing
		_, errMissing = s.CreateContact(actx, as, c)
		refusedAsMissing("contact → another's lead", "lead_id", bLead.ID, err, errMissing)

		d := crm.Deal{Title: "Сделка Анны", LeadID: bLead.ID}
		own(&d.Meta)
		_, err = s.CreateDeal(actx, as, d)
		d.LeadID = missing
		_, errMissing = s.CreateDeal(actx, as, d)
		refusedAsMissing("deal → another's lead", "lead_id", bLead.ID, err, errMissing)

		// Anna's own contact gains Boris's company on update: refused.
		c = crm.Contact{Name: "Анна 3"}
		own(&c.Meta)
		mine, err := s.CreateContact(actx, as, c)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.UpdateContact(actx, as, mine.ID, func(c *crm.Contact) error { c.AccountIDs = []int64{bAcc.ID}; return nil })
		_, errMissing = s.UpdateContact(actx, as, mine.ID, func(c *crm.Contact) error { c.AccountIDs = []int64{missing}; return nil })
		refusedAsMissing("contact update → another's company", "account_ids", bAcc.ID, err, errMissing)

		// Anna's company gains Boris's contact: refused as missing.
		ac := crm.Account{Title: "ООО Анны"}
		own(&ac.Meta)
		aAcc, err := s.CreateAccount(actx, as, ac)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetAccountContacts(actx, as, aAcc.ID, []int64{bCon.ID}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("company → another's contact: %v, want not found", err)
		}

		// A link made by the admin is kept when Anna edits her contact,
		// and she may link her own company next to it.
		shared, err := s.CreateContact(ctx, admin, crm.Contact{Name: "Общий", AccountIDs: []int64{bAcc.ID}, Meta: crm.Meta{AssignedByID: anna.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateContact(actx, as, shared.ID, func(c *crm.Contact) error {
			c.Name = "Общий, изменён"
			c.AccountIDs = append(c.AccountIDs, aAcc.ID)
			return nil
		}); err != nil {
			t.Errorf("updating a contact that keeps its link: %v", err)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// twoManagers is where the link tests start: managers Anna and Boris,
// Boris's company and contact, a context, Anna's scoped one and her actor.
type twoManagers struct {
	ctx         context.Context
	anna, boris crm.User
	bAcc        crm.Account
	bCon        crm.Contact
	actx        context.Context
	as          crm.Actor
}

// own makes a record Anna's.
func (m twoManagers) own(meta *crm.Meta) { meta.AssignedByID = m.anna.ID }

func newTwoManagers(t *testing.T, s *store.Store, admin crm.Actor) twoManagers {
	t.Helper()
	ctx := context.Background()
	mk := func(login string) crm.User {
		u, err := s.CreateUser(ctx, admin, crm.User{Login: login, Role: crm.RoleManager, Active: true}, "manager-password")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	m := twoManagers{ctx: ctx, anna: mk("anna"), boris: mk("boris")}
	acc := crm.Account{Title: "ООО Бориса"}
	acc.AssignedByID = m.boris.ID
	var err error
	if m.bAcc, err = s.CreateAccount(ctx, admin, acc); err != nil {
		t.Fatal(err)
	}
	con := crm.Contact{Name: "Контакт Бориса"}
	con.AssignedByID = m.boris.ID
	if m.bCon, err = s.CreateContact(ctx, admin, con); err != nil {
		t.Fatal(err)
	}
	m.actx, m.as = store.WithScope(ctx, m.anna.ID), crm.Actor{UserID: m.anna.ID}
	return m
}
