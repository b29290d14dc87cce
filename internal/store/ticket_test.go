package store_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestTicketLifecycle(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		// Accounts and contacts have their own store; bare rows will do here.
		bare := func(query string) int64 {
			t.Helper()
			var id int64
			err := s.DB().Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				return tx.QueryRowContext(ctx, query, admin.UserID).Scan(&id)
			})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		account := bare(`INSERT INTO accounts (title, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
			VALUES ('ООО Ромашка', $1, $1, $1, 1, 1) RETURNING id`)
		contact := bare(`INSERT INTO contacts (name, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
			VALUES ('Пётр', $1, $1, $1, 1, 1) RETURNING id`)
		contact2 := bare(`INSERT INTO contacts (name, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
			VALUES ('Анна', $1, $1, $1, 1, 1) RETURNING id`)

		k, err := s.CreateTicket(ctx, admin, crm.Ticket{Title: " Не работает выгрузка ", Priority: "high", Category: "1С",
			AccountID: account, ContactID: contact, Description: "С утра не уходят заказы"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.GetTicket(ctx, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Title != "Не работает выгрузка" || got.Status != "Open" || got.Priority != "high" || got.Category != "1С" ||
			got.AccountID != account || got.ContactID != contact || got.Description != "С утра не уходят заказы" || got.AssignedByID != admin.UserID {
			t.Fatalf("read back differs: %+v", got)
		}

		for _, tc := range []struct {
			name  string
			k     crm.Ticket
			field string
		}{
			{"no title", crm.Ticket{}, "title"},
			{"unknown status", crm.Ticket{Title: "x", Status: "Reopened"}, "status"},
			{"lead status", crm.Ticket{Title: "x", Status: "NEW"}, "status"},
			{"bad priority", crm.Ticket{Title: "x", Priority: "asap"}, "priority"},
			{"missing account", crm.Ticket{Title: "x", AccountID: 999999}, "account_id"},
			{"contact id of an account", crm.Ticket{Title: "x", ContactID: 999999}, "contact_id"},
		} {
			_, err := s.CreateTicket(ctx, admin, tc.k)
			if fe, ok := crm.AsFieldError(err); !ok || fe.Field != tc.field {
				t.Errorf("%s: got %v, want an error on %s", tc.name, err, tc.field)
			}
		}

		up, err := s.UpdateTicket(ctx, admin, k.ID, func(x *crm.Ticket) error { x.Status = "In Progress"; return nil })
		if err != nil || up.Status != "In Progress" {
			t.Fatalf("update: %v %+v", err, up)
		}
		evs, err := s.Events(ctx, events.Query{Entity: store.EntityTicket, RecordID: k.ID})
		if err != nil || len(evs) != 2 {
			t.Fatalf("events: %v %+v", err, evs)
		}
		if ch := evs[1].Changes["status"]; len(evs[1].Changes) != 1 || string(ch.Old) != `"Open"` || string(ch.New) != `"In Progress"` {
			t.Fatalf("update changes: %+v", evs[1].Changes)
		}

		// With its client in the recycle bin the ticket can still be closed,
		// but cannot be moved to a deleted contact.
		if err := s.Delete(ctx, admin, store.EntityAccount, account); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, admin, store.EntityContact, contact2); err != nil {
			t.Fatal(err)
		}
		if up, err := s.UpdateTicket(ctx, admin, k.ID, func(x *crm.Ticket) error { x.Status = "Closed"; return nil }); err != nil || up.AccountID != account {
			t.Fatalf("close with a deleted account: %v %+v", err, up)
		}
		_, err = s.UpdateTicket(ctx, admin, k.ID, func(x *crm.Ticket) error { x.ContactID = contact2; return nil })
		if fe, ok := crm.AsFieldError(err); !ok || fe.Field != "contact_id" {
			t.Fatalf("deleted contact accepted: %v", err)
		}
		if _, err := s.CreateTicket(ctx, admin, crm.Ticket{Title: "x", AccountID: account}); err == nil {
			t.Fatal("new ticket on a deleted account accepted")
		}

		if err := s.Delete(ctx, admin, store.EntityTicket, k.ID); err != nil {
			t.Fatal(err)
		}
		if ks, _, _ := s.ListTickets(ctx, store.ListParams{}); len(ks) != 0 {
			t.Fatalf("deleted ticket listed: %d", len(ks))
		}
		if ks, _, _ := s.ListTickets(ctx, store.ListParams{Deleted: true}); len(ks) != 1 || ks[0].DeletedAt == nil {
			t.Fatalf("recycle bin: %+v", ks)
		}
		if _, err := s.UpdateTicket(ctx, admin, k.ID, func(x *crm.Ticket) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of deleted ticket: %v", err)
		}
		if err := s.Restore(ctx, admin, store.EntityTicket, k.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetTicket(ctx, k.ID); got.DeletedAt != nil || got.Status != "Closed" || got.ContactID != contact {
			t.Fatalf("restored: %+v", got)
		}
	})
}

func TestListTickets(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		var ids []int64
		for _, tc := range []struct{ title, status, priority string }{
			{"Д: счёт", "Open", "low"},
			{"А: доступ", "Open", "urgent"},
			{"Г: выгрузка", "Closed", "high"},
			{"В: пароль", "Open", "high"},
			{"Б: отчёт", "Wait For Response", "normal"},
		} {
			k, err := s.CreateTicket(ctx, admin, crm.Ticket{Title: tc.title, Status: tc.status, Priority: tc.priority})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, k.ID)
		}
		var got []int64
		cursor := ""
		for pages := 1; ; pages++ {
			ks, next, err := s.ListTickets(ctx, store.ListParams{Sort: "title", Limit: 2, Cursor: cursor,
				Filters: []store.Filter{{Field: "status", Op: "in", Value: "Open, Wait For Response"}}})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range ks {
				got = append(got, k.ID)
			}
			if next == "" {
				if pages != 2 {
					t.Fatalf("%d pages, want 2", pages)
				}
				break
			}
			cursor = next
		}
		if want := []int64{ids[1], ids[4], ids[3], ids[0]}; !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		ks, _, err := s.ListTickets(ctx, store.ListParams{Filters: []store.Filter{
			{Field: "priority", Value: "high"}, {Field: "assigned_by_id", Value: strconv.FormatInt(admin.UserID, 10)}}, Sort: "-id"})
		if err != nil || len(ks) != 2 || ks[0].ID != ids[3] || ks[1].ID != ids[2] {
			t.Fatalf("high priority: %v %+v", err, ks)
		}
		if ks, _, err := s.ListTickets(ctx, store.ListParams{Q: "ПАРОЛЬ"}); err != nil || len(ks) != 1 || ks[0].ID != ids[3] {
			t.Fatalf("search: %v %+v", err, ks)
		}
	})
}
