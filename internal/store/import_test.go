package store_test

import (
	"context"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestImportAllOrNothing(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		rows := []crm.Lead{
			{Title: "Первый", Comms: crm.Comms{Phones: []crm.Comm{{Value: "8 912 345-67-89"}}}},
			{Title: "Второй", Comms: crm.Comms{Emails: []crm.Comm{{Value: "не-адрес"}}}},
			{Title: "Третий", StatusID: "NO_SUCH_STATUS"},
		}
		ids, bad, err := s.ImportLeads(ctx, admin, rows, false)
		if err != nil {
			t.Fatal(err)
		}
		if ids != nil || len(bad) != 2 || bad[0].Row != 2 || bad[0].Field != "emails[0].value" || bad[1].Row != 3 || bad[1].Field != "status_id" {
			t.Fatalf("ids %v, errors %+v", ids, bad)
		}
		if ls, _, _ := s.ListLeads(ctx, store.ListParams{}); len(ls) != 0 {
			t.Fatalf("a refused import wrote %d leads", len(ls))
		}
		rows = rows[:1]
		rows = append(rows, crm.Lead{Title: "Второй", Name: "Анна"})
		if ids, bad, err := s.ImportLeads(ctx, admin, rows, true); err != nil || ids != nil || len(bad) != 0 {
			t.Fatalf("dry run: %v %+v %v", ids, bad, err)
		}
		if ls, _, _ := s.ListLeads(ctx, store.ListParams{}); len(ls) != 0 {
			t.Fatal("a dry run wrote leads")
		}
		ids, bad, err = s.ImportLeads(ctx, admin, rows, false)
		if err != nil || len(bad) != 0 || len(ids) != 2 {
			t.Fatalf("import: %v %+v %v", ids, bad, err)
		}
		l, err := s.GetLead(ctx, ids[0])
		if err != nil || l.Phones[0].Normalized != "+79123456789" || l.CreatedByID != admin.UserID {
			t.Fatalf("imported lead: %+v %v", l, err)
		}
		evs, err := s.Events(ctx, events.Query{Entity: store.EntityLead, Limit: 10})
		if err != nil || len(evs) != 2 || evs[1].RecordID != ids[1] || evs[1].Action != events.Create {
			t.Fatalf("events: %+v %v", evs, err)
		}

		cs, bad, err := s.ImportContacts(ctx, admin, []crm.Contact{{Name: "Иван", AccountIDs: []int64{99999}}}, false)
		if err != nil || cs != nil || len(bad) != 1 || bad[0].Field != "account_ids" {
			t.Fatalf("contact with a missing account: %v %+v %v", cs, bad, err)
		}
		as, bad, err := s.ImportAccounts(ctx, admin, []crm.Account{{Title: "ООО Ромашка", INN: "7707083893"}}, false)
		if err != nil || len(bad) != 0 || len(as) != 1 {
			t.Fatalf("account import: %v %+v %v", as, bad, err)
		}
	})
}
