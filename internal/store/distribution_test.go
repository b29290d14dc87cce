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

// TestDistributionWorkingHours: a rule "only during working hours" gives
// leads round-robin among its managers on duty now by their own hours in
// their own time zones (Moscow, Vladivostok, a night shift over
// midnight), and to the fallback user when nobody is on duty; the same
// rule without the flag ignores the hours.
func TestDistributionWorkingHours(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		m := managers(t, s, admin, 4)
		hours := map[int64]crm.WorkHours{
			m[0]: {Days: 31, From: 9 * 60, To: 18 * 60}, // Moscow (the rule's zone), Mon–Fri 09–18
			m[1]: {Days: 31, From: 9 * 60, To: 18 * 60}, // Vladivostok, Mon–Fri 09–18
			m[2]: {Days: 31, From: 22 * 60, To: 6 * 60}, // Moscow by preference, nights starting Mon–Fri
		}
		for id, h := range hours {
			u, err := s.GetUser(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			u.WorkHours = h
			if _, err := s.UpdateUser(ctx, admin, u); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.GetUser(ctx, id); got.WorkHours != h {
				t.Fatalf("user %d hours stored as %+v, want %+v", id, got.WorkHours, h)
			}
		}
		if err := s.SetPref(ctx, m[1], "time_zone", "Asia/Vladivostok"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPref(ctx, m[2], "time_zone", "Europe/Moscow"); err != nil {
			t.Fatal(err)
		}
		u, _ := s.GetUser(ctx, m[0])
		u.WorkHours = crm.WorkHours{Days: 128}
		if _, err := s.UpdateUser(ctx, admin, u); fieldOf(err) != "work_days" {
			t.Fatalf("days 128: %v", err)
		}
		rule, err := s.SaveDistributionRule(ctx, admin, crm.DistributionRule{Name: "Смены", Active: true, Channel: crm.ChannelMail,
			UserIDs: []int64{m[0], m[1], m[2]}, FallbackUserID: m[3], WorkingHoursOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if !rule.WorkingHoursOnly {
			t.Fatal("working_hours_only not stored")
		}
		in := store.WithIntake(ctx, store.Intake{Channel: crm.ChannelMail, FormID: 1})
		leads := func(at time.Time, n int) []int64 {
			t.Helper()
			s.SetClock(func() time.Time { return at })
			var out []int64
			for range n {
				l, err := s.CreateLead(in, admin, crm.Lead{Title: "Письмо"})
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, l.AssignedByID)
			}
			return out
		}
		cases := []struct {
			name string
			at   time.Time
			want []int64
		}{
			// Mon 10:00 Moscow, 17:00 Vladivostok: the two day shifts.
			{"monday morning", time.Date(2025, 12, 1, 7, 0, 0, 0, time.UTC), []int64{m[0], m[1], m[0], m[1]}},
			// Mon 17:59 Moscow, Tue 00:59 Vladivostok: Moscow only.
			{"monday evening", time.Date(2025, 12, 1, 14, 59, 0, 0, time.UTC), []int64{m[0], m[0]}},
			// Mon 23:00 Moscow: the night shift started on Monday.
			{"monday night", time.Date(2025, 12, 1, 20, 0, 0, 0, time.UTC), []int64{m[2], m[2]}},
			// Tue 02:00 Moscow, 09:00 Vladivostok: the night shift past midnight and Vladivostok's morning.
			{"after midnight", time.Date(2025, 12, 1, 23, 0, 0, 0, time.UTC), []int64{m[1], m[2], m[1]}},
			// Sat 04:00 Moscow: Friday's night shift goes on.
			{"friday's night on saturday", time.Date(2025, 12, 6, 1, 0, 0, 0, time.UTC), []int64{m[2]}},
			// Sun 04:00 Moscow, 11:00 Vladivostok: nobody; the fallback.
			{"sunday", time.Date(2025, 12, 7, 1, 0, 0, 0, time.UTC), []int64{m[3], m[3]}},
			// Sat 06:00 Moscow: Friday's night shift ended at 06:00; a weekend.
			{"shift end", time.Date(2025, 12, 6, 3, 0, 0, 0, time.UTC), []int64{m[3]}},
		}
		for _, c := range cases {
			got := leads(c.at, len(c.want))
			// The turn is shared: compare the set taken in order from
			// the users on duty, whatever turn the last case left.
			if !sameRotation(got, c.want) {
				t.Errorf("%s: owners %v, want %v (in some turn order)", c.name, got, c.want)
			}
		}
		rule.WorkingHoursOnly = false
		if _, err := s.SaveDistributionRule(ctx, admin, rule); err != nil {
			t.Fatal(err)
		}
		got := leads(time.Date(2025, 12, 7, 1, 0, 0, 0, time.UTC), 3)
		if !sameRotation(got, []int64{m[0], m[1], m[2]}) {
			t.Errorf("without the flag on Sunday: %v, want all three in turn", got)
		}
	})
}

// sameRotation reports whether got is want started at some point of its
// cycle of distinct users (want lists one turn order).
func sameRotation(got, want []int64) bool {
	if len(got) != len(want) {
		return false
	}
	var cycle []int64
	seen := map[int64]bool{}
	for _, id := range want {
		if !seen[id] {
			seen[id] = true
			cycle = append(cycle, id)
		}
	}
	for shift := range cycle {
		ok := true
		for i := range got {
			if got[i] != cycle[(i+shift)%len(cycle)] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
