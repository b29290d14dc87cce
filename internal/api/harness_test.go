package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/obmen/obmen/internal/app"
	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// env is a real server over loopback HTTP on a real database.
type env struct {
	t      testing.TB
	srv    *httptest.Server
	app    *app.Server
	key    string // the admin's API key
	client *http.Client
}

func newEnv(t testing.TB, d *db.DB) *env {
	t.Helper()
	cfg := config.Default()
	cfg.AdminPassword = "admin-password"
	cfg.DataDir = t.TempDir() // the secrets key file
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.NewServer(d, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.EnsureAdmin(context.Background(), a.Store, cfg, io.Discard); err != nil {
		t.Fatal(err)
	}
	u, err := a.Store.UserByLogin(context.Background(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := a.Store.CreateAPIKey(context.Background(), crmActor(u.ID), u.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, app: a, key: key, client: srv.Client()}
}

// eachEnv runs fn on every engine.
func eachEnv(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, d *db.DB) { fn(t, newEnv(t, d)) })
}

type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r resp) json(t testing.TB, dst any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, dst); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// do sends a request with the admin key; body may be a string or a value
// to encode.
func (e *env) do(method, path string, body any, headers ...string) resp {
	return e.doKey(e.key, method, path, body, headers...)
}

func (e *env) doKey(key, method, path string, body any, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}
