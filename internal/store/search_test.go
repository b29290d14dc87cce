package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestGlobalSearch: the global search finds a record by the last 7 digits
// of a phone, an e-mail's domain, an INN, an order's or invoice's number
// and a name in any letter case (Cyrillic too), on both engines; a
// manager finds only what they may see.
func TestGlobalSearch(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		lead, err := s.CreateLead(ctx, admin, crm.Lead{Title: "Заявка на ПЕСОК", Name: "Ёжиков",
			Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 (916) 123-45-67"}}, Emails: []crm.Comm{{Value: "Pesok@Mail.RU"}}}})
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.CreateLead(ctx, admin, crm.Lead{Title: "Щебень", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 916 765-43-21"}}, Emails: []crm.Comm{{Value: "a@yandex.ru"}}}})
		if err != nil {
			t.Fatal(err)
		}
		con, err := s.CreateContact(ctx, admin, crm.Contact{Name: "Анна", LastName: "Смирнова", Comms: crm.Comms{Emails: []crm.Comm{{Value: "anna@mail.ru"}}}})
		if err != nil {
			t.Fatal(err)
		}
		acc, err := s.CreateAccount(ctx, admin, crm.Account{Title: "ООО «Стройка»", INN: "7707083893"})
		if err != nil {
			t.Fatal(err)
		}
		deal, err := s.CreateDeal(ctx, admin, crm.Deal{Title: "Поставка щебня"})
		if err != nil {
			t.Fatal(err)
		}
		order, err := s.CreateSalesOrder(ctx, admin, crm.SalesOrder{})
		if err != nil {
			t.Fatal(err)
		}
		inv, err := s.CreateInvoice(ctx, admin, crm.Invoice{})
		if err != nil {
			t.Fatal(err)
		}
		prod, err := s.CreateProduct(ctx, admin, crm.Product{Name: "Цемент М500", Article: "CEM-500"})
		if err != nil {
			t.Fatal(err)
		}
		type ref struct {
			e  string
			id int64
		}
		for _, tc := range []struct {
			q    string
			want []ref
		}{
			{"1234567", []ref{{store.EntityLead, lead.ID}}},
			{"123-45-67", []ref{{store.EntityLead, lead.ID}}},
			{"9161234567", []ref{{store.EntityLead, lead.ID}}},
			{"89161234567", []ref{{store.EntityLead, lead.ID}}},
			{"8161234567", nil}, // the last 7 digits match, the rest does not
			{"mail.ru", []ref{{store.EntityLead, lead.ID}, {store.EntityContact, con.ID}}},
			{"@MAIL.RU", []ref{{store.EntityLead, lead.ID}, {store.EntityContact, con.ID}}},
			{"yandex.ru", []ref{{store.EntityLead, other.ID}}},
			{"7707083893", []ref{{store.EntityAccount, acc.ID}}},
			{order.Number, []ref{{store.EntitySalesOrder, order.ID}}}, // numbered by the system
			{strings.ToLower(order.Number), []ref{{store.EntitySalesOrder, order.ID}}},
			{strings.ToLower(inv.Number), []ref{{store.EntityInvoice, inv.ID}}},
			{"песок", []ref{{store.EntityLead, lead.ID}}},
			{"ЁЖИКОВ", []ref{{store.EntityLead, lead.ID}}},
			{"СМИРНОВА", []ref{{store.EntityContact, con.ID}}},
			{"стройка", []ref{{store.EntityAccount, acc.ID}}},
			{"ЩЕБ", []ref{{store.EntityLead, other.ID}, {store.EntityDeal, deal.ID}}},
			{"цемент", []ref{{store.EntityProduct, prod.ID}}},
			{"cem-500", []ref{{store.EntityProduct, prod.ID}}},
			{"нет такого", nil},
		} {
			res, err := s.Search(ctx, tc.q, 5)
			if err != nil {
				t.Fatalf("%q: %v", tc.q, err)
			}
			var got []ref
			for _, h := range res.Hits {
				got = append(got, ref{h.Entity, h.ID})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%q: found %v, want %v", tc.q, got, tc.want)
			}
		}
		res, err := s.Search(ctx, "1234567", 5)
		if err != nil {
			t.Fatal(err)
		}
		if h := res.Hits[0]; h.Title != "Заявка на ПЕСОК — Ёжиков" || !slices.Equal(h.Phones, []string{"+7 (916) 123-45-67"}) || !slices.Equal(h.Emails, []string{"Pesok@Mail.RU"}) {
			t.Errorf("hit: %+v", h)
		}

		// A manager sees only their own records.
		m, err := s.CreateUser(ctx, admin, crm.User{Login: "manager", FirstName: "Менеджер", Role: crm.RoleManager, Active: true}, "manager-password")
		if err != nil {
			t.Fatal(err)
		}
		mine, err := s.CreateLead(ctx, admin, crm.Lead{Title: "Мой песок", Meta: crm.Meta{AssignedByID: m.ID}})
		if err != nil {
			t.Fatal(err)
		}
		mctx, err := s.ScopeFor(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		res, err = s.Search(mctx, "ПЕСОК", 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != 1 || res.Hits[0].ID != mine.ID {
			t.Errorf("manager's search: %+v", res.Hits)
		}
		// More than the limit: the entity says there are more.
		res, err = s.Search(ctx, "песок", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != 1 || res.Hits[0].ID != mine.ID || !res.More[store.EntityLead] {
			t.Errorf("limited search: %+v", res)
		}
	})
}

func TestDomainQuery(t *testing.T) {
	for q, want := range map[string]bool{"mail.ru": true, "@Mail.RU": true, "пример.рф": true, "my-firm.co.uk": true,
		"М5.0": false, "v.2": false, "mail.ru ": false, "a b.ru": false, ".ru": false, "mail.": false, "иван@mail.ru": false} {
		if _, got := store.DomainQuery(q); got != want {
			t.Errorf("%q: %v", q, got)
		}
	}
}
