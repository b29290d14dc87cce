package automation_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
)

// A connector's polling trigger, registered like any: items after the
// bundle's cursor become runs, the cursor moves on with them, and an item
// seen again (a poll repeated after a crash, a remote API that pages
// with overlap) makes no second run.
func TestPollingTrigger(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		var mu sync.Mutex
		var cursors []string
		remote := []string{"call-1", "call-2", "call-3", "call-4", "call-5"}
		err := e.app.Automation.Registry().AddTrigger(automation.TriggerKind{
			Type: "test.calls", Group: "test", Every: 50 * time.Millisecond,
			Data: []automation.Field{{Name: "call_id", Type: "string"}},
			Poll: func(ctx context.Context, b *automation.Bundle, cursor string) ([]automation.Item, string, error) {
				mu.Lock()
				defer mu.Unlock()
				cursors = append(cursors, cursor)
				from := 0
				if cursor != "" {
					from, _ = strconv.Atoi(cursor)
					from-- // overlap by one, as paging APIs do
				}
				to := min(len(remote), from+2)
				var items []automation.Item
				for _, id := range remote[from:to] {
					items = append(items, automation.Item{Key: id, Data: map[string]any{"call_id": id}})
				}
				return items, strconv.Itoa(to), nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		b := e.bundle(jsonOf(t, `{"name": "звонки", "active": true, "trigger": {"type": "test.calls"},
			"steps": [{"id": "s", "action": "test.echo", "input": {"value": "{{trigger.call_id}}"}}]}`))
		e.waitRuns(b.ID, 5)
		time.Sleep(300 * time.Millisecond) // more polls, with overlap
		runs := e.waitRuns(b.ID, 5)
		seen := map[string]bool{}
		for _, r := range runs {
			v := fmt.Sprint(path(e.run(r.ID).Steps[0].Output, "value"))
			if seen[v] {
				t.Fatalf("%s ran twice", v)
			}
			seen[v] = true
		}
		if len(runs) != 5 {
			t.Fatalf("%d runs for 5 calls", len(runs))
		}
		mu.Lock()
		defer mu.Unlock()
		if len(cursors) < 4 || cursors[0] != "" || cursors[1] != "2" {
			t.Fatalf("cursors %q", cursors)
		}
	})
}

// A connector's push trigger hands items to Fire from its own endpoint:
// one run per item key, however often the remote side pushes it.
func TestPushTrigger(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		if err := e.app.Automation.Registry().AddTrigger(automation.TriggerKind{Type: "test.push", Group: "test"}); err != nil {
			t.Fatal(err)
		}
		b := e.bundle(jsonOf(t, `{"name": "push", "active": true, "trigger": {"type": "test.push"},
			"steps": [{"id": "s", "action": "test.echo", "input": {"value": "{{trigger.n}}"}}]}`))
		items := []automation.Item{{Key: "a", Data: map[string]any{"n": 1}}, {Key: "b", Data: map[string]any{"n": 2}}}
		first, err := e.app.Automation.Fire(t.Context(), b.ID, items)
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.app.Automation.Fire(t.Context(), b.ID, items[:1])
		if err != nil {
			t.Fatal(err)
		}
		if again[0] != first[0] {
			t.Fatalf("a pushed item made runs %d and %d", first[0], again[0])
		}
		if runs := e.waitRuns(b.ID, 2); len(runs) != 2 {
			t.Fatalf("%d runs", len(runs))
		}
	})
}
