package retailcrm_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/app"
	"github.com/obmen/obmen/internal/app/apptest"
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/retailcrm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// server is Obmen itself over loopback HTTP with its jobs running.
type server struct {
	t   *testing.T
	app *app.Server
	srv *httptest.Server
	a   *apptest.Server
}

func newServer(t *testing.T, d *db.DB) *server {
	a := apptest.Start(t, d)
	return &server{t: t, app: a.App, srv: a.Srv, a: a}
}

func (s *server) do(method, path string, body any, want int, dst any) {
	s.t.Helper()
	s.a.Do(s.t, method, path, body, want, dst)
}

// run starts a manual run of bundle on a lead and waits for its end.
func (s *server) run(bundle, lead int64) automation.Run {
	s.t.Helper()
	var run automation.Run
	s.do("POST", fmt.Sprintf("/api/v1/bundles/%d/run", bundle), map[string]any{"entity": "lead", "record_id": lead}, http.StatusAccepted, &run)
	return s.wait(run.ID)
}

func (s *server) wait(id int64) automation.Run {
	s.t.Helper()
	var run automation.Run
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.do("GET", fmt.Sprintf("/api/v1/runs/%d", id), nil, http.StatusOK, &run)
		if run.Finished() {
			return run
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("run %d: %s", id, run.Status)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// poll makes the bundle's poll due now and waits until it has polled.
func (s *server) poll(bundle int64) {
	s.t.Helper()
	err := s.app.DB.Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE automation_bundles SET poll_due_at = 0 WHERE id = $1", bundle)
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.app.Automation.PollTriggers(context.Background()); err != nil {
		s.t.Fatal(err)
	}
	// The jobs' own loop may have taken the poll: wait for it to end
	// (its next poll due later, no lease held).
	deadline := time.Now().Add(30 * time.Second)
	for {
		var due, lease int64
		if err := s.app.DB.Reader().QueryRowContext(context.Background(), "SELECT poll_due_at, poll_lease_until FROM automation_bundles WHERE id = $1",
			bundle).Scan(&due, &lease); err != nil {
			s.t.Fatal(err)
		}
		if due > 0 && lease == 0 {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("bundle %d was not polled", bundle)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *server) setCursor(bundle int64, cursor string) {
	s.t.Helper()
	err := s.app.DB.Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE automation_bundles SET poll_cursor = $2, poll_lease_until = 0 WHERE id = $1", bundle, cursor)
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *server) runs(bundle int64) []automation.Run {
	var list automation.RunList
	s.do("GET", fmt.Sprintf("/api/v1/bundles/%d/runs?limit=100", bundle), nil, http.StatusOK, &list)
	return list.Items
}

func (s *server) waitRuns(bundle int64, n int) []automation.Run {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		list := s.runs(bundle)
		done := 0
		for _, r := range list {
			if r.Finished() {
				done++
			}
		}
		if done >= n {
			return list
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("bundle %d: %d of %d runs finished", bundle, done, n)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func out(r automation.Run, step int) map[string]any {
	m, _ := r.Steps[step].Output.(map[string]any)
	return m
}

// Seed 001's bundle (1) on retailCRM's side, through real bundles on both
// engines: a lead becomes a customer found or created by phone and an
// order with the UTM custom fields; a manager's status change (not
// Obmen's own) triggers the history bundle once, however often the
// history is read again.
func TestBundlesAgainstFake(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFake(t, "key1")
		s := newServer(t, d)
		var conn connection.Connection
		s.do("POST", "/api/v1/connections", map[string]any{"type": "retailcrm", "name": "retailCRM", "settings": map[string]any{
			"url": f.URL, "api_key": "key1", "site": "shop"}}, http.StatusCreated, &conn)
		if conn.Settings["api_key"] != connection.Mask {
			t.Fatalf("the key is shown: %v", conn.Settings)
		}
		var check connection.CheckResult
		s.do("POST", fmt.Sprintf("/api/v1/connections/%d/check", conn.ID), nil, http.StatusOK, &check)
		if !check.OK {
			t.Fatalf("check: %+v", check)
		}
		var refreshed map[string]any
		s.do("POST", fmt.Sprintf("/api/v1/connections/%d/refresh", conn.ID), nil, http.StatusOK, &refreshed)
		if fmt.Sprint(refreshed["dictionaries"]) == "" || !bytes.Contains(mustJSON(refreshed), []byte("eshop-individual")) {
			t.Fatalf("refresh: %v", refreshed)
		}

		var lead1, lead2 struct {
			ID int64 `json:"id"`
		}
		s.do("POST", "/api/v1/leads", map[string]any{"title": "Звонок", "name": "Иван", "phones": []any{map[string]any{"value": "8 925 642-42-95"}}},
			http.StatusCreated, &lead1)
		s.do("POST", "/api/v1/leads", map[string]any{"title": "Звонок снова", "name": "Иван", "phones": []any{map[string]any{"value": "+7 (925) 642-42-95"}}},
			http.StatusCreated, &lead2)

		var b automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "звонок → retailCRM", "active": true, "max_attempts": 2,
			"trigger": map[string]any{"type": "manual", "entity": "lead"},
			"steps": []any{
				map[string]any{"id": "customer", "action": "retailcrm.customer.create", "connection": conn.ID,
					"duplicates": map[string]any{"by": []string{"phone"}, "then": "skip"},
					"input": map[string]any{"externalId": "lead-{{trigger.record.id}}", "firstName": "{{trigger.record.name}}",
						"phones": []any{map[string]any{"number": "{{trigger.record.phones[0].value}}"}}}},
				map[string]any{"id": "order", "action": "retailcrm.order.create", "connection": conn.ID,
					"input": map[string]any{"customer": map[string]any{"id": "{{steps.customer.id}}"}, "status": "new", "orderType": "eshop-individual",
						"firstName": "Заказ по звонку из Calltouch с номера {{trigger.record.phones[0].value}}", "phone": "{{trigger.record.phones[0].value}}",
						"source":       map[string]any{"source": "google", "medium": "cpc", "campaign": "winter"},
						"customFields": map[string]any{"source": "google", "medium": "cpc", "utm_source": "google", "utm_campaign": "winter", "gclid": "GA1.2.3", "tags": "тон|номер"}}},
			}}, http.StatusCreated, &b)

		r1 := s.run(b.ID, lead1.ID)
		if r1.Status != automation.StatusOK {
			t.Fatalf("run 1: %+v", r1)
		}
		if o := out(r1, 0); o["outcome"] != "created" || o["id"] != float64(1) {
			t.Fatalf("customer step: %v", o)
		}
		r2 := s.run(b.ID, lead2.ID)
		if r2.Status != automation.StatusOK {
			t.Fatalf("run 2: %+v", r2)
		}
		if o := out(r2, 0); o["outcome"] != "found" || o["matched_by"] != "phone" || o["id"] != float64(1) {
			t.Fatalf("the same phone again: %v", o)
		}
		customers, orders := f.Snapshot()
		if len(customers) != 1 || len(orders) != 2 {
			t.Fatalf("%d customers, %d orders", len(customers), len(orders))
		}
		c := customers[0]
		if c["site"] != "shop" || c["externalId"] != fmt.Sprint("lead-", lead1.ID) || fmt.Sprint(c["phones"]) != "[map[number:8 925 642-42-95]]" {
			t.Fatalf("customer %v", c)
		}
		o := orders[1]
		if o["site"] != "shop" || fmt.Sprint(o["customer"]) != "map[id:1]" || o["firstName"] != "Заказ по звонку из Calltouch с номера +7 (925) 642-42-95" ||
			fmt.Sprint(o["customFields"]) != "map[gclid:GA1.2.3 medium:cpc source:google tags:тон|номер utm_campaign:winter utm_source:google]" ||
			fmt.Sprint(o["source"]) != "map[campaign:winter medium:cpc source:google]" {
			t.Fatalf("order %v", o)
		}
		if oo := out(r2, 1); oo["id"] != float64(2) || oo["number"] != "2A" || oo["status"] != "new" {
			t.Fatalf("order step: %v", oo)
		}

		// Test mode writes nothing: the customer step finds its duplicate
		// (a read), the order step says what it would send.
		_, ordersBefore := f.Snapshot()
		before := len(ordersBefore)
		var tres automation.TestResult
		s.do("POST", fmt.Sprintf("/api/v1/bundles/%d/test", b.ID), map[string]any{"entity": "lead", "record_id": lead2.ID}, http.StatusOK, &tres)
		if len(tres.Steps) != 2 || !bytes.Contains(mustJSON(tres.Steps[0].Output), []byte("matches by phone")) ||
			!bytes.Contains(mustJSON(tres.Steps[1].Output), []byte(`"would":"POST `+f.URL+`/api/v5/orders/create"`)) {
			t.Fatalf("test mode: %+v", tres)
		}
		if _, orders := f.Snapshot(); len(orders) != before {
			t.Fatalf("test mode wrote an order")
		}

		// A refusal fails the step with retailCRM's words.
		var bad automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "плохой статус", "active": true, "max_attempts": 1,
			"trigger": map[string]any{"type": "manual", "entity": "lead"},
			"steps": []any{map[string]any{"id": "order", "action": "retailcrm.order.create", "connection": conn.ID,
				"input": map[string]any{"status": "lost", "firstName": "x"}}}}, http.StatusCreated, &bad)
		rb := s.run(bad.ID, lead1.ID)
		if rb.Status != automation.StatusError || fmt.Sprint(out(rb, 0)["errors"]) != `map[status:Status "lost" does not exist.]` {
			t.Fatalf("refused: %+v %v", rb, rb.Steps[0].Output)
		}

		// An order without an externalId whose answer is lost: the step
		// tries again and finds the order the first attempt made by the
		// externalId Obmen gave it; one order in retailCRM.
		var lost automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "ответ потерян", "active": true, "max_attempts": 3,
			"trigger": map[string]any{"type": "manual", "entity": "lead"},
			"steps": []any{map[string]any{"id": "order", "action": "retailcrm.order.create", "connection": conn.ID,
				"input": map[string]any{"status": "new", "firstName": "Заказ по звонку"}}}}, http.StatusCreated, &lost)
		_, ordersBefore = f.Snapshot()
		f.Mu.Lock()
		f.LoseAnswers = 1
		f.Mu.Unlock()
		rl := s.run(lost.ID, lead1.ID)
		_, ordersAfter := f.Snapshot()
		if rl.Status != automation.StatusOK || len(ordersAfter) != len(ordersBefore)+1 {
			t.Fatalf("a lost answer: run %+v, %d orders made", rl, len(ordersAfter)-len(ordersBefore))
		}
		made, last := ordersAfter[len(ordersAfter)-1], out(rl, len(rl.Steps)-1)
		if ext, _ := made["externalId"].(string); !strings.HasPrefix(ext, "obmen-") || len(rl.Steps) != 2 || last["externalId"] != ext ||
			fmt.Sprint(last["id"]) != fmt.Sprint(made["id"]) {
			t.Fatalf("the order made %v, the step's attempts %+v", made, rl.Steps)
		}

		// Directly: a customer changed by externalId; an order made with
		// an externalId, read by it, refused a second time.
		var cr automation.CallResponse
		s.do("POST", "/api/v1/actions/retailcrm.customer.update", map[string]any{"connection": conn.ID, "externalId": fmt.Sprint("lead-", lead1.ID),
			"email": "ivan@example.ru"}, http.StatusOK, &cr)
		if customers, _ := f.Snapshot(); cr.Result != "OK" || customers[0]["email"] != "ivan@example.ru" || f.LastForm().Get("by") != "externalId" ||
			f.LastForm().Get("site") != "shop" {
			t.Fatalf("customer.update: %+v, form %v", cr, f.LastForm())
		}
		s.do("POST", "/api/v1/actions/retailcrm.order.create", map[string]any{"connection": conn.ID, "externalId": "call-1", "site": "shop2", "firstName": "x"},
			http.StatusOK, &cr)
		if cr.Result != "OK" || fmt.Sprint(cr.Output.(map[string]any)["order"].(map[string]any)["site"]) != "shop2" {
			t.Fatalf("order.create: %+v", cr)
		}
		s.do("POST", "/api/v1/actions/retailcrm.order.get", map[string]any{"connection": conn.ID, "externalId": "call-1"}, http.StatusOK, &cr)
		if cr.Result != "OK" || cr.Output.(map[string]any)["id"] != float64(len(ordersAfter)+1) {
			t.Fatalf("order.get: %+v", cr)
		}
		s.do("POST", "/api/v1/actions/retailcrm.order.create", map[string]any{"connection": conn.ID, "externalId": "call-1", "firstName": "x"}, http.StatusOK, &cr)
		if cr.Result != "ERROR" || cr.Output.(map[string]any)["errorMsg"] != "Order already exists." {
			t.Fatalf("order.create twice: %+v", cr)
		}
		s.do("POST", "/api/v1/actions/retailcrm.order.get", map[string]any{"connection": conn.ID, "by": "number", "id": 1}, http.StatusBadRequest, nil)
		// Duplicates by e-mail, then update: the found customer changes.
		var ub automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "по e-mail", "active": true, "max_attempts": 1,
			"trigger": map[string]any{"type": "manual", "entity": "lead"},
			"steps": []any{map[string]any{"id": "customer", "action": "retailcrm.customer.create", "connection": conn.ID,
				"duplicates": map[string]any{"by": []string{"phone", "email"}, "then": "update"},
				"input":      map[string]any{"externalId": "req-1", "email": "IVAN@example.ru", "lastName": "Петров"}}}}, http.StatusCreated, &ub)
		ru := s.run(ub.ID, lead1.ID)
		if o := out(ru, 0); ru.Status != automation.StatusOK || o["outcome"] != "updated" || o["matched_by"] != "email" || o["id"] != float64(1) {
			t.Fatalf("by e-mail: %+v %v", ru, o)
		}
		if customers, _ := f.Snapshot(); len(customers) != 1 || customers[0]["lastName"] != "Петров" {
			t.Fatalf("customers %v", customers)
		}

		// The history trigger: the first poll starts at the end.
		var hb automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "статус заказа", "active": true,
			"trigger": map[string]any{"type": "retailcrm.order.status_changed", "connection": conn.ID},
			"steps": []any{map[string]any{"id": "get", "action": "retailcrm.order.get", "connection": conn.ID,
				"input": map[string]any{"by": "id", "id": "{{trigger.order.id}}"}}}}, http.StatusCreated, &hb)
		s.poll(hb.ID)
		if n := len(s.runs(hb.ID)); n != 0 {
			t.Fatalf("%d runs of the history before the bundle", n)
		}
		start := cursorOf(t, s, hb.ID)
		// A manager moves order 1; Obmen itself moves order 2 (its key).
		f.ManagerSets(1, "status", "assembly")
		f.ManagerSets(1, "managerComment", "позвонить")
		var up automation.CallResponse
		s.do("POST", "/api/v1/actions/retailcrm.order.update", map[string]any{"by": "id", "id": 2, "status": "complete", "connection": conn.ID},
			http.StatusOK, &up)
		if up.Result != "OK" {
			t.Fatalf("update: %+v", up)
		}
		s.poll(hb.ID)
		runs := s.waitRuns(hb.ID, 1)
		if len(runs) != 1 {
			t.Fatalf("%d runs", len(runs))
		}
		hr := s.wait(runs[0].ID)
		tr, _ := hr.Trigger.(map[string]any)
		if hr.Status != automation.StatusOK || tr["status"] != "assembly" || tr["old_status"] != "new" || out(hr, 0)["status"] != "assembly" {
			t.Fatalf("history run: %+v trigger %v", hr, tr)
		}
		// Read again from the start (an overlapping window; a restart
		// after the fetch, before the cursor was stored): no second run.
		s.setCursor(hb.ID, start)
		s.poll(hb.ID)
		s.poll(hb.ID)
		time.Sleep(200 * time.Millisecond)
		if n := len(s.runs(hb.ID)); n != 1 {
			t.Fatalf("%d runs after reading the history again", n)
		}
		// A push to the connection's hook URL (a retailCRM trigger posting
		// the order's id) makes the history poll due at once: the status
		// change runs well before the 30 s poll would have come.
		var hook struct {
			URL string `json:"url"`
		}
		s.do("POST", fmt.Sprintf("/api/v1/connections/%d/hook", conn.ID), nil, http.StatusOK, &hook)
		f.ManagerSets(1, "status", "complete")
		res, err := http.PostForm(hook.URL, url.Values{"order_id": {"1"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("push: %d", res.StatusCode)
		}
		for deadline := time.Now().Add(10 * time.Second); len(s.runs(hb.ID)) < 2; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the push did not make the poll run")
			}
		}
		if res, err = http.Post(hook.URL, "application/json", strings.NewReader("{not json")); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("a malformed push: %d", res.StatusCode)
		}

		// order.changed sees the comment too, not Obmen's change.
		var cb automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "заказ изменён", "active": true,
			"trigger": map[string]any{"type": "retailcrm.order.changed", "connection": conn.ID, "options": map[string]any{"since_id": mustInt(t, start)}},
			"steps": []any{map[string]any{"id": "get", "action": "retailcrm.order.get", "connection": conn.ID,
				"input": map[string]any{"by": "id", "id": "{{trigger.order.id}}"}}}}, http.StatusCreated, &cb)
		s.poll(cb.ID)
		if runs := s.waitRuns(cb.ID, 3); len(runs) != 3 { // the comment and both status changes
			t.Fatalf("order.changed: %d runs", len(runs))
		}
	})
}

func cursorOf(t *testing.T, s *server, bundle int64) string {
	var c string
	if err := s.app.DB.Reader().QueryRowContext(t.Context(), "SELECT poll_cursor FROM automation_bundles WHERE id = $1", bundle).Scan(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func mustInt(t *testing.T, s string) int64 {
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

var _ = retailcrm.Type
