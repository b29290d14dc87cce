package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
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

// TestPlainLeadOneStatement: on PostgreSQL a plain lead is created in one
// statement (issue 21), the other leads as every record is — the two
// must store the same: the row, the multi-fields with the ids the create
// returned, the create event, the report counts. A plain lead and one
// made the usual way (a write hook set sends it there) are compared on
// both engines, and the event log has no gap.
func TestPlainLeadOneStatement(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		s := store.New(d)
		admin := storetest.Admin(t, s)
		ctx := context.Background()
		lead := func() crm.Lead {
			return crm.Lead{Title: "Заказ звонка", Name: "Анна", LastName: "Смирнова", SourceID: "WEB", UTM: crm.UTM{UTMSource: "yandex"},
				Address: crm.Address{City: "Казань"},
				Comms: crm.Comms{
					Phones: []crm.Comm{{Value: "8 (917) 555-01-02", ValueType: "MOBILE"}, {Value: "+7 843 200-00-00", ValueType: "WORK"}},
					Emails: []crm.Comm{{Value: "Anna@Example.ru", ValueType: "WORK"}},
					IMs:    []crm.Comm{{Value: "anna_s", ValueType: "TELEGRAM"}},
				}}
		}
		before, err := s.Events(ctx, events.Query{Newest: true, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		var last int64
		if len(before) > 0 {
			last = before[0].ID
		}
		commits := d.Commits()
		plain, err := s.CreateLead(ctx, admin, lead())
		if err != nil {
			t.Fatal(err)
		}
		// Write's transactions are counted; the one statement is not.
		if n, want := d.Commits()-commits, map[db.Dialect]int64{db.SQLite: 1, db.Postgres: 0}[d.Dialect]; n != want {
			t.Fatalf("a plain lead's create committed %d transactions of Write, want %d", n, want)
		}
		s.SetBeforeWriteHook(func() {})
		usual, err := s.CreateLead(ctx, admin, lead())
		s.SetBeforeWriteHook(nil)
		if err != nil {
			t.Fatal(err)
		}
		// No lead alone: a lead with nothing in its multi-fields.
		bare, err := s.CreateLead(ctx, admin, crm.Lead{Title: "Без телефона"})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range [][]crm.Comm{plain.Comms.Phones, plain.Comms.Emails, plain.Comms.IMs} {
			for _, it := range c {
				if it.ID == 0 {
					t.Fatalf("a multi-field of the plain lead has no id: %+v", plain.Comms)
				}
			}
		}
		for _, l := range []crm.Lead{plain, usual, bare} {
			got, err := s.GetLead(ctx, l.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Comms, l.Comms) {
				t.Fatalf("lead %d: stored multi-fields %+v, the create returned %+v", l.ID, got.Comms, l.Comms)
			}
		}
		a, _ := s.GetLead(ctx, plain.ID)
		b, _ := s.GetLead(ctx, usual.ID)
		a.ID, a.CreatedAt, a.UpdatedAt = 0, b.CreatedAt, b.UpdatedAt
		for _, c := range []*[]crm.Comm{&a.Comms.Phones, &a.Comms.Emails, &a.Comms.IMs, &b.Comms.Phones, &b.Comms.Emails, &b.Comms.IMs} {
			for i := range *c {
				(*c)[i].ID = 0
			}
		}
		b.ID = 0
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("stored apart:\nplain %+v\nusual %+v", a, b)
		}
		evs, err := s.Events(ctx, events.Query{After: last, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 3 {
			t.Fatalf("%d events, want 3", len(evs))
		}
		for i, ev := range evs {
			if ev.ID != last+int64(i)+1 || ev.Action != events.Create || ev.Entity != store.EntityLead {
				t.Fatalf("event %d: %+v", i, ev)
			}
		}
		if evs[0].RecordID != plain.ID || evs[1].RecordID != usual.ID || evs[2].RecordID != bare.ID {
			t.Fatalf("events of records %d, %d, %d", evs[0].RecordID, evs[1].RecordID, evs[2].RecordID)
		}
		if !reflect.DeepEqual(evs[0].Changes, evs[1].Changes) || evs[0].Actor != evs[1].Actor || evs[0].ActorUserID != evs[1].ActorUserID {
			t.Fatalf("events apart:\n%+v\n%+v", evs[0], evs[1])
		}
		rep, err := s.ReportLeads(ctx, store.ReportFilter{})
		if err != nil {
			t.Fatal(err)
		}
		full, err := s.ReportLeadsFull(ctx, store.ReportFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(rep, full) {
			t.Fatalf("report counts %+v, from the records %+v", rep, full)
		}
	})
}
