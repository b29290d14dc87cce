package delivery

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/jobs"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestWebhookGetsOnlyLaterChanges: a webhook is sent the changes logged
// after it was made or last enabled, whatever the dispatchers' one cursor
// says: (1) one made while another webhook's changes wait for the
// dispatcher does not get those; (2) one enabled again within the second
// in which the dispatcher, finding no webhook active, does not look (nor
// move the cursor) does not get the changes made while it was off. The
// dispatcher is driven by hand (its River runner is not started: the
// deliveries' rows are what is checked; their first attempts fail). Before since_event both failed:
// the cursor alone stood for "made before".
func TestWebhookGetsOnlyLaterChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, loopback)
		svc := New(d, e.box, httpx.NewOutboundClient(loopback), testPortal, slog.New(slog.DiscardHandler), e.opts...)
		r, err := jobs.New(ctx, d, slog.New(slog.DiscardHandler), svc.Register, e.river)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
		t.Cleanup(svc.Stop) // the first attempts the dispatches start (to nowhere) end first
		svc.runner = r
		e.svc = svc
		dispatch := func() {
			t.Helper()
			for {
				n, err := svc.Dispatch(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if n < dispatchBatch {
					return
				}
			}
		}
		got := func(w Webhook) []int64 {
			t.Helper()
			var ids []int64
			for _, d := range e.deliveries(w.ID) {
				ids = append(ids, d.RecordID)
			}
			slices.Sort(ids)
			return ids
		}
		hook := func(name string) Webhook {
			return e.webhook(Webhook{Kind: KindNative, Name: name, URL: "http://127.0.0.1:9/" + name, Events: []string{"lead.create"}})
		}

		a := hook("a")
		l1 := e.lead(e.admin, "made before b")
		b := hook("b") // l1 still waits for the dispatcher
		l2 := e.lead(e.admin, "made after b")
		dispatch()
		if ids := got(a); !slices.Equal(ids, []int64{l1.ID, l2.ID}) {
			t.Fatalf("a got leads %v, want %v", ids, []int64{l1.ID, l2.ID})
		}
		if ids := got(b); !slices.Equal(ids, []int64{l2.ID}) {
			t.Fatalf("b, made after lead %d, got leads %v, want only %d", l1.ID, ids, l2.ID)
		}

		for _, w := range []Webhook{a, b} {
			if _, err := svc.Update(ctx, w.ID, func(w *Webhook) error { w.Active = false; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		dispatch() // finds nobody: the cursor passes the log's end, no look for a second
		l3 := e.lead(e.admin, "made while a is off")
		dispatch() // within that second: no look, the cursor stays before l3
		if _, err := svc.Update(ctx, a.ID, func(w *Webhook) error { w.Active = true; return nil }); err != nil {
			t.Fatal(err)
		}
		l4 := e.lead(e.admin, "made after a is on again")
		dispatch()
		if ids := got(a); !slices.Equal(ids, []int64{l1.ID, l2.ID, l4.ID}) {
			t.Fatalf("a, off while lead %d was made, got leads %v, want %v", l3.ID, ids, []int64{l1.ID, l2.ID, l4.ID})
		}
		if ids := got(b); !slices.Equal(ids, []int64{l2.ID}) {
			t.Fatalf("b, off, got leads %v, want still only %d", ids, l2.ID)
		}
	})
}
