package calltouch_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/calltouch"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store/storetest"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// saved is a connection store holding one calltouch connection to f.
func saved(t *testing.T, d *db.DB, f *fake, deps calltouch.Deps) (*connection.Store, int64) {
	t.Helper()
	box, err := secret.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	reg := connection.NewRegistry(i18n.New())
	if err := reg.Add(calltouch.ConnectionType(deps)); err != nil {
		t.Fatal(err)
	}
	s := connection.NewStore(d, box, reg)
	c, err := s.Create(t.Context(), 1, connection.Input{Type: calltouch.Type, Name: "Calltouch", Settings: map[string]any{
		"site_id": f.Site, "token": f.Token, "url": f.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	return s, c.ID
}

// engine keeps a bundle's cursor and its runs as the automation engine
// does: the cursor is stored with the runs, a key runs once.
type engine struct {
	cursor string
	runs   map[string]map[string]any
	order  []string
}

// poll polls once; crash drops what the poll read before it is stored.
func (e *engine) poll(t *testing.T, ctx context.Context, poll func(context.Context, *automation.Bundle, string) ([]automation.Item, string, error), b *automation.Bundle, crash bool) int {
	t.Helper()
	items, next, err := poll(ctx, b, e.cursor)
	if err != nil {
		t.Fatal(err)
	}
	if crash {
		return len(items)
	}
	for _, it := range items {
		if prev, ok := e.runs[it.Key]; ok {
			// Read again: the same data under the same key.
			if !reflect.DeepEqual(prev, it.Data) {
				t.Fatalf("%s read again with other data:\n%v\n%v", it.Key, prev, it.Data)
			}
			continue
		}
		e.runs[it.Key] = it.Data
		e.order = append(e.order, it.Key)
	}
	e.cursor = next
	return len(items)
}

// Overlapping windows, a call the diary shows late, midnight, and a
// crash between the read and the store: every call once, none missed.
func TestPollCallsNoMissNoDuplicate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFake(t)
		f.Limit = 0
		clk := &clock{now: time.Date(2026, 12, 15, 23, 50, 0, 0, f.Loc)}
		deps := calltouch.Deps{HTTP: &http.Client{Timeout: 5 * time.Second}, Now: clk.Now, Rate: 1000}
		conns, id := saved(t, d, f, deps)
		deps.Conns = conns
		kind := calltouch.CallTrigger(deps)
		b := &automation.Bundle{Definition: automation.Definition{Trigger: automation.TriggerSpec{Type: calltouch.TriggerCall, Connection: id,
			Options: map[string]any{"overlap_minutes": float64(30)}}}}
		if ps := kind.Validate(b.Trigger); len(ps) != 0 {
			t.Fatal(ps)
		}
		ctx := t.Context()
		e := &engine{runs: map[string]map[string]any{}}
		start := clk.Now()
		f.AddCall(1, start.Add(-time.Minute), nil) // before the bundle: not its business
		e.poll(t, ctx, kind.Poll, b, false)
		if len(e.runs) != 0 || len(f.Hits("calls-diary")) != 0 {
			t.Fatalf("the first poll: %v", e.runs)
		}
		at := func(m time.Duration) time.Time { return start.Add(m) }
		f.AddCall(2, at(10*time.Second), nil)
		f.AddCall(3, at(50*time.Second), nil)
		clk.set(at(time.Minute))
		e.poll(t, ctx, kind.Poll, b, false)
		// A call that began before the last poll and ended after it
		// enters the diary late, dated when it began.
		f.AddCall(4, at(55*time.Second), nil)
		f.AddCall(5, at(90*time.Second), nil)
		clk.set(at(2 * time.Minute))
		e.poll(t, ctx, kind.Poll, b, false)
		// Midnight: the window spans two days of the diary.
		f.AddCall(6, at(9*time.Minute+55*time.Second), nil)  // 23:59:55
		f.AddCall(7, at(10*time.Minute+20*time.Second), nil) // 00:00:20
		clk.set(at(11 * time.Minute))
		// kill -9 between the read and the cursor's store.
		if n := e.poll(t, ctx, kind.Poll, b, true); n < 2 {
			t.Fatalf("the lost poll read %d", n)
		}
		e.poll(t, ctx, kind.Poll, b, false)
		clk.set(at(12 * time.Minute))
		e.poll(t, ctx, kind.Poll, b, false)
		want := []string{"calltouch:call:2", "calltouch:call:3", "calltouch:call:4", "calltouch:call:5", "calltouch:call:6", "calltouch:call:7"}
		if !reflect.DeepEqual(e.order, want) {
			t.Fatalf("runs %v, want %v", e.order, want)
		}
		days := map[string]bool{}
		for _, h := range f.Hits("calls-diary") {
			days[h.Query["dateFrom"][0]] = true
		}
		if !days["15/12/2026"] || !days["16/12/2026"] {
			t.Fatalf("days read %v", days)
		}
	})
}

func TestPollRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFake(t)
		f.Limit = 0
		clk := &clock{now: time.Date(2026, 12, 15, 12, 0, 0, 0, f.Loc)}
		deps := calltouch.Deps{HTTP: &http.Client{Timeout: 5 * time.Second}, Now: clk.Now, Rate: 1000}
		conns, id := saved(t, d, f, deps)
		deps.Conns = conns
		kind := calltouch.RequestTrigger(deps)
		b := &automation.Bundle{Definition: automation.Definition{Trigger: automation.TriggerSpec{Type: calltouch.TriggerReq, Connection: id}}}
		ctx := t.Context()
		e := &engine{runs: map[string]map[string]any{}}
		start := clk.Now()
		e.poll(t, ctx, kind.Poll, b, false)
		f.AddRequest(1, start.Add(20*time.Second))
		clk.set(start.Add(time.Minute))
		e.poll(t, ctx, kind.Poll, b, false)
		f.AddRequest(2, start.Add(59*time.Second)) // recorded late
		clk.set(start.Add(2 * time.Minute))
		e.poll(t, ctx, kind.Poll, b, true)
		e.poll(t, ctx, kind.Poll, b, false)
		if want := []string{"calltouch:request:1", "calltouch:request:2"}; !reflect.DeepEqual(e.order, want) {
			t.Fatalf("runs %v", e.order)
		}
		if e.runs["calltouch:request:2"]["email"] != "anna@example.ru" {
			t.Fatalf("data %v", e.runs["calltouch:request:2"])
		}
		// The overlap's range is the kind's to check (the engine checks
		// the connection, the option names and their types).
		bad := automation.TriggerSpec{Type: calltouch.TriggerReq, Connection: 1, Options: map[string]any{"overlap_minutes": 2000.0}}
		if ps := kind.Validate(bad); len(ps) != 1 || ps[0].Field != "trigger.options.overlap_minutes" {
			t.Fatalf("problems %v", ps)
		}
	})
}
