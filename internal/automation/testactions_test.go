package automation_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/app"
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
)

// testActions are actions for the engine's tests, beside the real ones:
// each tells the test how it was called.
type testActions struct {
	mu         sync.Mutex
	calls      map[string]int // by the call's idempotency key
	attempts   map[int64]int  // test.flaky's attempts by run
	running    map[string]int // test.slow's runs in flight by key
	maxRunning map[string]int
	allRunning int
	maxAll     int
	order      []string
	failing    atomic.Bool
}

func registerTestActions(t testing.TB, a *app.Server) *testActions {
	ta := &testActions{calls: map[string]int{}, attempts: map[int64]int{}, running: map[string]int{}, maxRunning: map[string]int{}}
	ta.failing.Store(true)
	type valueIO struct {
		Value any `json:"value"`
	}
	type none struct{}
	reg := a.Automation.Registry()
	err := reg.Add(
		automation.Define(automation.Spec{Name: "test.echo", Group: "test"},
			func(ctx context.Context, c *automation.Call, in valueIO) (valueIO, error) { return in, nil }),
		automation.Define(automation.Spec{Name: "test.flaky", Group: "test"},
			func(ctx context.Context, c *automation.Call, in struct {
				Times      int `json:"times"`
				RetryAfter int `json:"retry_after_ms"`
			}) (map[string]any, error) {
				ta.mu.Lock()
				ta.attempts[c.RunID]++
				n := ta.attempts[c.RunID]
				ta.mu.Unlock()
				if n <= in.Times {
					return nil, automation.Transient(fmt.Errorf("flaky: attempt %d of run %d fails", n, c.RunID),
						time.Duration(in.RetryAfter)*time.Millisecond)
				}
				return map[string]any{"attempt": n, "call_attempt": c.Attempt}, nil
			}),
		automation.Define(automation.Spec{Name: "test.fail", Group: "test"},
			func(ctx context.Context, c *automation.Call, in struct {
				Message string `json:"message"`
			}) (map[string]any, error) {
				if ta.failing.Load() {
					return nil, errors.New(in.Message)
				}
				return map[string]any{"passed": true}, nil
			}),
		automation.Define(automation.Spec{Name: "test.wait", Group: "test"},
			func(ctx context.Context, c *automation.Call, in struct {
				Seconds float64 `json:"seconds"`
			}) (map[string]any, error) {
				until := c.Now().Add(time.Duration(in.Seconds * float64(time.Second)))
				if !c.DryRun {
					c.WaitUntil(until)
				}
				return map[string]any{"until": until}, nil
			}),
		automation.Define(automation.Spec{Name: "test.count", Group: "test"},
			func(ctx context.Context, c *automation.Call, in none) (map[string]any, error) {
				ta.mu.Lock()
				defer ta.mu.Unlock()
				ta.calls[c.Key()]++
				return map[string]any{"n": ta.calls[c.Key()]}, nil
			}),
		automation.Define(automation.Spec{Name: "test.set_title", Group: "test", Writes: true, Entity: "lead"},
			func(ctx context.Context, c *automation.Call, in struct {
				ID    int64  `json:"id" auto:"required"`
				Title string `json:"title"`
			}) (any, error) {
				if c.DryRun {
					return automation.Preview{DryRun: true, Would: "update lead", Send: in}, nil
				}
				l, err := a.Store.UpdateLead(ctx, c.Actor, in.ID, func(l *crm.Lead) error { l.Title = in.Title; return nil })
				return l, err
			}),
		automation.Define(automation.Spec{Name: "test.slow", Group: "test"},
			func(ctx context.Context, c *automation.Call, in struct {
				Key string `json:"key"`
				MS  int    `json:"ms"`
			}) (map[string]any, error) {
				ta.mu.Lock()
				ta.running[in.Key]++
				ta.allRunning++
				ta.maxRunning[in.Key] = max(ta.maxRunning[in.Key], ta.running[in.Key])
				ta.maxAll = max(ta.maxAll, ta.allRunning)
				ta.order = append(ta.order, fmt.Sprintf("%s:%d", in.Key, c.RunID))
				ta.mu.Unlock()
				time.Sleep(time.Duration(in.MS) * time.Millisecond)
				ta.mu.Lock()
				ta.running[in.Key]--
				ta.allRunning--
				ta.mu.Unlock()
				return map[string]any{"key": in.Key}, nil
			}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return ta
}
