package web_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/jobs"
)

// startAutomation runs the job queue with the automation worker and the
// service's producers, as the server does, so that runs run.
func startAutomation(t testing.TB, e *env) {
	t.Helper()
	ctx := context.Background()
	if err := jobs.Migrate(ctx, e.app.DB); err != nil {
		t.Fatal(err)
	}
	svc := e.app.Automation
	runner, err := jobs.New(ctx, e.app.DB, slog.New(slog.DiscardHandler), svc.Register, svc.Queues, func(c *river.Config) {
		c.FetchCooldown, c.FetchPollInterval = 5*time.Millisecond, 20*time.Millisecond
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	svc.Start(ctx, runner)
	t.Cleanup(func() {
		svc.Stop()
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = runner.Stop(sctx)
		runner.Close()
	})
}

// echoIn is the test action's input: a text, a number, a secret, a list
// of objects and a nested object, so that the editor's generated form
// has one of each.
type echoIn struct {
	Text   string `json:"text" auto:"required"`
	Count  int64  `json:"count"`
	Kind   string `json:"kind" auto:"enum=call|meeting"`
	Urgent bool   `json:"urgent"`
	Token  string `json:"token" auto:"secret"`
	Phones []struct {
		Value string `json:"value"`
		Type  string `json:"value_type"`
	} `json:"phones"`
	Extra map[string]any `json:"extra"`
}

type echoOut struct {
	ID   int64  `json:"id"`
	Text string `json:"text"`
}

// addTestActions registers test.echo (returns its text and id 42) and
// test.fail (always fails), in a group of their own.
func addTestActions(t testing.TB, e *env) {
	t.Helper()
	reg := e.app.Automation.Registry()
	if _, ok := reg.Action("test.echo"); ok {
		return
	}
	reg.MustAdd(
		automation.Define(automation.Spec{Name: "test.echo", Group: "test"}, func(_ context.Context, _ *automation.Call, in echoIn) (echoOut, error) {
			return echoOut{ID: 42, Text: in.Text}, nil
		}),
		automation.Define(automation.Spec{Name: "test.fail", Group: "test"}, func(context.Context, *automation.Call, struct{}) (echoOut, error) {
			return echoOut{}, errors.New("it failed on purpose")
		}),
	)
}

// waitRun waits for a run to finish and returns it.
func waitRun(t testing.TB, e *env, id int64) automation.Run {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := e.app.Automation.GetRun(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Finished() {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d still %s", id, r.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
