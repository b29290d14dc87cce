package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestUserPrefs(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		uid := admin.UserID
		if _, err := s.GetPref(ctx, uid, "time_zone"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unset preference: %v", err)
		}
		for _, p := range []store.Pref{{"time_zone", "Asia/Yekaterinburg"}, {"list:lead", "sort=-created_at"}, {"list:lead", "sort=title&f.status_id=NEW"},
			{"filter:lead:Мои новые", "f.status_id=NEW"}, {"filter:deal:Мои", "mine=1"}} {
			if err := s.SetPref(ctx, uid, p.Key, p.Value); err != nil {
				t.Fatal(err)
			}
		}
		if v, err := s.GetPref(ctx, uid, "list:lead"); err != nil || v != "sort=title&f.status_id=NEW" {
			t.Fatalf("replaced preference: %q %v", v, err)
		}
		ps, err := s.Prefs(ctx, uid, "filter:lead:")
		if err != nil || len(ps) != 1 || ps[0].Value != "f.status_id=NEW" {
			t.Fatalf("prefix: %+v %v", ps, err)
		}
		if err := s.DeletePref(ctx, uid, "filter:lead:Мои новые"); err != nil {
			t.Fatal(err)
		}
		if ps, _ := s.Prefs(ctx, uid, "filter:lead:"); len(ps) != 0 {
			t.Fatalf("after delete: %+v", ps)
		}
		var fe *crm.FieldError
		if err := s.SetPref(ctx, uid, "list:deal", strings.Repeat("x", 5000)); !errors.As(err, &fe) || fe.Field != "value" {
			t.Fatalf("a too long value: %v", err)
		}
	})
}

func TestCountRecords(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		for i, st := range []string{"NEW", "NEW", "IN_PROCESS"} {
			if _, err := s.CreateLead(ctx, admin, crm.Lead{Title: "Заявка " + string(rune('А'+i)), StatusID: st}); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			p    store.ListParams
			want int
		}{
			{store.ListParams{}, 3},
			{store.ListParams{Filters: []store.Filter{{Field: "status_id", Value: "NEW"}}}, 2},
			{store.ListParams{Q: "Заявка Б"}, 1},
			{store.ListParams{Limit: 1, Cursor: "x"}, 3}, // a page's cursor does not narrow the count
		} {
			if n, err := s.CountRecords(ctx, store.EntityLead, c.p); err != nil || n != c.want {
				t.Errorf("%+v: %d %v, want %d", c.p, n, err, c.want)
			}
		}
		if _, err := s.CountRecords(ctx, "nothing", store.ListParams{}); err == nil {
			t.Error("an unknown entity counted")
		}
	})
}
