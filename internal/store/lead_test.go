package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestLeadLifecycle(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		vat := crm.Amount(2000)
		l, err := s.CreateLead(ctx, admin, crm.Lead{
			Name: "Иван", LastName: "Петров",
			Comms: crm.Comms{Phones: []crm.Comm{{Value: "8 (925) 642-42-90", ValueType: "mobile"}},
				Emails: []crm.Comm{{Value: " Ivan@Example.RU "}}},
			UTM:         crm.UTM{UTMSource: "yandex"},
			ProductRows: []crm.LineItem{{Name: "Баннер", Price: 150050, Quantity: 2500, Unit: "м2", VATRate: &vat, VATIncluded: true}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if l.ID == 0 || l.Title != "Петров Иван" || l.Phones[0].Normalized != "+79256424290" || l.Phones[0].ValueType != "MOBILE" {
			t.Fatalf("unexpected lead: %+v", l)
		}
		if l.Emails[0].Normalized != "ivan@example.ru" {
			t.Fatalf("email not normalized: %+v", l.Emails)
		}
		// 1500.50 × 2.5 = 3751.25, VAT 20% inside = 625.21
		if l.Opportunity != 375125 || l.ProductRows[0].Tax != 62521 {
			t.Fatalf("opportunity %s tax %s", l.Opportunity, l.ProductRows[0].Tax)
		}
		got, err := s.GetLead(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Title != l.Title || len(got.Phones) != 1 || got.ProductRows[0].Sum != 375125 || got.CreatedByID != admin.UserID {
			t.Fatalf("read back differs: %+v", got)
		}
		for _, phone := range []string{"+7 925 642 42 90", "89256424290", "79256424290", "(925) 642-42-90"} {
			ls, _, err := s.ListLeads(ctx, store.ListParams{Phone: phone})
			if err != nil || len(ls) != 1 || ls[0].ID != l.ID {
				t.Fatalf("find by phone %q: %v %d", phone, err, len(ls))
			}
		}
		up, err := s.UpdateLead(ctx, admin, l.ID, func(x *crm.Lead) error { x.StatusID = "IN_PROCESS"; return nil })
		if err != nil || up.StatusID != "IN_PROCESS" {
			t.Fatalf("update: %v %+v", err, up)
		}
		_, err = s.UpdateLead(ctx, admin, l.ID, func(x *crm.Lead) error { x.StatusID = "NOPE"; return nil })
		if fe, ok := crm.AsFieldError(err); !ok || fe.Field != "status_id" {
			t.Fatalf("bad status accepted: %v", err)
		}
		if err := s.Delete(ctx, admin, store.EntityLead, l.ID); err != nil {
			t.Fatal(err)
		}
		if ls, _, _ := s.ListLeads(ctx, store.ListParams{}); len(ls) != 0 {
			t.Fatalf("deleted lead still listed")
		}
		if _, err := s.UpdateLead(ctx, admin, l.ID, func(x *crm.Lead) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of deleted lead: %v", err)
		}
		if err := s.Restore(ctx, admin, store.EntityLead, l.ID); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetLead(ctx, l.ID)
		if got.DeletedAt != nil || len(got.Phones) != 1 {
			t.Fatalf("restore lost data: %+v", got)
		}
		evs, err := s.Events(ctx, events.Query{Entity: store.EntityLead, RecordID: l.ID})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range evs {
			actions = append(actions, e.Action)
		}
		if len(evs) != 4 || actions[0] != "create" || actions[1] != "update" || actions[2] != "delete" || actions[3] != "restore" {
			t.Fatalf("events: %v", actions)
		}
		if ch, ok := evs[1].Changes["status_id"]; !ok || string(ch.Old) != `"NEW"` || string(ch.New) != `"IN_PROCESS"` || len(evs[1].Changes) != 1 {
			t.Fatalf("update changes: %+v", evs[1].Changes)
		}
	})
}
