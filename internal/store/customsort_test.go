package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestListSortByCustomField: a list sorts by a custom text or number
// field both ways, records without a value first (ascending) on both
// engines, and the keyset pages cover every record once, in order.
func TestListSortByCustomField(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		for _, cf := range []crm.CustomField{
			{Entity: "lead", Code: "UF_CRM_CITY", Label: "Город", Type: "string"},
			{Entity: "lead", Code: "UF_CRM_AREA", Label: "Площадь", Type: "number"},
		} {
			if _, err := s.CreateCustomField(ctx, admin, cf); err != nil {
				t.Fatal(err)
			}
		}
		cities := []string{"Казань", "Астрахань", "", "Тверь", "Астрахань", ""}
		areas := []string{"12.5", "-3", "", "100", "7", ""}
		var ids []int64
		for i := range 12 {
			custom := map[string]any{}
			if c := cities[i%6]; c != "" {
				custom["UF_CRM_CITY"] = c
			}
			if a := areas[i%6]; a != "" {
				custom["UF_CRM_AREA"] = a
			}
			l, err := s.CreateLead(ctx, admin, crm.Lead{Title: fmt.Sprintf("Лид %d", i), Extra: crm.Extra{Custom: custom}})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, l.ID)
		}
		key := func(l crm.Lead, code string) string { return fmt.Sprint(l.Custom[code]) }
		for _, c := range []struct{ sort string }{
			{"custom.UF_CRM_CITY"}, {"-custom.UF_CRM_CITY"}, {"custom.UF_CRM_AREA"}, {"-custom.UF_CRM_AREA"},
		} {
			var got []crm.Lead
			cursor := ""
			for range 20 {
				page, next, err := s.ListLeads(ctx, store.ListParams{Sort: c.sort, Limit: 5, Cursor: cursor})
				if err != nil {
					t.Fatalf("%s: %v", c.sort, err)
				}
				got = append(got, page...)
				if next == "" {
					break
				}
				cursor = next
			}
			if len(got) != len(ids) {
				t.Fatalf("%s: %d leads over the pages, want %d", c.sort, len(got), len(ids))
			}
			seen := map[int64]bool{}
			for _, l := range got {
				if seen[l.ID] {
					t.Fatalf("%s: lead %d twice", c.sort, l.ID)
				}
				seen[l.ID] = true
			}
			desc := c.sort[0] == '-'
			code := c.sort[len("custom."):]
			if desc {
				code = c.sort[len("-custom."):]
			}
			cmp := func(a, b crm.Lead) int {
				var r int
				if code == "UF_CRM_AREA" {
					fa, fb := -1e300, -1e300
					if v, ok := a.Custom[code]; ok {
						fmt.Sscan(fmt.Sprint(v), &fa)
					}
					if v, ok := b.Custom[code]; ok {
						fmt.Sscan(fmt.Sprint(v), &fb)
					}
					switch {
					case fa < fb:
						r = -1
					case fa > fb:
						r = 1
					}
				} else {
					va, vb := "", ""
					if _, ok := a.Custom[code]; ok {
						va = key(a, code)
					}
					if _, ok := b.Custom[code]; ok {
						vb = key(b, code)
					}
					switch {
					case va < vb:
						r = -1
					case va > vb:
						r = 1
					}
				}
				if r == 0 {
					r = int(a.ID - b.ID)
				}
				if desc {
					r = -r
				}
				return r
			}
			if !slices.IsSortedFunc(got, cmp) {
				var order []string
				for _, l := range got {
					order = append(order, fmt.Sprintf("%d:%v", l.ID, l.Custom[code]))
				}
				t.Errorf("%s: out of order: %v", c.sort, order)
			}
		}
		if _, _, err := s.ListLeads(ctx, store.ListParams{Sort: "custom.UF_CRM_NOPE"}); err == nil {
			t.Error("sort by an undeclared custom field accepted")
		}
		// Filtering by them.
		for _, c := range []struct {
			f    store.Filter
			want int
		}{
			{store.Filter{Field: "custom.UF_CRM_CITY", Op: "eq", Value: "Астрахань"}, 4},
			{store.Filter{Field: "custom.UF_CRM_CITY", Op: "like", Value: "астр"}, 4}, // case ignored in every alphabet
			{store.Filter{Field: "custom.UF_CRM_CITY", Op: "like", Value: "Аст"}, 4},
			{store.Filter{Field: "custom.UF_CRM_AREA", Op: "gte", Value: "7"}, 6},
			{store.Filter{Field: "custom.UF_CRM_AREA", Op: "ne", Value: "7"}, 10},
		} {
			got, _, err := s.ListLeads(ctx, store.ListParams{Filters: []store.Filter{c.f}, Limit: 100})
			if err != nil || len(got) != c.want {
				t.Errorf("%+v: %d leads (%v), want %d", c.f, len(got), err, c.want)
			}
		}
	})
}
