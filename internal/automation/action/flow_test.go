package action

import (
	"net/http"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
)

func TestDelay(t *testing.T) {
	t.Parallel()
	e := actionsWith(t, http.DefaultClient)
	now := time.Date(2025, 2, 28, 12, 0, 0, 0, time.UTC)
	call := func() *automation.Call {
		c := e.call()
		c.Now = func() time.Time { return now }
		return c
	}
	for _, c := range []struct {
		in   map[string]any
		want time.Time
	}{
		{map[string]any{"minutes": int64(5)}, now.Add(5 * time.Minute)},
		{map[string]any{"days": int64(1), "hours": 1.5}, now.Add(25*time.Hour + 30*time.Minute)},
		{map[string]any{"seconds": int64(1)}, now.Add(time.Second)},
		{map[string]any{"days": int64(366)}, now.Add(366 * 24 * time.Hour)},
		{map[string]any{"until": "2025-03-01 09:00"}, time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC)},
		{map[string]any{"until": "2025-03-01T09:00:00+03:00"}, time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC)},
		{map[string]any{"until": "2025-03-01T09:00:00Z"}, time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)},
		// A moment past: the run goes on.
		{map[string]any{"until": "2025-01-01 09:00"}, time.Date(2025, 1, 1, 6, 0, 0, 0, time.UTC)},
	} {
		out := e.ok(call(), "delay", c.in)
		if out["until"] != c.want.Format(time.RFC3339) {
			t.Errorf("%v: until %v, want %s", c.in, out["until"], c.want.Format(time.RFC3339))
		}
	}
	for _, c := range []struct {
		in    map[string]any
		field string
	}{
		{map[string]any{}, "minutes"},
		{map[string]any{"seconds": 0.5}, "seconds"},
		{map[string]any{"minutes": int64(-1)}, "minutes"},
		{map[string]any{"days": int64(367)}, "days"},
		{map[string]any{"hours": "two"}, "hours"},
		{map[string]any{"until": "завтра"}, "until"},
		{map[string]any{"until": "2027-03-01 09:00"}, "until"},
		{map[string]any{"until": "2025-03-01 09:00", "minutes": int64(5)}, "until"},
	} {
		e.fails(call(), "delay", c.in, c.field)
	}
	c := call()
	c.DryRun = true
	out, err := e.run(c, "delay", map[string]any{"hours": int64(2)})
	if err != nil {
		t.Fatal(err)
	}
	wantPreview(t, out, "wait until 2025-02-28T14:00:00Z")
}

func TestStop(t *testing.T) {
	t.Parallel()
	e := actionsWith(t, http.DefaultClient)
	if out := e.ok(e.call(), "stop", map[string]any{}); out["result"] != "ok" || out["message"] != "" {
		t.Errorf("default: %v", out)
	}
	if out := e.ok(e.call(), "stop", map[string]any{"result": "error", "message": "Нет телефона"}); out["result"] != "error" || out["message"] != "Нет телефона" {
		t.Errorf("error: %v", out)
	}
	e.fails(e.call(), "stop", map[string]any{"result": "maybe"}, "result")
}
