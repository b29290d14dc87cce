package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestSearchSameAsPlain writes random records (Cyrillic names with ё,
// LIKE's own characters, quotes, phones, e-mails, INN), some in the
// recycle bin and some of another manager, and asks the global search
// and a list's pages for random pieces of them: the answer of the
// per-condition queries over the trigram indexes (migration 0025) must
// be the answer of the plain OR of LIKE and IN conditions, for an
// administrator and for a scoped manager.
func TestSearchSameAsPlain(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		rnd := rand.New(rand.NewPCG(20, 11))
		mgr, err := s.CreateUser(ctx, admin, crm.User{Login: "mgr", Role: crm.RoleManager}, "manager-password-1")
		if err != nil {
			t.Fatal(err)
		}
		words := []string{"Ёжиков", "ежиков", "ПЕТРОВ", "петрова", "Стройка", "100%", "a_b", `"Кавычки"`, "Щебень", "цемент", "ООО", "Иван", "ivan", "Mail", "ёлка"}
		name := func() string {
			n := 1 + rnd.IntN(3)
			var parts []string
			for i := 0; i < n; i++ {
				parts = append(parts, words[rnd.IntN(len(words))])
			}
			return strings.Join(parts, " ")
		}
		domains := []string{"mail.ru", "example.ru", "почта.рф", "yandex.ru"}
		var texts []string
		for i := 0; i < 60; i++ {
			owner := admin.UserID
			if rnd.IntN(3) == 0 {
				owner = mgr.ID
			}
			comms := crm.Comms{
				Phones: []crm.Comm{{Value: fmt.Sprintf("+7 9%02d %03d-%02d-%02d", rnd.IntN(3), rnd.IntN(3)*111, rnd.IntN(100), rnd.IntN(100))}},
				Emails: []crm.Comm{{Value: fmt.Sprintf("u%d@%s", i, domains[rnd.IntN(len(domains))])}},
			}
			title := name()
			texts = append(texts, title)
			var id int64
			var entity string
			switch i % 4 {
			case 0:
				l, err := s.CreateLead(ctx, admin, crm.Lead{Meta: crm.Meta{AssignedByID: owner}, Title: title, Name: words[rnd.IntN(len(words))], Comms: comms})
				if err != nil {
					t.Fatal(err)
				}
				id, entity = l.ID, store.EntityLead
			case 1:
				c, err := s.CreateContact(ctx, admin, crm.Contact{Meta: crm.Meta{AssignedByID: owner}, LastName: title, Comms: comms})
				if err != nil {
					t.Fatal(err)
				}
				id, entity = c.ID, store.EntityContact
			case 2:
				d, err := s.CreateDeal(ctx, admin, crm.Deal{Meta: crm.Meta{AssignedByID: owner}, Title: title})
				if err != nil {
					t.Fatal(err)
				}
				id, entity = d.ID, store.EntityDeal
			case 3:
				p, err := s.CreateProduct(ctx, admin, crm.Product{Name: title, Article: fmt.Sprint("ART-", i)})
				if err != nil {
					t.Fatal(err)
				}
				id, entity = p.ID, store.EntityProduct
			}
			if rnd.IntN(8) == 0 {
				if err := s.Delete(ctx, admin, entity, id); err != nil {
					t.Fatal(err)
				}
			}
		}
		// A renamed record: the trigram index follows the change.
		if _, err := s.UpdateLead(ctx, admin, 1, func(l *crm.Lead) error { l.Title = "Переименована Ёжикова"; return nil }); err != nil {
			t.Fatal(err)
		}
		queries := []string{"ёжик", "ЁЖИК", "ежик", "петров", "%", "a_b", `"кав`, "ООО ", "ив", "Щ", "щебень цемент", "mail.ru", "@example.ru",
			"почта.рф", "ART-1", "нет такого", "Переименована", "111", "900 000"}
		for i := 0; i < 25; i++ {
			w := []rune(texts[rnd.IntN(len(texts))])
			a := rnd.IntN(len(w))
			b := min(len(w), a+1+rnd.IntN(6))
			queries = append(queries, string(w[a:b]))
		}
		lead, err := s.GetLead(ctx, 5)
		if err == nil && len(lead.Phones) > 0 {
			digits := crm.PhoneKey(lead.Phones[0].Value)
			queries = append(queries, digits[len(digits)-7:], lead.Phones[0].Value)
		}
		found := 0
		for _, scoped := range []bool{false, true} {
			c := ctx
			if scoped {
				c = store.WithScope(ctx, mgr.ID)
			}
			for _, q := range queries {
				store.SetPlainSearch(true)
				want, err := s.Search(c, q, 3)
				wantPages := leadPages(t, s, c, q)
				store.SetPlainSearch(false)
				if err != nil {
					t.Fatalf("%q plain: %v", q, err)
				}
				got, err := s.Search(c, q, 3)
				if err != nil {
					t.Fatalf("%q: %v", q, err)
				}
				if len(want.Hits) > 0 {
					found++
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("search %q (scoped %v):\n got %+v\nwant %+v", q, scoped, got, want)
				}
				if gotPages := leadPages(t, s, c, q); !reflect.DeepEqual(gotPages, wantPages) {
					t.Errorf("lead pages %q (scoped %v): got %v, want %v", q, scoped, gotPages, wantPages)
				}
			}
		}
		// Worth something only when most queries find something.
		if found < len(queries) {
			t.Errorf("only %d of %d searches found anything", found, 2*len(queries))
		}
	})
}

// leadPages lists the leads matching q two at a time, newest first and
// oldest first, following the cursors.
func leadPages(t *testing.T, s *store.Store, ctx context.Context, q string) [][]int64 {
	t.Helper()
	var out [][]int64
	for _, sort := range []string{"-id", "id"} {
		p := store.ListParams{Q: q, Sort: sort, Limit: 2}
		for {
			ls, next, err := s.ListLeads(ctx, p)
			if err != nil {
				t.Fatalf("leads %q: %v", q, err)
			}
			var ids []int64
			for _, l := range ls {
				ids = append(ids, l.ID)
			}
			out = append(out, ids)
			if next == "" {
				break
			}
			p.Cursor = next
		}
	}
	return out
}
