package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func managers(t *testing.T, s *store.Store, admin crm.Actor, n int) []int64 {
	t.Helper()
	var ids []int64
	for i := range n {
		u, err := s.CreateUser(context.Background(), admin, crm.User{Login: fmt.Sprintf("m%d", i+1), Role: crm.RoleManager, Active: true}, "manager-password")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	return ids
}

// TestDistribution: leads from intake go round-robin among a rule's
// managers; rules match by channel, form, source and hours, inactive
// managers are skipped, the fallback takes the lead when none is active,
// and a lead outside intake (or with an owner named) keeps its owner.
func TestDistribution(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		m := managers(t, s, admin, 5)
		form7 := store.WithIntake(ctx, store.Intake{Channel: crm.ChannelForm, FormID: 7})
		lead := func(ctx context.Context, src string) int64 {
			t.Helper()
			l, err := s.CreateLead(ctx, admin, crm.Lead{Title: "Заявка", SourceID: src})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.GetLead(context.Background(), l.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.AssignedByID != l.AssignedByID {
				t.Fatalf("returned owner %d, stored %d", l.AssignedByID, got.AssignedByID)
			}
			return l.AssignedByID
		}
		// No rules: the intake's own user.
		if got := lead(form7, "WEB"); got != admin.UserID {
			t.Fatalf("without rules: %d", got)
		}
		if _, err := s.SaveDistributionRule(ctx, admin, crm.DistributionRule{Name: "x", Active: true, UserIDs: []int64{999}}); fieldOf(err) != "user_ids" {
			t.Fatalf("unknown user: %v", err)
		}
		calls, err := s.SaveDistributionRule(ctx, admin, crm.DistributionRule{Name: "Звонки", Active: true, Sort: 10, SourceID: "CALL", UserIDs: []int64{m[4]}})
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.SaveDistributionRule(ctx, admin, crm.DistributionRule{Name: "Форма 9", Active: true, Sort: 20, Channel: crm.ChannelForm, FormID: 9, UserIDs: []int64{m[3]}})
		if err != nil {
			t.Fatal(err)
		}
		rr, err := s.SaveDistributionRule(ctx, admin, crm.DistributionRule{Name: "Сайт", Active: true, Sort: 30, Channel: crm.ChannelForm,
			UserIDs: []int64{m[0], m[1], m[2]}, FallbackUserID: m[3]})
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for range 6 {
			got = append(got, lead(form7, "WEB"))
		}
		if want := []int64{m[0], m[1], m[2], m[0], m[1], m[2]}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round-robin: %v, want %v", got, want)
		}
		if g := lead(form7, "CALL"); g != m[4] {
			t.Fatalf("by source: %d", g)
		}
		if g := lead(store.WithIntake(ctx, store.Intake{Channel: crm.ChannelForm, FormID: 9}), "WEB"); g != m[3] {
			t.Fatalf("by form: %d", g)
		}
		if g := lead(store.WithIntake(ctx, store.Intake{Channel: crm.ChannelMail, FormID: 7}), "WEB"); g != admin.UserID {
			t.Fatalf("another channel: %d", g)
		}
		if g := lead(ctx, "WEB"); g != admin.UserID {
			t.Fatalf("not intake: %d", g)
		}
		// An inactive manager is skipped.
		u, err := s.GetUser(ctx, m[0])
		if err != nil {
			t.Fatal(err)
		}
		u.Active = false
		if _, err := s.UpdateUser(ctx, admin, u); err != nil {
			t.Fatal(err)
		}
		got = nil
		for range 4 {
			got = append(got, lead(form7, "WEB"))
		}
		for _, g := range got {
			if g != m[1] && g != m[2] {
				t.Fatalf("with m1 off: %v", got)
			}
		}
		if got[0] == got[1] || got[1] == got[2] {
			t.Fatalf("not in turn: %v", got)
		}
		// None active: the fallback.
		for _, id := range []int64{m[1], m[2]} {
			u, _ := s.GetUser(ctx, id)
			u.Active = false
			if _, err := s.UpdateUser(ctx, admin, u); err != nil {
				t.Fatal(err)
			}
		}
		if g := lead(form7, "WEB"); g != m[3] {
			t.Fatalf("fallback: %d", g)
		}
		// Working hours: the day rule only 09:00–18:00 Moscow time; at
		// night the next rule takes the lead.
		if err := s.DeleteDistributionRule(ctx, admin, calls.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteDistributionRule(ctx, admin, other.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteDistributionRule(ctx, admin, rr.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveDistributionRule(ctx, admin, crm.DistributionRule{Name: "День", Active: true, Sort: 1, UserIDs: []int64{m[4]}, HoursFrom: 9 * 60, HoursTo: 18 * 60}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveDistributionRule(ctx, admin, crm.DistributionRule{Name: "Ночь", Active: true, Sort: 2, UserIDs: []int64{m[3]}}); err != nil {
			t.Fatal(err)
		}
		s.SetClock(func() time.Time { return time.Date(2025, 12, 1, 7, 0, 0, 0, time.UTC) }) // 10:00 in Moscow
		if g := lead(form7, "WEB"); g != m[4] {
			t.Fatalf("day: %d", g)
		}
		s.SetClock(func() time.Time { return time.Date(2025, 12, 1, 16, 0, 0, 0, time.UTC) }) // 19:00 in Moscow
		if g := lead(form7, "WEB"); g != m[3] {
			t.Fatalf("night: %d", g)
		}
		rules, err := s.ListDistributionRules(ctx)
		if err != nil || len(rules) != 2 || rules[0].Name != "День" || rules[0].TZ != "Europe/Moscow" {
			t.Fatalf("rules: %+v %v", rules, err)
		}
	})
}

// TestDistributionTwoInstances: two servers on one PostgreSQL (or two
// stores on one SQLite file) creating leads at once hand out the turns
// exactly evenly: the turn is taken inside each lead's transaction.
func TestDistributionTwoInstances(t *testing.T) {
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			d1, d2 := openPair(t, eng.Name)
			s1, s2 := store.New(d1), store.New(d2)
			admin := storetest.Admin(t, s1)
			m := managers(t, s1, admin, 3)
			ctx := context.Background()
			if _, err := s1.SaveDistributionRule(ctx, admin, crm.DistributionRule{Name: "Все", Active: true, UserIDs: m}); err != nil {
				t.Fatal(err)
			}
			in := store.WithIntake(ctx, store.Intake{Channel: crm.ChannelHTTP})
			const per = 30
			var wg sync.WaitGroup
			var mu sync.Mutex
			count := map[int64]int{}
			errs := make(chan error, 2*per)
			for _, s := range []*store.Store{s1, s2} {
				for range per {
					wg.Add(1)
					go func() {
						defer wg.Done()
						l, err := s.CreateLead(in, admin, crm.Lead{Title: "Заявка"})
						if err != nil {
							errs <- err
							return
						}
						mu.Lock()
						count[l.AssignedByID]++
						mu.Unlock()
					}()
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			for _, id := range m {
				if count[id] != 2*per/3 {
					t.Fatalf("uneven: %v", count)
				}
			}
		})
	}
}

// openPair opens one database twice, as two server instances would.
func openPair(t *testing.T, engine string) (*db.DB, *db.DB) {
	if engine == "sqlite" {
		path := filepath.Join(t.TempDir(), "obmen.db")
		return storetest.OpenSQLiteAt(t, path, "NORMAL"), storetest.OpenSQLiteAt(t, path, "NORMAL")
	}
	u := storetest.PostgresURL(t)
	var out [2]*db.DB
	for i := range out {
		d, err := db.Open(context.Background(), db.Options{PostgresURL: u})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		if _, err := d.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		out[i] = d
	}
	return out[0], out[1]
}
