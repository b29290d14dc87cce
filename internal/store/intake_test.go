package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestTxComposedWrites: the Tx-level creates and lookups lead intake
// composes into one transaction, and all-or-nothing when one part fails.
func TestTxComposedWrites(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		acc, err := s.CreateAccount(ctx, admin, crm.Account{Title: "ООО Ромашка", INN: "7709745454"})
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.CreateAccount(ctx, admin, crm.Account{Title: "ИП по реквизиту"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddRequisite(ctx, admin, crm.Requisite{AccountID: other.ID, PresetID: crm.PresetIP, Name: "ИП", INN: "500100732259"}); err != nil {
			t.Fatal(err)
		}
		c, err := s.CreateContact(ctx, admin, crm.Contact{Name: "Иван", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 925 642-42-90"}}, Emails: []crm.Comm{{Value: "ivan@example.ru"}}}})
		if err != nil {
			t.Fatal(err)
		}
		var leadID int64
		err = s.Write(ctx, admin, func(tx *store.Tx) error {
			for inn, want := range map[string]int64{"7709745454": acc.ID, "500100732259": other.ID} {
				if id, err := tx.FindAccountByINN(inn); err != nil || id != want {
					t.Errorf("FindAccountByINN(%s) = %d, %v; want %d", inn, id, err, want)
				}
			}
			if _, err := tx.FindAccountByINN("7707083893"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("unknown INN: %v", err)
			}
			for _, q := range [][2]string{{"8 (925) 642 42 90", ""}, {"", "IVAN@example.ru"}, {"+7 900 000-00-00", "ivan@example.ru"}} {
				if id, err := tx.FindContactByComm(q[0], q[1]); err != nil || id != c.ID {
					t.Errorf("FindContactByComm(%q, %q) = %d, %v", q[0], q[1], id, err)
				}
			}
			if _, err := tx.FindContactByComm("+7 900 000-00-00", "x@y.ru"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("unknown contact: %v", err)
			}
			l := crm.Lead{Title: "Заявка", AccountID: acc.ID, ContactID: c.ID}
			if err := tx.AddLead(&l); err != nil {
				return err
			}
			leadID = l.ID
			a := crm.Activity{Kind: crm.ActivityTask, Subject: "Позвонить", OwnerType: "lead", OwnerID: l.ID}
			return tx.AddActivity(&a)
		})
		if err != nil {
			t.Fatal(err)
		}
		l, err := s.GetLead(ctx, leadID)
		if err != nil || l.AccountID != acc.ID || l.ContactID != c.ID {
			t.Errorf("lead = %+v, %v", l, err)
		}
		// A failing part undoes the whole write.
		var ghost int64
		err = s.Write(ctx, admin, func(tx *store.Tx) error {
			a := crm.Account{Title: "Новая", INN: "7707083893"}
			if err := tx.AddAccount(&a); err != nil {
				return err
			}
			ghost = a.ID
			bad := crm.Lead{Title: "x", ContactID: 999999}
			return tx.AddLead(&bad)
		})
		if fe, ok := crm.AsFieldError(err); !ok || fe.Field != "contact_id" {
			t.Fatalf("write with a bad link = %v", err)
		}
		if _, err := s.GetAccount(ctx, ghost); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the account of the undone write exists: %v", err)
		}
	})
}
