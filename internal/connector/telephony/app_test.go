package telephony_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/app/apptest"
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// server is Obmen itself over loopback HTTP with its jobs running.
type server struct {
	*apptest.Server
	t testing.TB
}

func newServer(t testing.TB, d *db.DB) *server {
	return &server{Server: apptest.Start(t, d), t: t}
}

func (s *server) do(method, path string, body any, want int, dst any) {
	s.t.Helper()
	s.Do(s.t, method, path, body, want, dst)
}

// hook makes the connection's hook URL, where the provider posts.
func (s *server) hook(connID int64) string {
	s.t.Helper()
	var h connection.Hook
	s.do("POST", fmt.Sprintf("/api/v1/connections/%d/hook", connID), nil, http.StatusOK, &h)
	if !strings.HasPrefix(h.URL, s.Srv.URL+"/hooks/c/") {
		s.t.Fatalf("hook url %q", h.URL)
	}
	return h.URL
}

// The action as users meet it: a bundle's step naming a saved Zadarma
// connection, run on a lead's phone, and POST /api/v1/actions/call.callback.
func TestCallbackThroughBundleAndAPI(t *testing.T) {
	z := newZadarmaFake(t, "key1", "secret1")
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		s := newServer(t, d)
		var conn struct {
			ID int64 `json:"id"`
		}
		s.do("POST", "/api/v1/connections", map[string]any{"type": "zadarma", "name": "Zadarma", "settings": map[string]any{
			"key": "key1", "secret": "secret1", "url": z.URL}}, http.StatusCreated, &conn)
		var lead struct {
			ID int64 `json:"id"`
		}
		s.do("POST", "/api/v1/leads", map[string]any{"title": "Перезвоните", "name": "Иван", "phones": []any{map[string]any{"value": "8 925 642-42-95"}}},
			http.StatusCreated, &lead)

		var b automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "обратный звонок", "active": true, "max_attempts": 1,
			"trigger": map[string]any{"type": "manual", "entity": "lead"},
			"steps": []any{map[string]any{"id": "call", "action": "call.callback", "connection": conn.ID,
				"input": map[string]any{"phone": "{{trigger.record.phones[0].value}}", "line": "100", "text": "Заявка {{trigger.record.id}}"}}}},
			http.StatusCreated, &b)
		before := len(z.ordered())
		var run automation.Run
		s.do("POST", fmt.Sprintf("/api/v1/bundles/%d/run", b.ID), map[string]any{"entity": "lead", "record_id": lead.ID}, http.StatusAccepted, &run)
		deadline := time.Now().Add(20 * time.Second)
		for !run.Finished() {
			if time.Now().After(deadline) {
				t.Fatalf("run %d: %s", run.ID, run.Status)
			}
			time.Sleep(30 * time.Millisecond)
			s.do("GET", fmt.Sprintf("/api/v1/runs/%d", run.ID), nil, http.StatusOK, &run)
		}
		if run.Status != automation.StatusOK || len(run.Steps) != 1 {
			t.Fatalf("run: %+v", run)
		}
		out, _ := run.Steps[0].Output.(map[string]any)
		if out["result"] != "OK" || out["call_id"] != "100-+79256424295-1733400000" {
			t.Fatalf("step output %v", run.Steps[0].Output)
		}
		got := z.ordered()
		if len(got) != before+1 || got[len(got)-1].Get("to") != "+79256424295" || got[len(got)-1].Get("from") != "100" {
			t.Fatalf("ordered %v", got[before:])
		}

		// A connection of another type is refused by the bundle's check.
		var smtpConn struct {
			ID int64 `json:"id"`
		}
		s.do("POST", "/api/v1/connections", map[string]any{"type": "smtp", "name": "Почта", "settings": map[string]any{
			"host": "127.0.0.1", "security": "none", "auth": false, "from": "r@example.ru"}}, http.StatusCreated, &smtpConn)
		var problem map[string]any
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "x", "trigger": map[string]any{"type": "manual", "entity": "lead"},
			"steps": []any{map[string]any{"id": "call", "action": "call.callback", "connection": smtpConn.ID, "input": map[string]any{"phone": "1"}}}},
			http.StatusUnprocessableEntity, &problem)
		if !strings.Contains(fmt.Sprint(problem), "needs zadarma or asterisk or mango") {
			t.Fatalf("wrong connection type: %v", problem)
		}

		// Directly: OK, and the provider's refusal as ERROR with its message.
		for _, tc := range []struct {
			phone, result, error string
		}{
			{"+7 925 642-42-96", "OK", ""},
			{"+7 999 111-22-33", "ERROR", "Insufficient funds for the call to +79991112233"},
		} {
			var cr automation.CallResponse
			s.do("POST", "/api/v1/actions/call.callback", map[string]any{"phone": tc.phone, "line": "100", "connection": conn.ID}, http.StatusOK, &cr)
			out, _ := cr.Output.(map[string]any)
			if cr.Result != tc.result || (tc.error != "" && (out["error"] != tc.error || !strings.Contains(cr.Error, tc.error))) {
				t.Fatalf("%s: %+v", tc.phone, cr)
			}
		}
	})
}
