package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func mustAccount(t *testing.T, s *store.Store, admin crm.Actor, title string) crm.Account {
	t.Helper()
	a, err := s.CreateAccount(context.Background(), admin, crm.Account{Title: title})
	if err != nil {
		t.Fatalf("create account %s: %v", title, err)
	}
	return a
}

func TestContactLifecycle(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		a1 := mustAccount(t, s, admin, "Ромашка")
		a2 := mustAccount(t, s, admin, "Лютик")
		c, err := s.CreateContact(ctx, admin, crm.Contact{
			Name: " Анна ", LastName: "Смирнова", Position: "Бухгалтер", Birthdate: "1990-05-17",
			Comms:      crm.Comms{Phones: []crm.Comm{{Value: "8 (925) 642-42-90"}}, Emails: []crm.Comm{{Value: "Anna@Example.RU"}}},
			Address:    crm.Address{City: "Москва", Street: "Тверская", House: "1"},
			SourceID:   "CALL",
			AccountIDs: []int64{a2.ID, a1.ID},
			Extra:      crm.Extra{ExternalIDs: map[string]string{"1c": "c-001"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if c.ID == 0 || c.Name != "Анна" || c.Phones[0].Normalized != "+79256424290" || c.CreatedByID != admin.UserID || c.AssignedByID != admin.UserID {
			t.Fatalf("unexpected contact: %+v", c)
		}
		got, err := s.GetContact(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.AccountIDs, []int64{a2.ID, a1.ID}) {
			t.Fatalf("account order lost: %v, want [%d %d]", got.AccountIDs, a2.ID, a1.ID)
		}
		if got.Address.City != "Москва" || got.Address.House != "1" || got.Birthdate != "1990-05-17" || got.SourceID != "CALL" ||
			got.Emails[0].Normalized != "anna@example.ru" || got.ExternalIDs["1c"] != "c-001" || !got.CreatedAt.Equal(c.CreatedAt.Truncate(time.Microsecond)) {
			t.Fatalf("read back differs: %+v", got)
		}
		for _, phone := range []string{"8 (925) 642-42-90", "+79256424290", "+7 925 642 42 90", "89256424290", "(925) 642-42-90"} {
			cs, _, err := s.ListContacts(ctx, store.ListParams{Phone: phone})
			if err != nil || len(cs) != 1 || cs[0].ID != c.ID {
				t.Fatalf("find by phone %q: %v %d", phone, err, len(cs))
			}
		}
		if cs, _, err := s.ListContacts(ctx, store.ListParams{Phone: "+79256424291"}); err != nil || len(cs) != 0 {
			t.Fatalf("other phone found %d contacts: %v", len(cs), err)
		}
		if cs, _, err := s.ListContacts(ctx, store.ListParams{Email: " ANNA@example.ru"}); err != nil || len(cs) != 1 {
			t.Fatalf("find by e-mail: %v %d", err, len(cs))
		}
		if id, err := s.FindByExternalID(ctx, store.EntityContact, "1c", "c-001"); err != nil || id != c.ID {
			t.Fatalf("find by external id: %v %d", err, id)
		}

		up, err := s.UpdateContact(ctx, admin, c.ID, func(x *crm.Contact) error {
			x.Position = "Главный бухгалтер"
			x.AccountIDs = []int64{a1.ID, a2.ID}
			return nil
		})
		if err != nil || up.Position != "Главный бухгалтер" || !slices.Equal(up.AccountIDs, []int64{a1.ID, a2.ID}) {
			t.Fatalf("update: %v %+v", err, up)
		}
		if got, _ := s.GetContact(ctx, c.ID); !slices.Equal(got.AccountIDs, []int64{a1.ID, a2.ID}) {
			t.Fatalf("reordered accounts read back as %v", got.AccountIDs)
		}
		evs, err := s.Events(ctx, events.Query{Entity: store.EntityContact, RecordID: c.ID})
		if err != nil || len(evs) != 2 || evs[1].Action != events.Update {
			t.Fatalf("events: %v %+v", err, evs)
		}
		ch := evs[1].Changes
		if len(ch) != 2 || string(ch["position"].Old) != `"Бухгалтер"` || string(ch["position"].New) != `"Главный бухгалтер"` ||
			string(ch["account_ids"].Old) != fmt.Sprintf("[%d,%d]", a2.ID, a1.ID) || string(ch["account_ids"].New) != fmt.Sprintf("[%d,%d]", a1.ID, a2.ID) {
			t.Fatalf("update changes: %+v", ch)
		}
		// An update that changes nothing writes no event.
		if _, err := s.UpdateContact(ctx, admin, c.ID, func(x *crm.Contact) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if evs, _ := s.Events(ctx, events.Query{Entity: store.EntityContact, RecordID: c.ID}); len(evs) != 2 {
			t.Fatalf("no-op update wrote an event: %d events", len(evs))
		}

		if err := s.Delete(ctx, admin, store.EntityContact, c.ID); err != nil {
			t.Fatal(err)
		}
		if cs, _, _ := s.ListContacts(ctx, store.ListParams{Phone: "+79256424290"}); len(cs) != 0 {
			t.Fatalf("deleted contact still found by phone")
		}
		if cs, _, _ := s.ListContacts(ctx, store.ListParams{Deleted: true}); len(cs) != 1 || cs[0].DeletedAt == nil {
			t.Fatalf("deleted contact not in the bin: %+v", cs)
		}
		if _, err := s.UpdateContact(ctx, admin, c.ID, func(x *crm.Contact) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of deleted contact: %v", err)
		}
		if err := s.Restore(ctx, admin, store.EntityContact, c.ID); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetContact(ctx, c.ID)
		if got.DeletedAt != nil || len(got.Phones) != 1 || len(got.AccountIDs) != 2 {
			t.Fatalf("restore lost data: %+v", got)
		}
	})
}

func TestContactAccountLinksSurviveAccountDeletion(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		a1 := mustAccount(t, s, admin, "Первая")
		a2 := mustAccount(t, s, admin, "Вторая")
		a3 := mustAccount(t, s, admin, "Третья")
		c, err := s.CreateContact(ctx, admin, crm.Contact{LastName: "Иванов", AccountIDs: []int64{a1.ID, a2.ID}})
		if err != nil {
			t.Fatal(err)
		}
		accountIDs := func() []int64 {
			t.Helper()
			got, err := s.GetContact(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.AccountIDs
		}

		if err := s.Delete(ctx, admin, store.EntityAccount, a1.ID); err != nil {
			t.Fatal(err)
		}
		if ids := accountIDs(); !slices.Equal(ids, []int64{a2.ID}) {
			t.Fatalf("after deleting account %d: %v", a1.ID, ids)
		}
		// A deleted account cannot be linked.
		_, err = s.UpdateContact(ctx, admin, c.ID, func(x *crm.Contact) error { x.AccountIDs = append(x.AccountIDs, a1.ID); return nil })
		if fe, ok := crm.AsFieldError(err); !ok || fe.Field != "account_ids" {
			t.Fatalf("link to deleted account: %v", err)
		}
		if err := s.Restore(ctx, admin, store.EntityAccount, a1.ID); err != nil {
			t.Fatal(err)
		}
		if ids := accountIDs(); !slices.Equal(ids, []int64{a1.ID, a2.ID}) {
			t.Fatalf("after restoring account %d: %v", a1.ID, ids)
		}

		// Editing the list while an account is in the bin keeps its link,
		// after the edited list.
		if err := s.Delete(ctx, admin, store.EntityAccount, a1.ID); err != nil {
			t.Fatal(err)
		}
		up, err := s.UpdateContact(ctx, admin, c.ID, func(x *crm.Contact) error { x.AccountIDs = []int64{a3.ID, a2.ID}; return nil })
		if err != nil || !slices.Equal(up.AccountIDs, []int64{a3.ID, a2.ID}) {
			t.Fatalf("update with an account in the bin: %v %v", err, up.AccountIDs)
		}
		if err := s.Restore(ctx, admin, store.EntityAccount, a1.ID); err != nil {
			t.Fatal(err)
		}
		if ids := accountIDs(); !slices.Equal(ids, []int64{a3.ID, a2.ID, a1.ID}) {
			t.Fatalf("after edit and restore: %v, want [%d %d %d]", ids, a3.ID, a2.ID, a1.ID)
		}
	})
}

func TestContactValidation(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		a := mustAccount(t, s, admin, "Ромашка")
		for _, tc := range []struct {
			name  string
			c     crm.Contact
			field string
		}{
			{"no name", crm.Contact{Position: "Директор"}, "name"},
			{"bad source", crm.Contact{Name: "Анна", SourceID: "NOPE"}, "source_id"},
			{"missing account", crm.Contact{Name: "Анна", AccountIDs: []int64{a.ID, a.ID + 100}}, "account_ids"},
			{"account twice", crm.Contact{Name: "Анна", AccountIDs: []int64{a.ID, a.ID}}, "account_ids"},
			{"bad birthdate", crm.Contact{Name: "Анна", Birthdate: "17.05.1990"}, "birthdate"},
			{"bad phone", crm.Contact{Name: "Анна", Comms: crm.Comms{Phones: []crm.Comm{{Value: "12"}}}}, "phones[0].value"},
			{"bad email", crm.Contact{Name: "Анна", Comms: crm.Comms{Emails: []crm.Comm{{Value: "anna@"}}}}, "emails[0].value"},
			{"missing lead", crm.Contact{Name: "Анна", LeadID: 999}, "lead_id"},
			{"missing user", crm.Contact{Name: "Анна", Meta: crm.Meta{AssignedByID: 999}}, "assigned_by_id"},
			{"unknown custom field", crm.Contact{Name: "Анна", Extra: crm.Extra{Custom: map[string]any{"UF_X": "1"}}}, "custom.UF_X"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.CreateContact(ctx, admin, tc.c)
				if fe, ok := crm.AsFieldError(err); !ok || fe.Field != tc.field {
					t.Fatalf("got %v, want an error on %s", err, tc.field)
				}
			})
		}
		if cs, _, _ := s.ListContacts(ctx, store.ListParams{}); len(cs) != 0 {
			t.Fatalf("invalid contacts were stored: %d", len(cs))
		}
		c, err := s.CreateContact(ctx, admin, crm.Contact{Name: "Анна"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.UpdateContact(ctx, admin, c.ID, func(x *crm.Contact) error { x.AssignedByID = 999; return nil })
		if fe, ok := crm.AsFieldError(err); !ok || fe.Field != "assigned_by_id" {
			t.Fatalf("reassign to missing user: %v", err)
		}
	})
}

func TestContactList(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		people := []struct{ last, birth, source string }{
			{"Орлова", "1985-01-02", "CALL"},
			{"Белов", "1992-03-04", "CALL"},
			{"Яковлев", "1999-12-31", "WEB"},
			{"Андреев", "1990-06-15", "CALL"},
			{"Егорова", "1970-07-07", "CALL"},
			{"Жуков", "2001-02-03", "CALL"},
		}
		for _, p := range people {
			if _, err := s.CreateContact(ctx, admin, crm.Contact{LastName: p.last, Birthdate: p.birth, SourceID: p.source}); err != nil {
				t.Fatal(err)
			}
		}
		// CALL contacts born in 1980 or later, by last name descending, two
		// a page.
		p := store.ListParams{
			Filters: []store.Filter{{Field: "source_id", Value: "CALL"}, {Field: "birthdate", Op: "gte", Value: "1980-01-01"}},
			Sort:    "-last_name", Limit: 2,
		}
		var names []string
		pages := 0
		for {
			cs, next, err := s.ListContacts(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, c := range cs {
				names = append(names, c.LastName)
			}
			if next == "" {
				break
			}
			p.Cursor = next
			if pages > 5 {
				t.Fatal("cursor does not advance")
			}
		}
		want := []string{"Орлова", "Жуков", "Белов", "Андреев"}
		if !slices.Equal(names, want) || pages != 2 {
			t.Fatalf("got %v in %d pages, want %v in 2", names, pages, want)
		}
		cs, _, err := s.ListContacts(ctx, store.ListParams{Q: "ЕГОРОВА"})
		if err != nil || len(cs) != 1 || cs[0].LastName != "Егорова" {
			t.Fatalf("q search: %v %+v", err, cs)
		}
		if _, _, err := s.ListContacts(ctx, store.ListParams{Filters: []store.Filter{{Field: "birthdate", Value: "1.1.1990"}}}); err == nil {
			t.Fatal("bad date filter accepted")
		}
	})
}

// Setting an account's contacts updates every contact gained or lost in
// one transaction: a failure on one (a contact in the recycle bin) leaves
// all of them as they were.
func TestSetAccountContacts(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		a := mustAccount(t, s, admin, "Печатный двор")
		b := mustAccount(t, s, admin, "Другая")
		contact := func(name string, accounts ...int64) crm.Contact {
			t.Helper()
			c, err := s.CreateContact(ctx, admin, crm.Contact{LastName: name, AccountIDs: accounts})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		c1, c2, c3, gone := contact("Первый", a.ID), contact("Второй", b.ID), contact("Третий"), contact("Удалённый")
		if err := s.Delete(ctx, admin, store.EntityContact, gone.ID); err != nil {
			t.Fatal(err)
		}
		accounts := func(id int64) []int64 {
			t.Helper()
			c, err := s.GetContact(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return c.AccountIDs
		}
		linked := func() []int64 {
			t.Helper()
			ids, err := s.AccountContactIDs(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			return ids
		}

		if err := s.SetAccountContacts(ctx, admin, a.ID, []int64{c3.ID, c2.ID}); err != nil {
			t.Fatal(err)
		}
		if got := linked(); !slices.Equal(got, []int64{c2.ID, c3.ID}) {
			t.Fatalf("linked %v, want [%d %d]", got, c2.ID, c3.ID)
		}
		if got := accounts(c1.ID); len(got) != 0 {
			t.Errorf("c1 keeps %v", got)
		}
		if got := accounts(c2.ID); !slices.Equal(got, []int64{b.ID, a.ID}) {
			t.Errorf("c2 has %v, want its own account first, then %d", got, a.ID)
		}
		if got := accounts(c3.ID); !slices.Equal(got, []int64{a.ID}) {
			t.Errorf("c3 has %v", got)
		}

		// c1 would be gained, the deleted contact cannot be: nothing changes.
		err := s.SetAccountContacts(ctx, admin, a.ID, []int64{c1.ID, gone.ID})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("with a deleted contact: %v, want not found", err)
		}
		if got := linked(); !slices.Equal(got, []int64{c2.ID, c3.ID}) {
			t.Fatalf("after the failed change linked %v, want [%d %d] unchanged", got, c2.ID, c3.ID)
		}
		if got := accounts(c1.ID); len(got) != 0 {
			t.Errorf("after the failed change c1 has %v", got)
		}
		if err := s.SetAccountContacts(ctx, admin, 999999, nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing account: %v", err)
		}
	})
}
