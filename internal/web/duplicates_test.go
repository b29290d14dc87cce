package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dedup"
	"github.com/obmen/obmen/internal/store"
)

// TestDuplicatesPage: an admin edits a rule on the "Дубликаты" page, sees
// two contacts sharing a phone (typed differently) and merges them field
// by field: the kept contact takes the chosen name, gains the other's
// e-mail, its lead, deal and comment move over, and the other is in the
// recycle bin.
func TestDuplicatesPage(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		keep, err := s.CreateContact(ctx, e.admin, crm.Contact{Name: "Иван", LastName: "Петров", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 912 333-44-55"}}}})
		if err != nil {
			t.Fatal(err)
		}
		drop, err := s.CreateContact(ctx, e.admin, crm.Contact{Name: "Иван Сергеевич", LastName: "Петров", Position: "директор",
			Comms: crm.Comms{Phones: []crm.Comm{{Value: "8 (912) 333 44 55"}}, Emails: []crm.Comm{{Value: "petrov@example.ru"}}}})
		if err != nil {
			t.Fatal(err)
		}
		other, _ := s.CreateContact(ctx, e.admin, crm.Contact{Name: "Анна", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 912 000-00-00"}}}})
		lead, err := s.CreateLead(ctx, e.admin, crm.Lead{Title: "Заявка Петрова"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateLead(ctx, e.admin, lead.ID, func(l *crm.Lead) error { l.ContactID = drop.ID; return nil }); err != nil {
			t.Fatal(err)
		}
		deal, err := s.CreateDeal(ctx, e.admin, crm.Deal{Title: "Баннеры", ContactIDs: []int64{drop.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddComment(ctx, e.admin, "contact", drop.ID, "Звонил в среду"); err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		id := func(n int64) string { return strconv.FormatInt(n, 10) }

		p := b.get("/duplicates?entity=contact")
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "телефон: &#43;79123334455") ||
			!strings.Contains(p.Body, "/duplicates/merge?entity=contact&amp;keep="+id(keep.ID)+"&amp;drop="+id(drop.ID)) || strings.Contains(p.Body, "Анна") {
			t.Fatalf("duplicates page: %d %s", p.Status, p.Body)
		}
		_ = other
		// A rule saved on the page is the one the intake uses.
		if p := b.post("/duplicates/rules", url.Values{"entity": {"lead"}, "keys": {"phone", "name"}, "action": {"refuse"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("save rule: %d %s", p.Status, p.Body)
		}
		if r, err := dedup.RuleOf(ctx, s, "lead"); err != nil || r.Action != dedup.Refuse || strings.Join(r.Keys, ",") != "phone,name" {
			t.Errorf("rule = %+v, %v", r, err)
		}
		if p := b.post("/duplicates/rules", url.Values{"entity": {"lead"}, "keys": {"inn"}, "action": {"refuse"}}); p.Status != http.StatusUnprocessableEntity {
			t.Errorf("a lead matched by INN: %d", p.Status)
		}

		m := b.get("/duplicates/merge?entity=contact&keep=" + id(keep.ID) + "&drop=" + id(drop.ID))
		if m.Status != http.StatusOK || !strings.Contains(m.Body, `name="take.name" value="drop"`) || !strings.Contains(m.Body, "Иван Сергеевич") {
			t.Fatalf("merge page: %d %s", m.Status, m.Body)
		}
		res := b.post("/duplicates/merge", url.Values{"entity": {"contact"}, "keep": {id(keep.ID)}, "drop": {id(drop.ID)},
			"take.name": {"drop"}, "take.position": {"drop"}, "take.last_name": {"keep"}})
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, "/e/contact/"+id(keep.ID)) {
			t.Fatalf("merge: %d %s", res.Status, res.Body)
		}
		k, err := s.GetContact(ctx, keep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if k.Name != "Иван Сергеевич" || k.Position != "директор" || k.LastName != "Петров" || len(k.Phones) != 1 || len(k.Emails) != 1 || k.Emails[0].Value != "petrov@example.ru" {
			t.Errorf("kept = %+v", k)
		}
		if l, _ := s.GetLead(ctx, lead.ID); l.ContactID != keep.ID {
			t.Errorf("lead's contact = %d", l.ContactID)
		}
		if d, _ := s.GetDeal(ctx, deal.ID); len(d.ContactIDs) != 1 || d.ContactIDs[0] != keep.ID {
			t.Errorf("deal's contacts = %v", d.ContactIDs)
		}
		cs, err := s.ListComments(ctx, "contact", keep.ID)
		if err != nil || len(cs) != 2 {
			t.Errorf("comments of the kept = %+v, %v", cs, err)
		}
		bin, err := s.RecycleBin(ctx, "contact", 10)
		if err != nil || len(bin) != 1 || bin[0].ID != drop.ID {
			t.Errorf("recycle bin = %+v, %v", bin, err)
		}
		if p := b.get("/duplicates?entity=contact"); !strings.Contains(p.Body, `id="dup-none"`) {
			t.Errorf("after the merge: %s", p.Body)
		}
		if ls, _, _ := s.ListContacts(store.Unscoped(ctx), store.ListParams{Phone: "+79123334455"}); len(ls) != 1 {
			t.Errorf("live contacts with the phone: %d", len(ls))
		}
	})
}
