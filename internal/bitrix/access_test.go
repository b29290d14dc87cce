package bitrix_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// TestManagerWebhookScope: a manager's webhook lists, finds and reads only
// the manager's records (the access rule of the store, applied to the
// Bitrix24 REST's own list SQL too).
func TestManagerWebhookScope(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		anna, err := e.s.CreateUser(ctx, e.admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1")
		if err != nil {
			t.Fatal(err)
		}
		phone := crm.Comms{Phones: []crm.Comm{{Value: "+7 912 000-00-01"}}}
		mine, _ := e.s.CreateLead(ctx, e.admin, crm.Lead{Title: "Анны", Meta: crm.Meta{AssignedByID: anna.ID}, Comms: phone})
		theirs, _ := e.s.CreateLead(ctx, e.admin, crm.Lead{Title: "Чужой", Comms: phone})
		if _, err := e.s.CreateContact(ctx, e.admin, crm.Contact{Name: "Чужой контакт"}); err != nil {
			t.Fatal(err)
		}
		_, code, err := e.h.Webhooks().CreateWebhook(ctx, anna.ID, "anna", []string{"crm"})
		if err != nil {
			t.Fatal(err)
		}
		m := e.with(t)
		m.base = fmt.Sprintf("%s/rest/%d/%s/", e.srv.URL, anna.ID, code)

		list := m.ok(m.get("crm.lead.list", ""))
		if total := list.str(t, "total"); total != "1" || !strings.Contains(string(list.Body), `"TITLE":"Анны"`) || strings.Contains(string(list.Body), "Чужой") {
			t.Fatalf("crm.lead.list: %s", list.Body)
		}
		if c := m.ok(m.get("crm.contact.list", "")); c.str(t, "total") != "0" {
			t.Fatalf("crm.contact.list: %s", c.Body)
		}
		dup := m.ok(m.get("crm.duplicate.findbycomm", q("type", "PHONE", "values[]", "+79120000001", "entity_type", "LEAD")))
		if s := string(dup.Body); !strings.Contains(s, fmt.Sprint(mine.ID)) || strings.Contains(s, fmt.Sprintf("[%d,%d]", mine.ID, theirs.ID)) {
			t.Fatalf("crm.duplicate.findbycomm: %s", dup.Body)
		}
		if a := m.get("crm.lead.get", q("id", fmt.Sprint(theirs.ID))); a.Status == 200 {
			t.Fatalf("crm.lead.get of another's lead: %s", a.Body)
		}
		// Requisites and bank details go with their owner.
		acc, err := e.s.CreateAccount(ctx, e.admin, crm.Account{Title: "Чужая компания"})
		if err != nil {
			t.Fatal(err)
		}
		rq, err := e.s.CreateRequisite(ctx, e.admin, acc.ID, crm.Requisite{PresetID: 1, Name: "Реквизиты", INN: "7707083893",
			BankDetails: []crm.BankDetail{{Name: "Счёт", BIK: "044525225", Account: "40702810938000000001"}}})
		if err != nil {
			t.Fatal(err)
		}
		if l := m.ok(m.get("crm.requisite.list", "")); l.str(t, "total") != "0" {
			t.Fatalf("crm.requisite.list: %s", l.Body)
		}
		if l := m.ok(m.get("crm.requisite.bankdetail.list", "")); l.str(t, "total") != "0" {
			t.Fatalf("crm.requisite.bankdetail.list: %s", l.Body)
		}
		if a := m.get("crm.requisite.get", q("id", fmt.Sprint(rq.ID))); a.Status == 200 {
			t.Fatalf("crm.requisite.get of another's: %s", a.Body)
		}
		if a := e.ok(e.get("crm.requisite.list", "")); a.str(t, "total") != "1" {
			t.Fatalf("admin's crm.requisite.list: %s", a.Body)
		}
		// The admin's webhook still sees all.
		if all := e.ok(e.get("crm.lead.list", "")); all.str(t, "total") != "2" {
			t.Fatalf("admin's crm.lead.list: %s", all.Body)
		}
	})
}

// TestManagerWebhookGrants: a head of sales granted one manager's records
// to view and another's to change sees both through her webhook, changes
// only the second's, and is told ACCESS_DENIED for the first.
func TestManagerWebhookGrants(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mk := func(login string) crm.User {
			u, err := e.s.CreateUser(ctx, e.admin, crm.User{Login: login, Role: crm.RoleManager}, login+"-password-1")
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		head, anna, oleg := mk("head"), mk("anna"), mk("oleg")
		annas, _ := e.s.CreateLead(ctx, e.admin, crm.Lead{Title: "Анны", Meta: crm.Meta{AssignedByID: anna.ID}})
		olegs, _ := e.s.CreateLead(ctx, e.admin, crm.Lead{Title: "Олега", Meta: crm.Meta{AssignedByID: oleg.ID}})
		if _, err := e.s.CreateLead(ctx, e.admin, crm.Lead{Title: "Админа"}); err != nil {
			t.Fatal(err)
		}
		if err := e.s.SetGrants(ctx, e.admin, head.ID, []store.Grant{{OwnerID: anna.ID, Edit: true}, {OwnerID: oleg.ID}}); err != nil {
			t.Fatal(err)
		}
		_, code, err := e.h.Webhooks().CreateWebhook(ctx, head.ID, "head", []string{"crm"})
		if err != nil {
			t.Fatal(err)
		}
		m := e.with(t)
		m.base = fmt.Sprintf("%s/rest/%d/%s/", e.srv.URL, head.ID, code)
		if l := m.ok(m.get("crm.lead.list", "")); l.str(t, "total") != "2" || strings.Contains(string(l.Body), "Админа") {
			t.Fatalf("crm.lead.list: %s", l.Body)
		}
		m.ok(m.get("crm.lead.update", q("id", fmt.Sprint(annas.ID), "fields[TITLE]", "Анны!")))
		r := m.get("crm.lead.update", q("id", fmt.Sprint(olegs.ID), "fields[TITLE]", "нельзя"))
		if r.Status != 403 || !strings.Contains(string(r.Body), "ACCESS_DENIED") {
			t.Fatalf("crm.lead.update of a lead granted to view: %d %s", r.Status, r.Body)
		}
		if l, _ := e.s.GetLead(ctx, olegs.ID); l.Title != "Олега" {
			t.Fatalf("a view-only lead changed: %q", l.Title)
		}
	})
}
