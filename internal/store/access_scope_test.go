package store_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// world is what the scope tests share: two managers and a full set of
// records Oleg is responsible for.
type world struct {
	anna, oleg, head crm.User
	lead             crm.Lead
	contact          crm.Contact
	account          crm.Account
	deal             crm.Deal
	order            crm.SalesOrder
	invoice          crm.Invoice
	ticket           crm.Ticket
	activity         crm.Activity
	requisite        crm.Requisite
	bank             int64
	binned           crm.Lead
	at               time.Time
}

func newWorld(t *testing.T, s *store.Store, admin crm.Actor) world {
	t.Helper()
	bg := context.Background()
	var w world
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	w.anna, err = s.CreateUser(bg, admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1")
	must(err)
	w.oleg, err = s.CreateUser(bg, admin, crm.User{Login: "oleg", Role: crm.RoleManager}, "oleg-password-1")
	must(err)
	w.head, err = s.CreateUser(bg, admin, crm.User{Login: "head", Role: crm.RoleManager}, "head-password-1")
	must(err)
	oleg := crm.Meta{AssignedByID: w.oleg.ID}
	w.account, err = s.CreateAccount(bg, admin, crm.Account{Title: "ООО Олег", INN: "7707083893", Meta: oleg,
		Extra: crm.Extra{ExternalIDs: map[string]string{"1c": "acc-1"}}})
	must(err)
	w.contact, err = s.CreateContact(bg, admin, crm.Contact{Name: "Пётр", Meta: oleg, AccountIDs: []int64{w.account.ID},
		Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 912 000-00-02"}}}})
	must(err)
	w.lead, err = s.CreateLead(bg, admin, crm.Lead{Title: "Чужая", Meta: oleg, Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 912 000-00-01"}}}})
	must(err)
	w.deal, err = s.CreateDeal(bg, admin, crm.Deal{Title: "Сделка Олега", Meta: oleg})
	must(err)
	w.order, err = s.CreateSalesOrder(bg, admin, crm.SalesOrder{AccountID: w.account.ID, Meta: oleg})
	must(err)
	w.invoice, err = s.CreateInvoice(bg, admin, crm.Invoice{InvoiceDate: "2026-01-10", Meta: oleg})
	must(err)
	w.ticket, err = s.CreateTicket(bg, admin, crm.Ticket{Title: "Обращение", Meta: oleg})
	must(err)
	w.at = time.Now().UTC()
	w.activity, err = s.CreateActivity(bg, admin, crm.Activity{Kind: "call", Subject: "Звонок", StartAt: &w.at, OwnerType: store.EntityLead, OwnerID: w.lead.ID, Meta: oleg})
	must(err)
	w.requisite, err = s.CreateRequisite(bg, admin, w.account.ID, crm.Requisite{PresetID: 1, Name: "Реквизиты", INN: "7707083893",
		BankDetails: []crm.BankDetail{{Name: "Счёт", BIK: "044525225", Account: "40702810900000000001"}}})
	must(err)
	if len(w.requisite.BankDetails) != 1 {
		t.Fatalf("bank details: %+v", w.requisite.BankDetails)
	}
	w.bank = w.requisite.BankDetails[0].ID
	_, err = s.AddComment(bg, admin, store.EntityLead, w.lead.ID, "комментарий")
	must(err)
	w.binned, err = s.CreateLead(bg, admin, crm.Lead{Title: "В корзине", Meta: oleg})
	must(err)
	must(s.Delete(bg, admin, store.EntityLead, w.binned.ID))
	return w
}

// TestScopedReads enumerates the store's public read methods: to a
// manager who is not responsible for Oleg's records, each answers not
// found or leaves them out; to a manager granted Oleg's records, each
// shows them.
func TestScopedReads(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		bg := context.Background()
		w := newWorld(t, s, admin)
		// get: a read of one record; hidden is what it must answer to Anna.
		type read struct {
			name string
			// n is how many of Oleg's records the read returns (lists), or
			// -1 for a read of one record that must answer not found.
			do func(ctx context.Context) (int, error)
		}
		one := func(err error) (int, error) {
			if err != nil {
				return 0, err
			}
			return 1, nil
		}
		n := func(k int, err error) (int, error) { return k, err }
		lp := store.ListParams{}
		reads := []read{
			{"GetLead", func(c context.Context) (int, error) { _, err := s.GetLead(c, w.lead.ID); return one(err) }},
			{"GetContact", func(c context.Context) (int, error) { _, err := s.GetContact(c, w.contact.ID); return one(err) }},
			{"GetAccount", func(c context.Context) (int, error) { _, err := s.GetAccount(c, w.account.ID); return one(err) }},
			{"GetDeal", func(c context.Context) (int, error) { _, err := s.GetDeal(c, w.deal.ID); return one(err) }},
			{"GetSalesOrder", func(c context.Context) (int, error) { _, err := s.GetSalesOrder(c, w.order.ID); return one(err) }},
			{"SalesOrderByNumber", func(c context.Context) (int, error) {
				_, err := s.SalesOrderByNumber(c, w.order.Number)
				return one(err)
			}},
			{"GetInvoice", func(c context.Context) (int, error) { _, err := s.GetInvoice(c, w.invoice.ID); return one(err) }},
			{"InvoiceByNumber", func(c context.Context) (int, error) {
				_, err := s.InvoiceByNumber(c, w.invoice.Number)
				return one(err)
			}},
			{"GetTicket", func(c context.Context) (int, error) { _, err := s.GetTicket(c, w.ticket.ID); return one(err) }},
			{"GetActivity", func(c context.Context) (int, error) { _, err := s.GetActivity(c, w.activity.ID); return one(err) }},
			{"FindByExternalID", func(c context.Context) (int, error) {
				_, err := s.FindByExternalID(c, store.EntityAccount, "1c", "acc-1")
				return one(err)
			}},
			{"GetRequisite", func(c context.Context) (int, error) { _, err := s.GetRequisite(c, w.requisite.ID); return one(err) }},
			{"RequisitesOf", func(c context.Context) (int, error) {
				_, err := s.RequisitesOf(c, store.EntityAccount, w.account.ID)
				return one(err)
			}},
			{"GetBankDetail", func(c context.Context) (int, error) { _, _, err := s.GetBankDetail(c, w.bank); return one(err) }},
			{"AccountContactIDs", func(c context.Context) (int, error) {
				ids, err := s.AccountContactIDs(c, w.account.ID)
				return n(len(ids), err) // a hidden account: not found
			}},
			{"ListComments", func(c context.Context) (int, error) {
				_, err := s.ListComments(c, store.EntityLead, w.lead.ID)
				return one(err)
			}},
			{"Timeline", func(c context.Context) (int, error) {
				_, err := s.Timeline(c, store.EntityLead, w.lead.ID, 10)
				return one(err)
			}},
			{"ListLeads", func(c context.Context) (int, error) { v, _, err := s.ListLeads(c, lp); return n(len(v), err) }},
			{"ListLeads by phone", func(c context.Context) (int, error) {
				v, _, err := s.ListLeads(c, store.ListParams{Phone: "89120000001"})
				return n(len(v), err)
			}},
			{"ListLeads search", func(c context.Context) (int, error) {
				v, _, err := s.ListLeads(c, store.ListParams{Q: "Чужая"})
				return n(len(v), err)
			}},
			{"ListLeads deleted", func(c context.Context) (int, error) {
				v, _, err := s.ListLeads(c, store.ListParams{Deleted: true})
				return n(len(v), err)
			}},
			{"ListContacts", func(c context.Context) (int, error) { v, _, err := s.ListContacts(c, lp); return n(len(v), err) }},
			{"ListContacts duplicates by phone", func(c context.Context) (int, error) {
				v, _, err := s.ListContacts(c, store.ListParams{Phone: "+79120000002"})
				return n(len(v), err)
			}},
			{"ListAccounts", func(c context.Context) (int, error) { v, _, err := s.ListAccounts(c, lp); return n(len(v), err) }},
			{"ListAccounts by INN", func(c context.Context) (int, error) {
				v, _, err := s.ListAccounts(c, store.ListParams{INN: "7707083893"})
				return n(len(v), err)
			}},
			{"ListDeals", func(c context.Context) (int, error) { v, _, err := s.ListDeals(c, lp); return n(len(v), err) }},
			{"ListDealIDs (kanban)", func(c context.Context) (int, error) { p, err := s.ListDealIDs(c, lp); return n(len(p.IDs), err) }},
			{"ListSalesOrders", func(c context.Context) (int, error) { v, _, err := s.ListSalesOrders(c, lp); return n(len(v), err) }},
			{"ListInvoices", func(c context.Context) (int, error) { v, _, err := s.ListInvoices(c, lp); return n(len(v), err) }},
			{"ListTickets", func(c context.Context) (int, error) { v, _, err := s.ListTickets(c, lp); return n(len(v), err) }},
			{"ListActivities", func(c context.Context) (int, error) { v, _, err := s.ListActivities(c, lp); return n(len(v), err) }},
			{"Calendar of all", func(c context.Context) (int, error) {
				v, err := s.Calendar(c, 0, w.at.Add(-time.Hour), w.at.Add(time.Hour))
				return n(len(v), err)
			}},
			{"Calendar of Oleg", func(c context.Context) (int, error) {
				v, err := s.Calendar(c, w.oleg.ID, w.at.Add(-time.Hour), w.at.Add(time.Hour))
				return n(len(v), err)
			}},
			{"RecycleBin", func(c context.Context) (int, error) { v, err := s.RecycleBin(c, "", 10); return n(len(v), err) }},
		}
		anna, err := s.ScopeFor(bg, w.anna)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetGrants(bg, admin, w.head.ID, []store.Grant{{OwnerID: w.oleg.ID}}); err != nil {
			t.Fatal(err)
		}
		head, err := s.ScopeFor(bg, w.head)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reads {
			k, err := r.do(anna)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				t.Errorf("%s as Anna: %v", r.name, err)
			case k != 0:
				t.Errorf("%s as Anna shows %d of Oleg's records", r.name, k)
			}
			if k, err := r.do(head); err != nil || k == 0 {
				t.Errorf("%s as Oleg's head: %d records, %v", r.name, k, err)
			}
			if k, err := r.do(bg); err != nil || k == 0 {
				t.Errorf("%s unscoped: %d records, %v", r.name, k, err)
			}
		}
	})
}

// TestScopeCheckedInsideWrite: a record reassigned between the moment a
// change is asked for and the moment its transaction runs is judged as
// it is in the transaction.
func TestScopeCheckedInsideWrite(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		bg := context.Background()
		w := newWorld(t, s, admin)
		ctx, err := s.ScopeFor(bg, w.anna)
		if err != nil {
			t.Fatal(err)
		}
		as := crm.Actor{UserID: w.anna.ID}
		changes := []struct {
			name string
			do   func(id int64) error
		}{
			{"update", func(id int64) error {
				_, err := s.UpdateLead(ctx, as, id, func(l *crm.Lead) error { l.Title = "взлом"; return nil })
				return err
			}},
			{"comment", func(id int64) error {
				_, err := s.AddComment(ctx, as, store.EntityLead, id, "привет")
				return err
			}},
			{"convert", func(id int64) error {
				_, err := s.ConvertLead(ctx, as, id, store.ConvertOptions{Deal: true})
				return err
			}},
			{"delete", func(id int64) error { return s.Delete(ctx, as, store.EntityLead, id) }},
		}
		for _, c := range changes {
			// Anna's own lead, handed to Oleg just as her change begins.
			l, err := s.CreateLead(bg, admin, crm.Lead{Title: "Моя", Meta: crm.Meta{AssignedByID: w.anna.ID}})
			if err != nil {
				t.Fatal(err)
			}
			var fired atomic.Bool
			s.SetBeforeWriteHook(func() {
				if fired.CompareAndSwap(false, true) {
					if _, err := s.UpdateLead(bg, admin, l.ID, func(l *crm.Lead) error { l.AssignedByID = w.oleg.ID; return nil }); err != nil {
						t.Error(err)
					}
				}
			})
			err = c.do(l.ID)
			s.SetBeforeWriteHook(nil)
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s of a lead reassigned before the write: %v, want not found", c.name, err)
			}
			got, err := s.GetLead(bg, l.ID)
			if err != nil || got.Title != "Моя" || got.DeletedAt != nil || got.ConvertedAt != nil {
				t.Errorf("%s changed Oleg's lead: %+v %v", c.name, got, err)
			}
		}

		// A requisite of an account handed to Oleg as the change begins.
		acc, err := s.CreateAccount(bg, admin, crm.Account{Title: "Моя", Meta: crm.Meta{AssignedByID: w.anna.ID}})
		if err != nil {
			t.Fatal(err)
		}
		var fired atomic.Bool
		s.SetBeforeWriteHook(func() {
			if fired.CompareAndSwap(false, true) {
				if _, err := s.UpdateAccount(bg, admin, acc.ID, func(a *crm.Account) error { a.AssignedByID = w.oleg.ID; return nil }); err != nil {
					t.Error(err)
				}
			}
		})
		_, err = s.CreateRequisite(ctx, as, acc.ID, crm.Requisite{PresetID: 1, Name: "x", INN: "7707083893"})
		s.SetBeforeWriteHook(nil)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("requisite of an account reassigned before the write: %v, want not found", err)
		}
	})
}

// TestGrants: a head of sales granted her team's records sees them, and
// changes them only where the grant says so; a grant of all to read lets
// a manager see everything and change only their own.
func TestGrants(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		bg := context.Background()
		w := newWorld(t, s, admin)
		hs := crm.Actor{UserID: w.head.ID}
		annas, err := s.CreateLead(bg, admin, crm.Lead{Title: "Лид Анны", Meta: crm.Meta{AssignedByID: w.anna.ID}})
		if err != nil {
			t.Fatal(err)
		}
		rename := func(ctx context.Context, id int64) error {
			_, err := s.UpdateLead(ctx, hs, id, func(l *crm.Lead) error { l.Title += "!"; return nil })
			return err
		}
		// Oleg's records to read, Anna's to change.
		if err := s.SetGrants(bg, admin, w.head.ID, []store.Grant{{OwnerID: w.oleg.ID}, {OwnerID: w.anna.ID, Edit: true}}); err != nil {
			t.Fatal(err)
		}
		if gs, err := s.Grants(bg, w.head.ID); err != nil || len(gs) != 2 {
			t.Fatalf("grants: %+v %v", gs, err)
		}
		ctx, err := s.ScopeFor(bg, w.head)
		if err != nil {
			t.Fatal(err)
		}
		if ls, _, err := s.ListLeads(ctx, store.ListParams{}); err != nil || len(ls) != 2 {
			t.Fatalf("team's leads: %d %v", len(ls), err)
		}
		if err := rename(ctx, annas.ID); err != nil {
			t.Errorf("change a lead granted with edit: %v", err)
		}
		if err := rename(ctx, w.lead.ID); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("change a lead granted to read: %v, want forbidden", err)
		}
		if err := s.Delete(ctx, hs, store.EntityLead, w.lead.ID); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("delete a lead granted to read: %v, want forbidden", err)
		}
		if _, err := s.AddComment(ctx, hs, store.EntityLead, w.lead.ID, "x"); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("comment on a lead granted to read: %v, want forbidden", err)
		}
		if _, err := s.UpdateRequisite(ctx, hs, w.requisite.ID, crm.Requisite{PresetID: 1, Name: "x", INN: "7707083893"}); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("change a requisite granted to read: %v, want forbidden", err)
		}

		// All records to read: Anna sees everything and changes her own.
		if err := s.SetGrants(bg, admin, w.anna.ID, []store.Grant{{OwnerID: 0}}); err != nil {
			t.Fatal(err)
		}
		actx, _ := s.ScopeFor(bg, w.anna)
		if ls, _, _ := s.ListLeads(actx, store.ListParams{}); len(ls) != 2 {
			t.Errorf("all to read: %d leads", len(ls))
		}
		if _, err := s.UpdateLead(actx, crm.Actor{UserID: w.anna.ID}, w.lead.ID, func(l *crm.Lead) error { l.Title = "x"; return nil }); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("all to read, change Oleg's: %v", err)
		}
		if _, err := s.UpdateLead(actx, crm.Actor{UserID: w.anna.ID}, annas.ID, func(l *crm.Lead) error { l.Title = "мой"; return nil }); err != nil {
			t.Errorf("all to read, change own: %v", err)
		}
		// All with edit: an unlimited request.
		if err := s.SetSeesAll(bg, admin, w.anna.ID, true); err != nil {
			t.Fatal(err)
		}
		if all, _ := s.SeesAll(bg, w.anna); !all {
			t.Error("all with edit is not all")
		}
		if actx, _ = s.ScopeFor(bg, w.anna); store.IsScoped(actx) {
			t.Error("all with edit is still scoped")
		}

		for _, bad := range [][]store.Grant{{{OwnerID: w.head.ID}}, {{OwnerID: 999999}}, {{OwnerID: w.oleg.ID}, {OwnerID: w.oleg.ID}}, {{OwnerID: -1}}} {
			if err := s.SetGrants(bg, admin, w.head.ID, bad); !strings.HasPrefix(fieldOf(err), "grants[") {
				t.Errorf("grants %+v: %v, want a field error", bad, err)
			}
		}
		if err := s.SetGrants(bg, admin, 999999, nil); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("grants of a missing user: %v", err)
		}
	})
}

// TestTxLookupsScope: inside a manager's write, the lookups of Tx see
// what the manager sees; t.Unscoped() — the system's own matching, as
// intake and the 1C exchange do — sees every record.
func TestTxLookupsScope(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		bg := context.Background()
		w := newWorld(t, s, admin)
		ctx, _ := s.ScopeFor(bg, w.anna)
		err := s.Write(ctx, crm.Actor{UserID: w.anna.ID}, func(tx *store.Tx) error {
			if _, err := tx.FindAccountByINN("7707083893"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("scoped find by INN: %v, want not found", err)
			}
			if _, err := tx.FindContactByComm("+7 912 000-00-02", ""); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("scoped find by phone: %v, want not found", err)
			}
			if id, err := tx.IDByExternal(store.EntityAccount, "1c", "acc-1"); err != nil || id != 0 {
				t.Errorf("scoped find by 1C id: %d %v", id, err)
			}
			if id, err := tx.SalesOrderIDByNumber(w.order.Number); err != nil || id != 0 {
				t.Errorf("scoped find by number: %d %v", id, err)
			}
			sys := tx.Unscoped()
			if id, err := sys.FindAccountByINN("7707083893"); err != nil || id != w.account.ID {
				t.Errorf("system find by INN: %d %v", id, err)
			}
			if id, err := sys.FindContactByComm("+7 912 000-00-02", ""); err != nil || id != w.contact.ID {
				t.Errorf("system find by phone: %d %v", id, err)
			}
			if id, err := sys.IDByExternal(store.EntityAccount, "1c", "acc-1"); err != nil || id != w.account.ID {
				t.Errorf("system find by 1C id: %d %v", id, err)
			}
			if id, err := sys.AccountIDByTitle("ООО Олег"); err != nil || id != w.account.ID {
				t.Errorf("system find by title: %d %v", id, err)
			}
			// A lead the manager adds through the system's match links to
			// Oleg's company, and its events are the write's.
			l := crm.Lead{Title: "С сайта", AccountID: w.account.ID, Meta: crm.Meta{AssignedByID: w.anna.ID}}
			return sys.AddLead(&l)
		})
		if err != nil {
			t.Fatal(err)
		}
		ls, _, err := s.ListLeads(ctx, store.ListParams{Q: "С сайта"})
		if err != nil || len(ls) != 1 || ls[0].AccountID != w.account.ID {
			t.Fatalf("the lead added in the write: %+v %v", ls, err)
		}
		if ev, err := s.Timeline(ctx, store.EntityLead, ls[0].ID, 10); err != nil || len(ev) == 0 {
			t.Fatalf("the lead's create event: %v %v", ev, err)
		}
	})
}
