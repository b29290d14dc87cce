// Package apptest runs a whole Obmen (app.NewServer, its jobs, its HTTP
// handler on loopback) for tests of the packages that plug into it —
// connectors, the template gallery — with an admin's API key. Imported
// by tests only.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/app"
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
)

// Server is the running Obmen.
type Server struct {
	App *app.Server
	Srv *httptest.Server
	// Key is the admin's API key.
	Key string
}

// Start runs Obmen on d until the test ends: loopback allowed for
// outbound calls (the fakes), fast automation retries and polls.
func Start(t testing.TB, d *db.DB) *Server {
	t.Helper()
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
		automation.WithStepTimeout(20*time.Second))
	srv.Config.Handler = a.Handler
	srv.Start()
	t.Cleanup(srv.Close)
	stop, err := a.StartJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return &Server{App: a, Srv: srv, Key: key}
}

// Do sends a JSON request with the admin's key, fails the test unless
// the status is want, and decodes the answer into dst (when not nil).
func (s *Server) Do(t testing.TB, method, path string, body any, want int, dst any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.Srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := s.Srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, b)
	}
	if dst != nil {
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
	}
}
