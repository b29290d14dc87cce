package store_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func ownerFilter(entity string, id int64) store.ListParams {
	return store.ListParams{Filters: []store.Filter{{Field: "owner_type", Op: "eq", Value: entity}, {Field: "owner_id", Op: "eq", Value: strconv.FormatInt(id, 10)}}}
}

func TestMessageLifecycle(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		lead, err := s.CreateLead(ctx, admin, crm.Lead{Name: "Ольга"})
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 12, 6, 9, 30, 0, 123456789, time.FixedZone("MSK", 3*3600))
		in, err := s.CreateMessage(ctx, admin, crm.Message{Channel: "Telegram", Direction: "in", ConnectionID: 7, Handle: "@olga",
			ChatID: "1001", ExternalID: "15", Text: "Здравствуйте, сколько стоит печать?", SentAt: &at, Author: "Ольга",
			Attachments: []crm.Attachment{{Name: "макет.pdf", FileID: "BQACAgIAAx"}}, OwnerType: "lead", OwnerID: lead.ID})
		if err != nil {
			t.Fatal(err)
		}
		if in.Channel != "telegram" || in.Status != crm.MessageReceived || !in.SentAt.Equal(at.Truncate(time.Microsecond)) || in.SentAt.Location() != time.UTC {
			t.Fatalf("unexpected message: %+v", in)
		}
		out, err := s.CreateMessage(ctx, admin, crm.Message{Channel: "telegram", Direction: "out", ConnectionID: 7, ChatID: "1001",
			Text: "Добрый день! 500 ₽.", OwnerType: "lead", OwnerID: lead.ID})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != crm.MessageQueued || len(out.Attachments) != 0 {
			t.Fatalf("outgoing: %+v", out)
		}
		got, err := s.GetMessage(ctx, in.ID)
		if err != nil || got.Text != in.Text || len(got.Attachments) != 1 || got.Attachments[0].FileID != "BQACAgIAAx" || got.Author != "Ольга" {
			t.Fatalf("read back: %+v %v", got, err)
		}
		if m, err := s.MessageByExternal(ctx, "telegram", 7, "1001", "15"); err != nil || m.ID != in.ID {
			t.Fatalf("by external id: %+v %v", m, err)
		}
		if _, err := s.MessageByExternal(ctx, "telegram", 8, "1001", "15"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another connection's message: %v", err)
		}
		// The state of a send is a change in the message's history.
		sent := at.Add(time.Minute)
		if _, err := s.UpdateMessage(ctx, admin, out.ID, func(m *crm.Message) error {
			m.Status, m.ExternalID, m.SentAt = crm.MessageSent, "16", &sent
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		evs, err := s.Events(ctx, events.Query{Entity: store.EntityMessage, RecordID: out.ID})
		if err != nil || len(evs) != 2 || evs[1].Action != events.Update || evs[1].Changes["status"].New == nil {
			t.Fatalf("history: %+v %v", evs, err)
		}

		// The module's filters: channel, direction, status, record, period.
		for _, tc := range []struct {
			name string
			p    store.ListParams
			want []int64
		}{
			{"record", ownerFilter("lead", lead.ID), []int64{in.ID, out.ID}},
			{"direction", store.ListParams{Filters: []store.Filter{{Field: "direction", Op: "eq", Value: "in"}}}, []int64{in.ID}},
			{"status", store.ListParams{Filters: []store.Filter{{Field: "status", Op: "eq", Value: "sent"}}}, []int64{out.ID}},
			{"channel", store.ListParams{Filters: []store.Filter{{Field: "channel", Op: "eq", Value: "vk"}}}, nil},
			{"period", store.ListParams{Filters: []store.Filter{{Field: "sent_at", Op: "gte", Value: at.Add(30 * time.Second).Format(time.RFC3339)}}}, []int64{out.ID}},
			{"search", store.ListParams{Q: "печать"}, []int64{in.ID}},
		} {
			ms, _, err := s.ListMessages(ctx, tc.p)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var ids []int64
			for _, m := range ms {
				ids = append(ids, m.ID)
			}
			if len(ids) != len(tc.want) || (len(ids) > 0 && (ids[0] != tc.want[0] || ids[len(ids)-1] != tc.want[len(tc.want)-1])) {
				t.Errorf("%s: got %v, want %v", tc.name, ids, tc.want)
			}
		}

		for _, tc := range []struct {
			name  string
			m     crm.Message
			field string
		}{
			{"no channel", crm.Message{Direction: "in", Text: "x"}, "channel"},
			{"unknown channel", crm.Message{Channel: "icq", Direction: "in", Text: "x"}, "channel"},
			{"no direction", crm.Message{Channel: "vk", Text: "x"}, "direction"},
			{"empty", crm.Message{Channel: "vk", Direction: "out", Text: "  "}, "text"},
			{"received outgoing", crm.Message{Channel: "vk", Direction: "out", Text: "x", Status: "received"}, "status"},
			{"owner not linkable", crm.Message{Channel: "vk", Direction: "out", Text: "x", OwnerType: "deal", OwnerID: 1}, "owner_type"},
			{"missing owner", crm.Message{Channel: "vk", Direction: "out", Text: "x", OwnerType: "lead", OwnerID: 999999}, "owner_id"},
			{"file without link", crm.Message{Channel: "vk", Direction: "out", Text: "x", Attachments: []crm.Attachment{{Name: "a"}}}, "attachments[0].url"},
			{"file by ftp", crm.Message{Channel: "vk", Direction: "out", Text: "x", Attachments: []crm.Attachment{{URL: "ftp://h/a"}}}, "attachments[0].url"},
		} {
			_, err := s.CreateMessage(ctx, admin, tc.m)
			if fe, ok := crm.AsFieldError(err); !ok || fe.Field != tc.field {
				t.Errorf("%s: got %v, want an error on %s", tc.name, err, tc.field)
			}
		}
	})
}

// TestMessagesFollowTheirRecord: seed 000 — the messages of a deleted
// record stay in the database, and its restore brings them back to it;
// purging the record leaves them linked to no one.
func TestMessagesFollowTheirRecord(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		c, err := s.CreateContact(ctx, admin, crm.Contact{Name: "Иван"})
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.CreateMessage(ctx, admin, crm.Message{Channel: "telegram", Direction: "in", ChatID: "5", ExternalID: "1", Text: "Привет",
			OwnerType: "contact", OwnerID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, admin, store.EntityContact, c.ID); err != nil {
			t.Fatal(err)
		}
		// The message stays live and can still change state.
		if _, err := s.UpdateMessage(ctx, admin, m.ID, func(m *crm.Message) error { m.Text = "Привет!"; return nil }); err != nil {
			t.Fatalf("a message of a record in the bin: %v", err)
		}
		if ms, _, err := s.ListMessages(ctx, store.ListParams{}); err != nil || len(ms) != 1 {
			t.Fatalf("after delete: %+v %v", ms, err)
		}
		if err := s.Restore(ctx, admin, store.EntityContact, c.ID); err != nil {
			t.Fatal(err)
		}
		ms, _, err := s.ListMessages(ctx, ownerFilter("contact", c.ID))
		if err != nil || len(ms) != 1 || ms[0].ID != m.ID {
			t.Fatalf("after restore: %+v %v", ms, err)
		}
		if err := s.Delete(ctx, admin, store.EntityContact, c.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Purge(ctx, admin, store.EntityContact, c.ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetMessage(ctx, m.ID)
		if err != nil || got.OwnerType != "" || got.OwnerID != 0 || got.Text != "Привет!" {
			t.Fatalf("after purge: %+v %v", got, err)
		}
	})
}

// TestMessageAccess: a manager sees the messages they are responsible
// for, not another manager's.
func TestMessageAccess(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		bg := context.Background()
		anna, err := s.CreateUser(bg, admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1")
		if err != nil {
			t.Fatal(err)
		}
		oleg, err := s.CreateUser(bg, admin, crm.User{Login: "oleg", Role: crm.RoleManager}, "oleg-password-1")
		if err != nil {
			t.Fatal(err)
		}
		mine, err := s.CreateMessage(bg, admin, crm.Message{Channel: "vk", Direction: "out", Text: "Анне", Meta: crm.Meta{AssignedByID: anna.ID}})
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := s.CreateMessage(bg, admin, crm.Message{Channel: "vk", Direction: "out", Text: "Олегу", Meta: crm.Meta{AssignedByID: oleg.ID}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, err := s.ScopeFor(bg, anna)
		if err != nil {
			t.Fatal(err)
		}
		ms, _, err := s.ListMessages(ctx, store.ListParams{})
		if err != nil || len(ms) != 1 || ms[0].ID != mine.ID {
			t.Fatalf("list: %+v %v", ms, err)
		}
		if _, err := s.GetMessage(ctx, theirs.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get another's: %v", err)
		}
		if _, err := s.UpdateMessage(ctx, crm.Actor{UserID: anna.ID}, theirs.ID, func(m *crm.Message) error { m.Text = "x"; return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update another's: %v", err)
		}
		if err := s.Delete(ctx, crm.Actor{UserID: anna.ID}, store.EntityMessage, theirs.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete another's: %v", err)
		}
	})
}
