package moysklad_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/app"
	"github.com/obmen/obmen/internal/app/apptest"
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connector/moysklad/moyskladtest"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// server is Obmen itself over loopback HTTP with its jobs running.
type server struct {
	t   testing.TB
	srv *httptest.Server
	app *app.Server
	a   *apptest.Server
}

func newServer(t testing.TB, d *db.DB) *server {
	a := apptest.Start(t, d)
	return &server{t: t, srv: a.Srv, app: a.App, a: a}
}

func (s *server) do(method, path string, body any, want int, dst any) {
	s.t.Helper()
	s.a.Do(s.t, method, path, body, want, dst)
}

func (s *server) run(bundle, lead int64) automation.Run {
	s.t.Helper()
	var run automation.Run
	s.do("POST", fmt.Sprintf("/api/v1/bundles/%d/run", bundle), map[string]any{"entity": "lead", "record_id": lead}, http.StatusAccepted, &run)
	return s.wait(run.ID)
}

func (s *server) wait(id int64) automation.Run {
	s.t.Helper()
	var run automation.Run
	deadline := time.Now().Add(60 * time.Second)
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

func (s *server) runs(bundle int64, n int) []automation.Run {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var list automation.RunList
		s.do("GET", fmt.Sprintf("/api/v1/bundles/%d/runs?limit=100", bundle), nil, http.StatusOK, &list)
		done := 0
		for _, r := range list.Items {
			if r.Finished() {
				done++
			}
		}
		if done >= n && len(list.Items) == done {
			return list.Items
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("bundle %d: %d runs of %d finished", bundle, done, n)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func (s *server) lead(name, phone string) int64 {
	var lead struct {
		ID int64 `json:"id"`
	}
	s.do("POST", "/api/v1/leads", map[string]any{"title": "Звонок", "name": name, "phones": []any{map[string]any{"value": phone}}}, http.StatusCreated, &lead)
	return lead.ID
}

// The seed's bundles with МойСклад, end to end on both engines: a saved
// connection checked and refreshed; a client found or created by phone
// and an order with the seed's custom attributes by name; a lost answer
// to an order's creation retried without a second order; the order's
// changes found by the poll, each run once.
func TestSeedBundlesEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFake(t)
		s := newServer(t, d)
		var conn struct {
			ID       int64          `json:"id"`
			Settings map[string]any `json:"settings"`
		}
		s.do("POST", "/api/v1/connections", map[string]any{"type": "moysklad", "name": "МойСклад", "settings": map[string]any{
			"login": f.Login, "password": f.Password, "url": f.Base()}}, http.StatusCreated, &conn)
		if conn.Settings["password"] == f.Password {
			t.Fatal("the password is shown")
		}
		var check struct {
			OK      bool   `json:"ok"`
			Message string `json:"message"`
		}
		s.do("POST", fmt.Sprintf("/api/v1/connections/%d/check", conn.ID), nil, http.StatusOK, &check)
		if !check.OK {
			t.Fatalf("check: %+v", check)
		}
		s.do("POST", fmt.Sprintf("/api/v1/connections/%d/refresh", conn.ID), nil, http.StatusOK, nil)

		// A wrong password: the check says so in Russian.
		var bad struct{ ID int64 }
		s.do("POST", "/api/v1/connections", map[string]any{"type": "moysklad", "name": "Чужой", "settings": map[string]any{
			"login": f.Login, "password": "wrong", "url": f.Base()}}, http.StatusCreated, &bad)
		var badCheck struct {
			OK      bool   `json:"ok"`
			Class   string `json:"class"`
			Message string `json:"message"`
		}
		s.do("POST", fmt.Sprintf("/api/v1/connections/%d/check", bad.ID), nil, http.StatusOK, &badCheck)
		if badCheck.OK || badCheck.Class != "credentials" {
			t.Fatalf("wrong password: %+v", badCheck)
		}

		var b automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "Звонок → клиент и заказ в МоёмСкладе", "active": true,
			"trigger": map[string]any{"type": "manual", "entity": "lead"},
			"steps": []any{
				map[string]any{"id": "client", "action": "moysklad.counterparty.create", "connection": conn.ID,
					"duplicates": map[string]any{"by": []any{"phone"}, "then": "skip"},
					"input":      map[string]any{"name": "{{trigger.record.name}}", "phone": "{{trigger.record.phones[0].value}}"}},
				map[string]any{"id": "order", "action": "moysklad.customerorder.create", "connection": conn.ID,
					"input": map[string]any{"agent": "{{steps.client.id}}", "state": "Новый",
						"description": "Заказ по звонку из Calltouch с номера {{trigger.record.phones[0].value}}",
						"attributes": map[string]any{"source": "yandex", "medium": "cpc", "utm_source": "yandex", "utm_campaign": "зима",
							"utm_term": "", "tags": "звонок|реклама"}}},
			}}, http.StatusCreated, &b)

		run := s.run(b.ID, s.lead("Иван", "8 (925) 642-42-95"))
		if run.Status != automation.StatusOK {
			t.Fatalf("run: %+v", run)
		}
		run2 := s.run(b.ID, s.lead("Иван Петрович", "+7 925 642 42 95"))
		if run2.Status != automation.StatusOK {
			t.Fatalf("second run: %+v", run2)
		}
		if n := f.Count("counterparty"); n != 1 {
			t.Fatalf("%d counterparties for one phone", n)
		}
		if out := run2.Steps[0].Output.(map[string]any); out["outcome"] != "found" {
			t.Fatalf("second client: %v", out)
		}
		if n := f.Count("customerorder"); n != 2 {
			t.Fatalf("%d orders", n)
		}
		orderID := run.Steps[1].Output.(map[string]any)["id"].(string)
		o := f.Order(orderID)
		if moyskladtest.HrefIn(o["organization"].(map[string]any)) != moyskladtest.HrefIn(f.Orgs[0]) || moyskladtest.HrefIn(o["state"].(map[string]any)) != moyskladtest.HrefIn(f.States[0]) {
			t.Fatalf("order %v", o)
		}
		byName := map[string]any{}
		for _, a := range o["attributes"].([]any) {
			am := a.(map[string]any)
			byName[am["name"].(string)] = am["value"]
		}
		if len(byName) != 5 || byName["utm_campaign"] != "зима" || byName["tags"] != "звонок|реклама" {
			t.Fatalf("attributes %v", byName)
		}

		// The answer to the order's creation is lost: the retry (same
		// syncId) gets the order made, no second one.
		f.Mu.Lock()
		f.LostAnswers = 1
		f.Mu.Unlock()
		run3 := s.run(b.ID, s.lead("Мария", "+7 916 000-11-22"))
		if run3.Status != automation.StatusOK || f.Count("customerorder") != 3 {
			t.Fatalf("lost answer: %s, %d orders", run3.Status, f.Count("customerorder"))
		}

		// Two runs at once for one new phone: one counterparty.
		before := f.Count("counterparty")
		var started []automation.Run
		for _, phone := range []string{"+7 903 555-66-77", "8 903 5556677"} {
			var r automation.Run
			s.do("POST", fmt.Sprintf("/api/v1/bundles/%d/run", b.ID), map[string]any{"entity": "lead", "record_id": s.lead("Олег", phone)}, http.StatusAccepted, &r)
			started = append(started, r)
		}
		for _, r := range started {
			if got := s.wait(r.ID); got.Status != automation.StatusOK {
				t.Fatalf("run at once: %+v", got)
			}
		}
		if n := f.Count("counterparty") - before; n != 1 {
			t.Fatalf("%d counterparties made by two runs at once for one phone: %v", n, f.CallLog())
		}

		// duplicates then update: the found counterparty is changed.
		var bu automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "обновить клиента", "active": true,
			"trigger": map[string]any{"type": "manual", "entity": "lead"},
			"steps": []any{map[string]any{"id": "client", "action": "moysklad.counterparty.create", "connection": conn.ID,
				"duplicates": map[string]any{"by": []any{"phone", "email"}, "then": "update"},
				"input":      map[string]any{"name": "{{trigger.record.name}}", "phone": "{{trigger.record.phones[0].value}}", "description": "обновлён"}}}},
			http.StatusCreated, &bu)
		upd := s.run(bu.ID, s.lead("Иван Иванович", "+79256424295"))
		out := upd.Steps[0].Output.(map[string]any)
		if upd.Status != automation.StatusOK || out["outcome"] != "updated" || out["name"] != "Иван Иванович" || f.Count("counterparty") != before+1 {
			t.Fatalf("update: %s %v", upd.Status, out)
		}

		// A refused write fails the step with МойСклад's words.
		var b2 automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "плохой статус", "active": true, "max_attempts": 1,
			"trigger": map[string]any{"type": "manual", "entity": "lead"},
			"steps": []any{map[string]any{"id": "order", "action": "moysklad.customerorder.update", "connection": conn.ID,
				"input": map[string]any{"id": orderID, "state": "https://elsewhere.example/state/1"}}}}, http.StatusCreated, &b2)
		failed := s.run(b2.ID, s.lead("X", "+7 916 000-11-23"))
		if failed.Status != automation.StatusError || !strings.Contains(failed.Error, "code 1021") {
			t.Fatalf("refused: %s %q", failed.Status, failed.Error)
		}

		// Bundle 3/4's trigger: order changes, polled. It starts at the
		// latest change; the CRM gets a lead per change.
		var tb automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "Заказ изменён", "active": true,
			"trigger": map[string]any{"type": "moysklad.customerorder.changed", "connection": conn.ID},
			"steps": []any{map[string]any{"id": "lead", "action": "crm.lead.create",
				"input": map[string]any{"title": "Заказ {{trigger.name}}: {{trigger.state}}, оплачено {{trigger.payedSum}}"}}}}, http.StatusCreated, &tb)
		waitCursor(t, d, tb.ID)
		f.Touch(orderID, "2026-12-05 12:00:00.000", 1, 0)
		f.Touch(orderID, "2026-12-05 12:00:05.000", 2, 150000)
		other := run2.Steps[1].Output.(map[string]any)["id"].(string)
		f.Touch(other, "2026-12-05 12:00:05.000", 1, 0)
		pollNow(t, d, tb.ID)
		s.runs(tb.ID, 2)
		pollNow(t, d, tb.ID) // again: nothing new
		waitCursorPolled(t, d, tb.ID)
		runs := s.runs(tb.ID, 2)
		if len(runs) != 2 {
			t.Fatalf("%d runs for 2 changes", len(runs))
		}
		titles := map[string]bool{}
		for _, r := range runs {
			full := s.wait(r.ID)
			if full.Status != automation.StatusOK {
				t.Fatalf("run %+v", full)
			}
			titles[full.Steps[0].Output.(map[string]any)["title"].(string)] = true
		}
		if !titles["Заказ 00001: Доставлен, оплачено 1500"] || !titles["Заказ 00002: Подтвержден, оплачено 0"] {
			t.Fatalf("titles %v", titles)
		}

		// МойСклад's webhook for a new change, posted twice to the
		// connection's hook URL: each post is answered at once and makes
		// the reconciliation poll due (the minute's poll would come much
		// later); the change runs once, as the poll's item.
		f.Touch(other, "2026-12-05 12:10:00.000", 2, 0)
		var hook struct {
			URL string `json:"url"`
		}
		s.do("POST", fmt.Sprintf("/api/v1/connections/%d/hook", conn.ID), nil, http.StatusOK, &hook)
		body := fmt.Sprintf(`{"events":[{"meta":{"type":"customerorder","href":"%s/entity/customerorder/%s"},"action":"UPDATE","accountId":"a","updatedFields":["state"]}]}`,
			f.Base(), other)
		for range 2 {
			res, err := http.Post(hook.URL, "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("webhook: %d", res.StatusCode)
			}
		}
		var pushed automation.Run
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if rs := s.runs(tb.ID, 0); len(rs) == 3 {
				for _, r := range rs {
					if r.ID != runs[0].ID && r.ID != runs[1].ID {
						pushed = s.wait(r.ID)
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the webhook did not make the poll run")
			}
		}
		if pushed.Status != automation.StatusOK || pushed.Steps[0].Output.(map[string]any)["title"] != "Заказ 00002: Доставлен, оплачено 0" {
			t.Fatalf("pushed run %+v", pushed)
		}
		waitCursorPolled(t, d, tb.ID)
		if n := len(s.runs(tb.ID, 3)); n != 3 {
			t.Fatalf("pushed twice: %d runs, want 3", n)
		}
		if res, err := http.Post(hook.URL, "application/json", strings.NewReader(`{"events":`)); err != nil || res.StatusCode != http.StatusBadRequest {
			t.Fatalf("a malformed webhook: %v %v", res, err)
		}

		// A second instance on the same database: both poll, each
		// change still runs once.
		newServer(t, d)
		pollNow(t, d, tb.ID)
		waitCursorPolled(t, d, tb.ID)
		base := len(s.runs(tb.ID, 3))
		for i := range 3 {
			f.Touch(orderID, fmt.Sprintf("2026-12-05 12:20:%02d.000", i), i%3, 0)
			pollNow(t, d, tb.ID)
			waitCursorPolled(t, d, tb.ID)
		}
		pollNow(t, d, tb.ID)
		waitCursorPolled(t, d, tb.ID)
		if n := len(s.runs(tb.ID, base+3)); n != base+3 {
			t.Fatalf("two instances: %d runs, want %d", n, base+3)
		}
	})
}

// pollNow makes the bundle's next poll due (time passing, in a test).
func pollNow(t *testing.T, d *db.DB, id int64) {
	t.Helper()
	err := d.Write(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE automation_bundles SET poll_due_at = 0 WHERE id = $1", id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func cursorOf(t testing.TB, d *db.DB, id int64) (string, int64) {
	t.Helper()
	var cur string
	var due int64
	if err := d.Read.QueryRowContext(t.Context(), "SELECT poll_cursor, poll_due_at FROM automation_bundles WHERE id = $1", id).Scan(&cur, &due); err != nil {
		t.Fatal(err)
	}
	return cur, due
}

func waitCursor(t testing.TB, d *db.DB, id int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if cur, _ := cursorOf(t, d, id); cur != "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the first poll did not happen")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitCursorPolled waits for the poll made due by pollNow.
func waitCursorPolled(t *testing.T, d *db.DB, id int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, due := cursorOf(t, d, id); due != 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the poll did not happen")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
