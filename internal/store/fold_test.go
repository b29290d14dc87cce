package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestFoldedContactList: a plain page of contacts (phone=, email=,
// filters, id order both ways, keyset pages) read in one folded statement
// has the same records as reading each one by id — its phones and e-mails
// in order, custom values, external ids, live accounts main one first —
// and a manager finds only the contacts they may see (folded on
// PostgreSQL; SQLite reads the same pages unfolded), on both engines.
func TestFoldedContactList(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		mgr, err := s.CreateUser(ctx, admin, crm.User{Login: "mgr", Role: crm.RoleManager, Active: true}, "manager-password-1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCustomField(ctx, admin, crm.CustomField{Entity: "contact", Code: "UF_CRM_AGE", Label: "Возраст", Type: "number"}); err != nil {
			t.Fatal(err)
		}
		var accs []int64
		for i := range 3 {
			a, err := s.CreateAccount(ctx, admin, crm.Account{Title: fmt.Sprintf("ООО %d", i)})
			if err != nil {
				t.Fatal(err)
			}
			accs = append(accs, a.ID)
		}
		var ids []int64
		for i := range 7 {
			c := crm.Contact{Name: fmt.Sprintf("Контакт %d", i), Meta: crm.Meta{AssignedByID: admin.UserID},
				Comms: crm.Comms{Phones: []crm.Comm{{Value: fmt.Sprintf("+7 916 000-00-%02d", i)}, {Value: "8 (800) 555-35-35", ValueType: "WORK"}}}}
			if i%2 == 0 {
				c.AssignedByID = mgr.ID
				c.Emails = []crm.Comm{{Value: fmt.Sprintf("c%d@mail.ru", i)}}
				c.Custom = map[string]any{"UF_CRM_AGE": float64(30 + i)}
				c.ExternalIDs = map[string]string{"1c": fmt.Sprintf("c-%d", i), "site": fmt.Sprint(i)}
				c.AccountIDs = []int64{accs[2], accs[1], accs[0]}
			}
			v, err := s.CreateContact(ctx, admin, c)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, v.ID)
		}
		// A link to an account in the recycle bin is not shown.
		if err := s.Delete(ctx, admin, "account", accs[1]); err != nil {
			t.Fatal(err)
		}
		byGet := func(ctx context.Context, want []int64) []crm.Contact {
			out := []crm.Contact{}
			for _, id := range want {
				c, err := s.GetContact(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, c)
			}
			return out
		}
		rev := func(x []int64) []int64 {
			out := make([]int64, len(x))
			for i, v := range x {
				out[len(x)-1-i] = v
			}
			return out
		}
		even := []int64{ids[0], ids[2], ids[4], ids[6]}
		scoped := store.WithScope(ctx, mgr.ID)
		for _, tc := range []struct {
			name string
			ctx  context.Context
			p    store.ListParams
			want []int64
		}{
			{"phone", ctx, store.ListParams{Phone: "8 916 000 00 04"}, []int64{ids[4]}},
			{"shared phone", ctx, store.ListParams{Phone: "+78005553535"}, ids},
			{"shared phone desc", ctx, store.ListParams{Phone: "+78005553535", Sort: "-id"}, rev(ids)},
			{"email", ctx, store.ListParams{Email: "C2@Mail.ru"}, []int64{ids[2]}},
			{"no match", ctx, store.ListParams{Phone: "+7 999 123-45-67"}, []int64{}},
			{"filter", ctx, store.ListParams{Filters: []store.Filter{{Field: "assigned_by_id", Value: fmt.Sprint(mgr.ID)}}}, even},
			{"scoped phone", scoped, store.ListParams{Phone: "+78005553535"}, even},
			{"scoped hidden", scoped, store.ListParams{Phone: "+7 916 000-00-01"}, []int64{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, next, err := s.ListContacts(tc.ctx, tc.p)
				if err != nil {
					t.Fatal(err)
				}
				if next != "" {
					t.Errorf("next cursor %q on a single page", next)
				}
				if want := byGet(tc.ctx, tc.want); !reflect.DeepEqual(got, want) {
					t.Errorf("folded list:\n%+v\nwant (by id):\n%+v", got, want)
				}
			})
		}
		t.Run("pages", func(t *testing.T) {
			for _, sort := range []string{"", "-id"} {
				want := ids
				if sort != "" {
					want = rev(ids)
				}
				var got []int64
				p := store.ListParams{Phone: "+78005553535", Limit: 3, Sort: sort}
				for pages := 0; ; pages++ {
					cs, next, err := s.ListContacts(ctx, p)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(cs, byGet(ctx, idsOf(cs))) {
						t.Errorf("page %d differs from reading by id", pages)
					}
					got = append(got, idsOf(cs)...)
					if next == "" || pages > 5 {
						break
					}
					p.Cursor = next
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("sort %q: pages %v, want %v", sort, got, want)
				}
			}
		})
	})
}

func idsOf(cs []crm.Contact) []int64 {
	out := []int64{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// TestFoldedLeads: on PostgreSQL a lead read by id and a plain page of
// leads are one statement each (the row, custom values, external ids,
// comms and product rows as one UNION ALL); each equals the unfolded read
// (both engines: on SQLite both are the unfolded read).
func TestFoldedLeads(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		if _, err := s.CreateCustomField(ctx, admin, crm.CustomField{Entity: "lead", Code: "UF_CRM_BUDGET", Label: "Бюджет", Type: "number"}); err != nil {
			t.Fatal(err)
		}
		vat := crm.Amount(2000)
		var ids []int64
		for i := range 5 {
			l := crm.Lead{Title: fmt.Sprintf("Заявка %d", i), Name: "Иван", Meta: crm.Meta{AssignedByID: admin.UserID},
				Comms: crm.Comms{Phones: []crm.Comm{{Value: fmt.Sprintf("+7 916 100-00-%02d", i)}, {Value: "8 (800) 555-35-35", ValueType: "WORK"}}}}
			if i%2 == 0 {
				l.Emails = []crm.Comm{{Value: fmt.Sprintf("l%d@mail.ru", i)}}
				l.Custom = map[string]any{"UF_CRM_BUDGET": float64(1000 * i)}
				l.ExternalIDs = map[string]string{"site": fmt.Sprint(i)}
				l.ProductRows = []crm.LineItem{
					{Name: "Диван «Уют»", Price: 1_500_000, Quantity: 2000, Unit: "шт", VATRate: &vat, VATIncluded: true, Properties: map[string]any{"цвет": "синий"}},
					{Name: "Доставка", Price: 50_000, Quantity: 1000},
				}
			}
			v, err := s.CreateLead(ctx, admin, l)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, v.ID)
		}
		read := func(unfolded bool) ([]crm.Lead, []crm.Lead) {
			store.SetNoFold(unfolded)
			defer store.SetNoFold(false)
			var got []crm.Lead
			for _, id := range ids {
				v, err := s.GetLead(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, v)
			}
			page, _, err := s.ListLeads(ctx, store.ListParams{Phone: "+78005553535", Limit: 3, Sort: "-id"})
			if err != nil {
				t.Fatal(err)
			}
			return got, page
		}
		byID, page := read(false)
		wantByID, wantPage := read(true)
		if !reflect.DeepEqual(byID, wantByID) {
			t.Errorf("folded reads by id:\n%+v\nwant:\n%+v", byID, wantByID)
		}
		if !reflect.DeepEqual(page, wantPage) {
			t.Errorf("folded page:\n%+v\nwant:\n%+v", page, wantPage)
		}
		if len(byID[0].ProductRows) != 2 || byID[0].ProductRows[0].VATRate == nil || len(byID[1].ProductRows) != 0 || len(page) != 3 {
			t.Errorf("read back: %+v; page of %d", byID[0].ProductRows, len(page))
		}
		if _, err := s.GetLead(ctx, ids[4]+100); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing lead: %v", err)
		}
	})
}
