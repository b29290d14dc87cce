package delivery

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	"github.com/obmen/obmen/internal/db"
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
		svc := e.driven() // the first attempts the dispatches start (to nowhere) end first
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
		got := e.recordsOf
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

// TestDispatchKeepsWebhooksUntilChanged: the dispatcher reads the active
// webhooks again only when one has been written — by anyone: each write
// below is plain SQL, as another instance's or an operator's would be —
// and then at once: a webhook turned off, one made, one changed and one
// deleted between two dispatches are seen by the second. Unchanged, the
// list is kept (the same one in memory).
func TestDispatchKeepsWebhooksUntilChanged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, loopback)
		svc := e.driven()
		dispatch := func() {
			t.Helper()
			if _, err := svc.Dispatch(ctx); err != nil {
				t.Fatal(err)
			}
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, q, args...)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		got := e.recordsOf
		hook := func(name string) Webhook {
			return e.webhook(Webhook{Kind: KindNative, Name: name, URL: "http://127.0.0.1:9/" + name, Events: []string{"lead.create"}})
		}
		a, b := hook("a"), hook("b")
		l1 := e.lead(e.admin, "1")
		dispatch()
		kept := svc.webhooks.Load()
		l2 := e.lead(e.admin, "2")
		dispatch()
		if svc.webhooks.Load() != kept {
			t.Fatal("webhooks read again though none was written")
		}
		if ids := got(a); !slices.Equal(ids, []int64{l1.ID, l2.ID}) {
			t.Fatalf("a got leads %v, want %v", ids, []int64{l1.ID, l2.ID})
		}

		exec("UPDATE outbound_webhooks SET active = FALSE WHERE id = $1", a.ID)
		var last int64
		if err := d.Read.QueryRowContext(ctx, "SELECT MAX(id) FROM events").Scan(&last); err != nil {
			t.Fatal(err)
		}
		exec(`INSERT INTO outbound_webhooks (kind, name, url, events, token, integration, include_echo, active, disabled_reason, created_at, updated_at, since_event)
			VALUES ('native', 'c', 'http://127.0.0.1:9/c', 'lead.create', '', '', FALSE, TRUE, '', 1, 1, $1)`, last)
		exec("UPDATE outbound_webhooks SET events = 'deal.create' WHERE id = $1", b.ID)
		l3 := e.lead(e.admin, "3")
		dispatch()
		if ids := got(a); !slices.Equal(ids, []int64{l1.ID, l2.ID}) {
			t.Fatalf("a, turned off, got leads %v, want still %v", ids, []int64{l1.ID, l2.ID})
		}
		if ids := got(b); !slices.Equal(ids, []int64{l1.ID, l2.ID}) {
			t.Fatalf("b, moved to deals, got leads %v, want still %v", ids, []int64{l1.ID, l2.ID})
		}
		var c Webhook
		if err := d.Read.QueryRowContext(ctx, "SELECT id FROM outbound_webhooks WHERE name = 'c'").Scan(&c.ID); err != nil {
			t.Fatal(err)
		}
		if ids := got(c); !slices.Equal(ids, []int64{l3.ID}) {
			t.Fatalf("c, made before lead %d, got leads %v", l3.ID, ids)
		}

		exec("DELETE FROM outbound_webhooks WHERE id = $1", c.ID) // its delivery goes with it
		l4 := e.lead(e.admin, "4")
		dispatch() // would fail on the deliveries' foreign key with c still listed
		if ids := got(b); !slices.Equal(ids, []int64{l1.ID, l2.ID}) {
			t.Fatalf("b got leads %v after lead %d", ids, l4.ID)
		}
	})
}
