package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestReportCountsEqualFullCount writes random leads, deals and
// activities over a few days (creating, changing, moving to the recycle
// bin, restoring, purging), then asks every report for random periods —
// whole hours, Moscow midnights, odd minutes, a period inside one hour —
// per manager and for a scoped manager, and compares each answer with the
// count from the records themselves (the reports' queries before
// migration 0025's counts). A count the triggers got wrong shows here.
func TestReportCountsEqualFullCount(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		rnd := rand.New(rand.NewPCG(20, 25))
		base := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
		var clock time.Time
		s.SetClock(func() time.Time { return clock })
		at := func() time.Time {
			return base.Add(time.Duration(rnd.Int64N(int64(96 * time.Hour))))
		}
		users := []int64{admin.UserID}
		for i := 0; i < 2; i++ {
			clock = base
			u, err := s.CreateUser(ctx, admin, crm.User{Login: fmt.Sprintf("m%d", i), Role: crm.RoleManager}, "manager-password-1")
			if err != nil {
				t.Fatal(err)
			}
			users = append(users, u.ID)
		}
		user := func() int64 { return users[rnd.IntN(len(users))] }
		sources := []string{"WEB", "CALL", "EMAIL", ""}
		campaigns := []string{"", "spring", "зима"}
		stages := []string{"NEW", "PREPARATION", "EXECUTING", "WON", "LOSE"}
		var leads, deals, acts []int64
		for i := 0; i < 120; i++ {
			clock = at()
			l, err := s.CreateLead(ctx, admin, crm.Lead{Meta: crm.Meta{AssignedByID: user()}, Title: fmt.Sprint("Заявка ", i),
				SourceID: sources[rnd.IntN(len(sources))], UTM: crm.UTM{UTMCampaign: campaigns[rnd.IntN(len(campaigns))]}})
			if err != nil {
				t.Fatal(err)
			}
			leads = append(leads, l.ID)
			clock = at()
			d := crm.Deal{Meta: crm.Meta{AssignedByID: user()}, Title: fmt.Sprint("Сделка ", i), StageID: stages[rnd.IntN(len(stages))],
				Opportunity: crm.Amount(rnd.Int64N(1_000_000)), Currency: "RUB"}
			if rnd.IntN(2) == 0 {
				d.CloseDate = clock.AddDate(0, 0, rnd.IntN(3)-1).Format(time.DateOnly)
			}
			dd, err := s.CreateDeal(ctx, admin, d)
			if err != nil {
				t.Fatal(err)
			}
			deals = append(deals, dd.ID)
			clock = at()
			start := at()
			end := start.Add(time.Duration(rnd.Int64N(int64(3 * time.Hour))))
			a, err := s.CreateActivity(ctx, admin, crm.Activity{Meta: crm.Meta{AssignedByID: user()}, Kind: "call", Subject: fmt.Sprint("Звонок ", i),
				StartAt: &start, EndAt: &end, Done: rnd.IntN(3) == 0})
			if err != nil {
				t.Fatal(err)
			}
			acts = append(acts, a.ID)
		}
		// Changes: what the counts are keyed by moves.
		for i := 0; i < 80; i++ {
			clock = at()
			switch rnd.IntN(9) {
			case 0:
				_, err := s.UpdateLead(ctx, admin, leads[rnd.IntN(len(leads))], func(l *crm.Lead) error {
					l.SourceID, l.AssignedByID, l.UTMCampaign = sources[rnd.IntN(len(sources))], user(), campaigns[rnd.IntN(len(campaigns))]
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			case 1:
				_, err := s.UpdateDeal(ctx, admin, deals[rnd.IntN(len(deals))], func(d *crm.Deal) error {
					d.StageID, d.Opportunity, d.AssignedByID = stages[rnd.IntN(len(stages))], crm.Amount(rnd.Int64N(1_000_000)), user()
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			case 2:
				_, err := s.UpdateActivity(ctx, admin, acts[rnd.IntN(len(acts))], func(a *crm.Activity) error {
					a.Done = !a.Done
					end := at()
					start := end.Add(-time.Hour)
					a.StartAt, a.EndAt, a.AssignedByID = &start, &end, user()
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			case 3, 4, 5:
				entity, ids := []string{store.EntityLead, store.EntityDeal, store.EntityActivity}[rnd.IntN(3)], leads
				switch entity {
				case store.EntityDeal:
					ids = deals
				case store.EntityActivity:
					ids = acts
				}
				id := ids[rnd.IntN(len(ids))]
				if err := s.Delete(ctx, admin, entity, id); err != nil && !isNotFound(err) {
					t.Fatal(err)
				}
				switch rnd.IntN(3) {
				case 0:
					if err := s.Restore(ctx, admin, entity, id); err != nil && !isNotFound(err) {
						t.Fatal(err)
					}
				case 1:
					if err := s.Purge(ctx, admin, entity, id); err != nil && !isNotFound(err) {
						t.Fatal(err)
					}
				}
			}
		}
		msk := time.FixedZone("MSK", 3*3600)
		periods := []store.ReportFilter{
			{From: base.Add(-time.Hour), To: base.Add(120 * time.Hour)},
			{From: time.Date(2026, 3, 11, 0, 0, 0, 0, msk), To: time.Date(2026, 3, 13, 0, 0, 0, 0, msk)},
			{From: base.Add(17*time.Hour + 23*time.Minute + 5*time.Second), To: base.Add(61*time.Hour + 7*time.Minute)},
			{From: base.Add(30*time.Hour + 10*time.Minute), To: base.Add(30*time.Hour + 50*time.Minute)},
			{From: base.Add(24 * time.Hour), To: base.Add(24 * time.Hour)},
		}
		for i := 0; i < 6; i++ {
			a, b := at(), at()
			if b.Before(a) {
				a, b = b, a
			}
			periods = append(periods, store.ReportFilter{From: a, To: b})
		}
		for _, p := range periods {
			for _, uid := range append([]int64{0}, users...) {
				f := p
				f.UserID = uid
				for _, scoped := range []bool{false, true} {
					c := ctx
					if scoped {
						c = store.WithScope(ctx, users[1])
					}
					name := fmt.Sprintf("%s..%s user %d scoped %v", f.From.Format(time.RFC3339), f.To.Format(time.RFC3339), uid, scoped)
					got, err := s.ReportDealStages(c, 0, f)
					want, err2 := s.ReportDealStagesFull(c, 0, f)
					same(t, name+" stages", got, want, err, err2)
					gl, err := s.ReportLeads(c, f)
					wl, err2 := s.ReportLeadsFull(c, f)
					same(t, name+" leads", gl, wl, err, err2)
					gw, err := s.ReportWon(c, f)
					ww, err2 := s.ReportWonFull(c, f)
					same(t, name+" won", gw, ww, err, err2)
					for _, now := range []time.Time{base.Add(40*time.Hour + 20*time.Minute), base.Add(-time.Hour), base.Add(200 * time.Hour), at()} {
						ga, err := s.ReportActivities(c, f, now)
						wa, err2 := s.ReportActivitiesFull(c, f, now)
						same(t, name+" activities at "+now.Format(time.RFC3339), ga, wa, err, err2)
					}
				}
			}
		}
		// The test is worth something only when the reports count
		// something.
		all, err := s.ReportLeadsFull(ctx, periods[0])
		if err != nil || len(all) < 10 {
			t.Fatalf("too few leads in the reports: %v %v", all, err)
		}
	})
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// same compares two answers as sets of rows (the order of a report's
// rows is not part of its meaning).
func same[T any](t *testing.T, name string, got, want []T, err, err2 error) {
	t.Helper()
	if err != nil || err2 != nil {
		t.Fatalf("%s: %v / %v", name, err, err2)
	}
	key := func(xs []T) []string {
		out := make([]string, len(xs))
		for i, x := range xs {
			out[i] = fmt.Sprintf("%+v", x)
		}
		sort.Strings(out)
		return out
	}
	if g, w := key(got), key(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %v\nwant %v", name, g, w)
	}
}
