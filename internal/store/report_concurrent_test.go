package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestReportCountsConcurrentWriters creates and deletes leads of one hour,
// source and manager from many goroutines at once: on PostgreSQL they run
// on different connections, so their counts land in different slots of
// report_leads (migration 0047) and are written at commit; the report
// must still equal the count from the leads themselves.
func TestReportCountsConcurrentWriters(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		base := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return base.Add(17 * time.Minute) })
		const writers, each = 8, 12
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					l, err := s.CreateLead(ctx, admin, crm.Lead{Title: fmt.Sprintf("Заявка %d-%d", w, i), SourceID: "WEB", UTM: crm.UTM{UTMCampaign: "spring"}})
					if err != nil {
						errs <- err
						return
					}
					if i%3 == 0 { // deleted, likely from another connection than the create's
						if err := s.Delete(ctx, admin, store.EntityLead, l.ID); err != nil {
							errs <- err
							return
						}
					}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		f := store.ReportFilter{From: base, To: base.Add(time.Hour)}
		got, err := s.ReportLeads(ctx, f)
		want, err2 := s.ReportLeadsFull(ctx, f)
		same(t, "leads", got, want, err, err2)
		var n int64
		for _, c := range got {
			n += c.Count
		}
		if live := int64(writers * (each - each/3)); n != live {
			t.Fatalf("report counts %d live leads, want %d: %+v", n, live, got)
		}
	})
}
