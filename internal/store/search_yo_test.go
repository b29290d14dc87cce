package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestSearchYoIsYe: "Королёв" is found by "королев" and "Королев" by
// "королёв", in the global search and in a list's q=, through the
// trigram index (SQLite FTS5, PostgreSQL pg_trgm) and the plain LIKE
// alike; a word without е or ё is not found by its е-variant.
func TestSearchYoIsYe(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		mk := func(title string) int64 {
			l, err := s.CreateLead(ctx, admin, crm.Lead{Title: title})
			if err != nil {
				t.Fatal(err)
			}
			return l.ID
		}
		yo, ye, other := mk("Королёв Сергей"), mk("КОРОЛЕВ Пётр"), mk("Королькова")
		acc, err := s.CreateAccount(ctx, admin, crm.Account{Title: "ООО «Зелёный берег»"})
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			q     string
			leads []int64
		}{
			{"королев", []int64{ye, yo}},
			{"королёв", []int64{ye, yo}},
			{"КОРОЛЁВ", []int64{ye, yo}},
			{"петр", []int64{ye}},
			{"ёв", []int64{ye, yo}},
			{"королько", []int64{other}},
			{"корольёв", nil},
		}
		for _, plain := range []bool{false, true} {
			store.SetPlainSearch(plain)
			for _, c := range cases {
				ls, _, err := s.ListLeads(ctx, store.ListParams{Q: c.q, Sort: "-id", Limit: 50})
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, l := range ls {
					got = append(got, l.ID)
				}
				if !slices.Equal(got, c.leads) {
					t.Errorf("plain %v: leads %q: %v, want %v", plain, c.q, got, c.leads)
				}
				res, err := s.Search(ctx, c.q, 10)
				if err != nil {
					t.Fatal(err)
				}
				var hits []int64
				for _, h := range res.Hits {
					if h.Entity == store.EntityLead {
						hits = append(hits, h.ID)
					}
				}
				slices.Sort(hits)
				want := slices.Clone(c.leads)
				slices.Sort(want)
				if !slices.Equal(hits, want) {
					t.Errorf("plain %v: global search %q: leads %v, want %v", plain, c.q, hits, want)
				}
			}
			res, err := s.Search(ctx, "зеленый", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Hits) != 1 || res.Hits[0].ID != acc.ID || res.Hits[0].Entity != store.EntityAccount {
				t.Errorf("plain %v: global search «зеленый»: %+v, want account %d", plain, res.Hits, acc.ID)
			}
		}
		store.SetPlainSearch(false)
	})
}
