package telephony_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/app"
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// server is Obmen itself over loopback HTTP with its jobs running.
type server struct {
	t   testing.TB
	srv *httptest.Server
	key string
	app *app.Server
}

func newServer(t testing.TB, d *db.DB) *server {
	srv := httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.AdminPassword = "admin-password"
	cfg.DataDir = t.TempDir()
	cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	cfg.OutboundAllow = []string{"127.0.0.0/8"}
	cfg.SecretKey = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="
	a, err := app.NewServer(d, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := app.EnsureAdmin(ctx, a.Store, cfg, io.Discard); err != nil {
		t.Fatal(err)
	}
	u, err := a.Store.UserByLogin(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := a.Store.CreateAPIKey(ctx, crm.Actor{UserID: u.ID}, u.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	a.Automation.Configure(automation.WithBackoff(20*time.Millisecond, 200*time.Millisecond), automation.WithPoll(50*time.Millisecond),
		automation.WithStepTimeout(10*time.Second))
	srv.Config.Handler = a.Handler
	srv.Start()
	t.Cleanup(srv.Close)
	stop, err := a.StartJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return &server{t: t, srv: srv, key: key, app: a}
}

func (s *server) do(method, path string, body any, want int, dst any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(mustJSON(body))
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		s.t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, b)
	}
	if dst != nil {
		if err := json.Unmarshal(b, dst); err != nil {
			s.t.Fatalf("decode %s: %v", b, err)
		}
	}
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
