package app_test

import (
	"testing"
	"time"

	"github.com/obmen/obmen/internal/app/apptest"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestChangesNotSentWithoutListeners (PostgreSQL): while no webhook and
// no event bundle is active, a commit does not notify the other instances
// (they would find nobody to serve either); once a webhook is made, the
// next commit does notify (issue 21: three instances on 2 cores spent a fifth more
// statements on the wake-ups of one another's commits).
func TestChangesNotSentWithoutListeners(t *testing.T) {
	d := storetest.OpenPostgres(t)
	s := apptest.Start(t, d)
	a := s.App
	waitUntil(t, "the dispatchers find nobody listening", func() bool { return a.Delivery.Idle() && a.Automation.Idle() })
	sent := a.Changes.Sent.Load()
	for i := range 30 {
		s.Do(t, "POST", "/api/v1/leads", map[string]any{"title": "Тишина " + string(rune('А'+i))}, 201, nil)
		if i%10 == 9 {
			time.Sleep(400 * time.Millisecond) // past the dispatchers' idle second now and then
		}
	}
	if n := a.Changes.Sent.Load() - sent; n != 0 {
		t.Fatalf("%d notifications sent for changes nobody listens to", n)
	}
	s.Do(t, "POST", "/api/v1/outbound-webhooks", map[string]any{"kind": "native", "name": "слушатель", "url": "http://127.0.0.1:9/hook", "events": []string{"lead.create"}}, 201, nil)
	if a.Delivery.Idle() {
		t.Fatal("the delivery dispatcher is still idle after a webhook was made")
	}
	s.Do(t, "POST", "/api/v1/leads", map[string]any{"title": "Услышат"}, 201, nil)
	waitUntil(t, "a notification of the change", func() bool { return a.Changes.Sent.Load() > sent })
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
