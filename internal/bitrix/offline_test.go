package bitrix_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/obmen/obmen/internal/bitrix"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/delivery"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func init() {
	for _, m := range []string{"event.offline.get", "event.offline.list"} {
		shapeExempt[m] = map[string]string{}
	}
	shapeExempt["event.offline.get"]["result.events[].EVENT_DATA"] = "the example's event carries no data (false); Obmen sends FIELDS.ID of the record, as Bitrix24's CRM events do"
	shapeExempt["event.offline.list"]["result[].EVENT_DATA"] = "the example's event carries no data (false); Obmen sends FIELDS.ID of the record, as Bitrix24's CRM events do"
}

// TestOfflineEvents: an offline binding queues the changes made after it,
// one row per record and event (the latest), which event.offline.get takes
// (clear=1) or reserves under a process_id (clear=0) for
// event.offline.clear; event.offline.list reads without changing.
func TestOfflineEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEventEnv(t, d).with(t)
		before := e.ok(e.json("crm.lead.add", map[string]any{"fields": map[string]any{"TITLE": "До подписки"}})).str(t, "result")
		e.ok(e.json("event.bind", map[string]any{"event": "ONCRMLEADUPDATE", "event_type": "offline"}))
		e.ok(e.json("event.bind", map[string]any{"event": "ONCRMDEALADD", "event_type": "offline"}))
		e.fails(e.json("event.bind", map[string]any{"event": "ONCRMDEALADD", "event_type": "offline"}), http.StatusBadRequest, "ERROR_CORE", "already binded")
		bound := e.ok(e.json("event.get", map[string]any{}))
		if off := bound.str(t, "result", "0", "offline"); off != "1" {
			t.Errorf("event.get: offline %s: %s", off, bound.Body)
		}

		// Three updates of one lead are one queued row; a deal adds one.
		for _, title := range []string{"Раз", "Два", "Три"} {
			e.ok(e.json("crm.lead.update", map[string]any{"id": before, "fields": map[string]any{"TITLE": title}}))
		}
		deal := e.ok(e.json("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Сделка"}})).str(t, "result")
		e.ok(e.json("crm.contact.add", map[string]any{"fields": map[string]any{"NAME": "Не подписан"}}))

		list := e.ok(e.json("event.offline.list", map[string]any{}))
		conform(t, "event.offline.list", list)
		if n := list.str(t, "total"); n != "2" {
			t.Fatalf("queue: %s", list.Body)
		}
		if name, id := list.str(t, "result", "0", "EVENT_NAME"), list.str(t, "result", "0", "EVENT_DATA", "FIELDS", "ID"); name != "ONCRMLEADUPDATE" || id != before {
			t.Errorf("first queued: %s of %s", name, id)
		}

		// Reserve the deal's, then clear it.
		res := e.ok(e.json("event.offline.get", map[string]any{"clear": 0, "filter": map[string]any{"=EVENT_NAME": "ONCRMDEALADD"}}))
		conform(t, "event.offline.get", res)
		pid := res.str(t, "result", "process_id")
		if pid == "" || res.str(t, "result", "events", "0", "EVENT_DATA", "FIELDS", "ID") != deal {
			t.Fatalf("reserved: %s", res.Body)
		}
		if n := e.ok(e.json("event.offline.list", map[string]any{"filter": map[string]any{"PROCESS_ID": pid}})).str(t, "total"); n != "1" {
			t.Errorf("reserved rows listed under the process: %s", n)
		}
		// A reserved row is hidden from other reads.
		again := e.ok(e.json("event.offline.get", map[string]any{"clear": 0, "filter": map[string]any{"=EVENT_NAME": "ONCRMDEALADD"}}))
		if evs, _ := again.Doc.Lookup("result", "events", "0"); evs != nil {
			t.Errorf("a reserved row was handed out twice: %s", again.Body)
		}
		conform(t, "event.offline.clear", e.ok(e.json("event.offline.clear", map[string]any{"process_id": pid})))
		e.fails(e.json("event.offline.clear", map[string]any{}), http.StatusBadRequest, "ERROR_CORE", "PROCESS_ID")

		// Take the rest (clear=1): the queue is empty after.
		taken := e.ok(e.json("event.offline.get", map[string]any{}))
		if p := taken.str(t, "result", "process_id"); p != "" || taken.str(t, "result", "events", "0", "EVENT_NAME") != "ONCRMLEADUPDATE" {
			t.Errorf("taken: %s", taken.Body)
		}
		if n := e.ok(e.json("event.offline.list", map[string]any{})).str(t, "total"); n != "0" {
			t.Errorf("queue after get: %s", n)
		}
		// A new change after the cursor is queued again.
		e.ok(e.json("crm.lead.update", map[string]any{"id": before, "fields": map[string]any{"TITLE": "Четыре"}}))
		if n := e.ok(e.json("event.offline.list", map[string]any{})).str(t, "total"); n != "1" {
			t.Errorf("queue after a new change: %s", n)
		}
		if n := e.ok(e.json("event.unbind", map[string]any{"event": "ONCRMLEADUPDATE", "event_type": "offline"})).str(t, "result", "count"); n != "1" {
			t.Errorf("offline unbind count %s", n)
		}
		e.fails(e.json("event.offline.list", map[string]any{"filter": map[string]any{"HANDLER": "x"}}), http.StatusBadRequest, "", "HANDLER")
	})
}

// TestOfflineEventsError: event.offline.error gives reserved records back
// marked as failed; event.offline.get reads them only with error=1, the
// rest of the reservation is cleared as usual, and a later change of a
// failed record queues it afresh.
func TestOfflineEventsError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEventEnv(t, d).with(t)
		e.ok(e.json("event.bind", map[string]any{"event": "ONCRMLEADADD", "event_type": "offline"}))
		e.ok(e.json("event.bind", map[string]any{"event": "ONCRMLEADUPDATE", "event_type": "offline"}))
		var leads []string
		for _, title := range []string{"Первый", "Второй", "Третий"} {
			leads = append(leads, e.ok(e.json("crm.lead.add", map[string]any{"fields": map[string]any{"TITLE": title}})).str(t, "result"))
		}
		res := e.ok(e.json("event.offline.get", map[string]any{"clear": 0}))
		pid := res.str(t, "result", "process_id")
		msg := map[string]string{}
		for i := range 3 {
			msg[res.str(t, "result", "events", strconv.Itoa(i), "EVENT_DATA", "FIELDS", "ID")] = res.str(t, "result", "events", strconv.Itoa(i), "MESSAGE_ID")
		}
		e.fails(e.json("event.offline.error", map[string]any{"message_id": []string{msg[leads[0]]}}), http.StatusBadRequest, "ERROR_CORE", "PROCESS_ID")
		conform(t, "event.offline.error", e.ok(e.json("event.offline.error", map[string]any{"process_id": pid, "message_id": []string{msg[leads[0]], msg[leads[1]]}})))
		e.ok(e.json("event.offline.clear", map[string]any{"process_id": pid}))

		queue := e.ok(e.json("event.offline.list", map[string]any{"order": map[string]any{"ID": "ASC"}}))
		if n := queue.str(t, "total"); n != "2" {
			t.Fatalf("after error and clear: %s", queue.Body)
		}
		for i := range 2 {
			if errFlag, p := queue.str(t, "result", strconv.Itoa(i), "ERROR"), queue.str(t, "result", strconv.Itoa(i), "PROCESS_ID"); errFlag != "1" || p != "" {
				t.Errorf("failed row %d: ERROR %s PROCESS_ID %q", i, errFlag, p)
			}
		}
		if got := e.ok(e.json("event.offline.get", map[string]any{})); got.Doc != nil {
			if _, ok := got.Doc.Lookup("result", "events", "0"); ok {
				t.Errorf("failed rows handed out without error=1: %s", got.Body)
			}
		}

		// The second lead changes again: its row is fresh, not failed.
		e.ok(e.json("crm.lead.update", map[string]any{"id": leads[1], "fields": map[string]any{"TITLE": "Второй, снова"}}))
		fresh := e.ok(e.json("event.offline.get", map[string]any{"clear": 0}))
		if id := fresh.str(t, "result", "events", "0", "EVENT_DATA", "FIELDS", "ID"); id != leads[1] {
			t.Fatalf("fresh after a change: %s", fresh.Body)
		}
		if _, ok := fresh.Doc.Lookup("result", "events", "1"); ok {
			t.Errorf("a failed row came without error=1: %s", fresh.Body)
		}
		// Its update fails too while its add is still failed: both kept.
		e.ok(e.json("event.offline.error", map[string]any{"process_id": fresh.str(t, "result", "process_id")}))
		failed := e.ok(e.json("event.offline.get", map[string]any{"error": 1, "limit": 10}))
		n := 0
		for i := range 10 {
			if _, ok := failed.Doc.Lookup("result", "events", strconv.Itoa(i)); ok {
				n++
			}
		}
		if n != 3 {
			t.Errorf("event.offline.get error=1 took %d rows, want 3 (two adds, one update): %s", n, failed.Body)
		}
		if n := e.ok(e.json("event.offline.list", map[string]any{})).str(t, "total"); n != "0" {
			t.Errorf("queue after taking the failed rows: %s", n)
		}

		// A record that changed again while its reserved row failed: the
		// newer row waits, the failed one goes.
		e.ok(e.json("crm.lead.update", map[string]any{"id": leads[2], "fields": map[string]any{"TITLE": "Третий, 1"}}))
		held := e.ok(e.json("event.offline.get", map[string]any{"clear": 0})).str(t, "result", "process_id")
		e.ok(e.json("crm.lead.update", map[string]any{"id": leads[2], "fields": map[string]any{"TITLE": "Третий, 2"}}))
		e.ok(e.json("event.offline.error", map[string]any{"process_id": held}))
		left := e.ok(e.json("event.offline.list", map[string]any{}))
		if n, errFlag := left.str(t, "total"), left.str(t, "result", "0", "ERROR"); n != "1" || errFlag != "0" {
			t.Errorf("after a failed row with a newer change waiting: %s", left.Body)
		}
	})
}

// BenchmarkOfflineGet1000 is event.offline.get taking 1000 queued lead
// creations on SQLite: the pass over the change log that queues them and
// the take (clear=1), per 1000 changes:
// go test -run x -bench OfflineGet1000 ./internal/bitrix/
func BenchmarkOfflineGet1000(b *testing.B) {
	d := storetest.OpenSQLite(b)
	box, err := secret.New(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	svc := delivery.New(d, box, http.DefaultClient, delivery.Portal{Domain: "crm.example.ru"}, slog.New(slog.DiscardHandler))
	s := store.New(d)
	admin := storetest.Admin(b, s)
	h := bitrix.New(d, s, slog.New(slog.DiscardHandler), bitrix.Options{Location: msk, Delivery: svc})
	hook, code, err := h.Webhooks().CreateWebhook(context.Background(), admin.UserID, "bench", []string{"crm"})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	e := &env{t: b, d: d, s: s, h: h, srv: srv, admin: admin, hook: hook, client: srv.Client(),
		base: fmt.Sprintf("%s/rest/%d/%s/", srv.URL, admin.UserID, code)}
	e.ok(e.json("event.bind", map[string]any{"event": "ONCRMLEADADD", "event_type": "offline"}))
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		for j := range 1000 {
			if _, err := s.CreateLead(ctx, admin, crm.Lead{Title: fmt.Sprintf("Лид %d-%d", i, j)}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		got := e.ok(e.json("event.offline.get", map[string]any{"limit": 1000}))
		if _, ok := got.Doc.Lookup("result", "events", "999"); !ok {
			b.Fatalf("took fewer than 1000: %.300s", got.Body)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "events/s")
}
