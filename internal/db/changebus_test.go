package db_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// Two instances on one PostgreSQL: a lead created on one (its commit
// hook telling the bus, as the app wires it) wakes the other's workers
// through LISTEN/NOTIFY, while neither's poll could (there is none here);
// an instance does not wake itself by its own notification (its commit
// hook already did). Counted, not timed: the wait only bounds a hang.
func TestChangeBusWakesOtherInstance(t *testing.T) {
	if len(storetest.Engines(t)) < 2 {
		t.Skip("PostgreSQL only: SQLite is one process, woken by its commit hook")
	}
	u := storetest.PostgresURL(t)
	var dbs [2]*db.DB
	for i := range dbs {
		d, err := db.Open(context.Background(), db.Options{PostgresURL: u})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		if _, err := d.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		dbs[i] = d
	}
	var woken [2]atomic.Int64
	var buses [2]*db.ChangeBus
	for i, d := range dbs {
		buses[i] = d.NewChangeBus(func() { woken[i].Add(1) }, nil)
		buses[i].Start(context.Background())
		t.Cleanup(buses[i].Stop)
		<-buses[i].Listening()
	}
	// Listening wakes once at the start (a change may have come while
	// it was not): count from here.
	base := [2]int64{woken[0].Load(), woken[1].Load()}
	s := store.New(dbs[0])
	s.OnCommit(buses[0].Changed)
	admin := storetest.Admin(t, s)
	const leads = 3
	for i := range leads {
		if _, err := s.CreateLead(context.Background(), admin, crm.Lead{Title: "Заявка"}); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); buses[1].Heard.Load() < int64(i+1); {
			if time.Now().After(deadline) {
				t.Fatalf("lead %d: the other instance heard %d notifications", i+1, buses[1].Heard.Load())
			}
			time.Sleep(time.Millisecond)
		}
	}
	if got := woken[1].Load() - base[1]; got < leads {
		t.Errorf("the other instance was woken %d times for %d changes", got, leads)
	}
	if h := buses[0].Heard.Load(); h != 0 {
		t.Errorf("the writing instance heard %d of its own notifications", h)
	}
	if n := buses[0].Sent.Load(); n < leads {
		// One lead at a time, each waited for: no two share a notification.
		t.Errorf("%d notifications sent for %d changes made one after another", n, leads)
	}
}

// A stream of commits shares notifications: at most one goes out per
// ChangeNotifyGap, however many commits kick the bus (at 500 changes/s
// one each had cost PostgreSQL a transaction and every listener a
// wake-up, ~460 a second). Counted against the time the bus ran — a bound
// that only a bus sending faster than the gap breaks — and at least one
// notification still goes out for the last commits.
func TestChangeBusSharesNotifications(t *testing.T) {
	if len(storetest.Engines(t)) < 2 {
		t.Skip("PostgreSQL only")
	}
	d, err := db.Open(context.Background(), db.Options{PostgresURL: storetest.PostgresURL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	bus := d.NewChangeBus(func() {}, nil)
	start := time.Now()
	bus.Start(context.Background())
	<-bus.Listening()
	const kicks = 400
	for range kicks {
		bus.Changed()
		time.Sleep(100 * time.Microsecond)
	}
	for deadline := time.Now().Add(10 * time.Second); bus.Sent.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no notification sent for 400 commits")
		}
	}
	time.Sleep(3 * db.ChangeNotifyGap) // the last kicks' notification
	bus.Stop()
	elapsed := time.Since(start)
	if n, most := bus.Sent.Load(), int64(elapsed/db.ChangeNotifyGap)+1; n > most {
		t.Fatalf("%d notifications for %d commits in %v: more than one per %v", n, kicks, elapsed, db.ChangeNotifyGap)
	}
}
