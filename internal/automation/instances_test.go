package automation_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// Two instances on one PostgreSQL: every change event makes exactly one
// run, worked once, and a schedule fires once per time, none lost.
func TestTwoInstancesRunEachItemOnce(t *testing.T) {
	url := storetest.PostgresURL(t)
	open := func() *db.DB {
		d, err := db.Open(context.Background(), db.Options{PostgresURL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		if _, err := d.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := newEnv(t, open())
	b := newEnv(t, open())
	leads := a.bundle(jsonOf(t, `{"name": "каждый лид", "active": true,
		"trigger": {"type": "crm.event", "entity": "lead", "actions": ["create"]},
		"steps": [{"id": "count", "action": "test.count"}, {"id": "echo", "action": "test.echo", "input": {"value": "{{trigger.record.id}}"}}]}`))
	sched := b.bundle(jsonOf(t, `{"name": "каждую секунду", "active": true, "trigger": {"type": "schedule", "cron": "@every 1s"},
		"steps": [{"id": "count", "action": "test.count"}]}`))
	const n = 200
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			e := a
			if w%2 == 1 {
				e = b
			}
			for i := w; i < n; i += 4 {
				e.lead(map[string]any{"title": fmt.Sprintf("лид %d", i)})
			}
		}(w)
	}
	wg.Wait()
	runs := a.waitRunsAll(leads.ID, n)
	records := map[int64]bool{}
	for _, r := range runs {
		if r.Status != automation.StatusOK {
			t.Fatalf("run %d: %s %s", r.ID, r.Status, r.Error)
		}
		if records[r.RecordID] {
			t.Fatalf("lead %d ran twice", r.RecordID)
		}
		records[r.RecordID] = true
	}
	time.Sleep(2500 * time.Millisecond)
	b.must(b.do("POST", fmt.Sprintf("/api/v1/bundles/%d/deactivate", sched.ID), nil), 200)
	time.Sleep(300 * time.Millisecond)
	fired := b.waitRunsAll(sched.ID, 2)
	times := map[string]bool{}
	worked := 0
	type slot struct {
		at     time.Time
		missed int
	}
	var slots []slot
	for _, r := range fired {
		if times[r.TriggerKey] {
			t.Fatalf("schedule time %s fired twice", r.TriggerKey)
		}
		times[r.TriggerKey] = true
		switch {
		case r.Status == automation.StatusOK:
			worked++
		case r.Status == automation.StatusCancelled && strings.Contains(r.Error, "switched off"):
			// A time queued just before the switch-off (a slow machine
			// starts it later): cancelled, its step not called.
		default:
			t.Fatalf("schedule run %+v", r)
		}
		m := b.run(r.ID).Trigger
		at, err := time.Parse(time.RFC3339, fmt.Sprint(path(m, "scheduled_at")))
		missed, ok := path(m, "missed").(float64)
		if err != nil || !ok {
			t.Fatalf("schedule run %d's trigger: %v (%v)", r.ID, m, err)
		}
		slots = append(slots, slot{at, int(missed)})
	}
	// No time is lost between the instances: each fired time is followed
	// by the next one, or by as many as it says it missed (a machine too
	// loaded to fire within the second skips a time and says so — the
	// schedule does not catch up).
	sort.Slice(slots, func(i, j int) bool { return slots[i].at.Before(slots[j].at) })
	for i := 1; i < len(slots); i++ {
		if gap, want := slots[i].at.Sub(slots[i-1].at), time.Duration(1+slots[i-1].missed)*time.Second; gap != want {
			t.Fatalf("schedule time %s follows %s (missed %d): a time was lost", slots[i].at, slots[i-1].at, slots[i-1].missed)
		}
	}
	// Worked once: each step's key was called once, on one instance or
	// the other.
	calls := map[string]int{}
	for _, e := range []*env{a, b} {
		e.acts.mu.Lock()
		for k, v := range e.acts.calls {
			calls[k] += v
		}
		e.acts.mu.Unlock()
	}
	if worked == 0 {
		t.Fatalf("no schedule run worked: %+v", fired)
	}
	if len(calls) != n+worked {
		t.Fatalf("%d distinct step calls, want %d", len(calls), n+worked)
	}
	for k, v := range calls {
		if v != 1 {
			t.Fatalf("%s called %d times", k, v)
		}
	}
	t.Logf("%d lead runs and %d schedule runs over two instances, each once", n, len(fired))
}

// waitRunsAll waits until the bundle has at least n runs and none is
// unfinished; it returns them all.
func (e *env) waitRunsAll(bundle int64, n int) []automation.Run {
	e.t.Helper()
	var all []automation.Run
	e.waitFor(fmt.Sprintf("%d finished runs of bundle %d", n, bundle), 120*time.Second, func() bool {
		var st automation.RunStats
		e.must(e.do("GET", fmt.Sprintf("/api/v1/bundles/%d/stats", bundle), nil), 200).json(e.t, &st)
		if st.Total < n || st.Open > 0 {
			time.Sleep(80 * time.Millisecond)
			return false
		}
		all = all[:0]
		before := int64(0)
		for {
			q := fmt.Sprintf("/api/v1/runs?bundle_id=%d&limit=500", bundle)
			if before > 0 {
				q += fmt.Sprintf("&before=%d", before)
			}
			var l automation.RunList
			e.must(e.do("GET", q, nil), 200).json(e.t, &l)
			all = append(all, l.Items...)
			if l.NextBefore == 0 {
				break
			}
			before = l.NextBefore
		}
		if len(all) < n {
			return false
		}
		for _, r := range all {
			if !r.Finished() {
				return false
			}
		}
		return true
	})
	return all
}
