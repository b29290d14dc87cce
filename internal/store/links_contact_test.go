package store_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestContactLinksToUnseenRefused: the references finding 7 left
// existence-checked — a contact's companies, a contact's and a deal's lead,
// a company's contacts — are refused to a manager who may not see the
// record, with the very answer a missing record gets; links a record
// already has are kept on update.
func TestContactLinksToUnseenRefused(t *testing.T) {
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
		lead := crm.Lead{Title: "Лид Бориса"}
		lead.AssignedByID = boris.ID
		bLead, err := s.CreateLead(ctx, admin, lead)
		if err != nil {
			t.Fatal(err)
		}
		actx := store.WithScope(ctx, anna.ID)
		as := crm.Actor{UserID: anna.ID}
		own := func(m *crm.Meta) { m.AssignedByID = anna.ID }
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
