package connector_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// TestCall: an answer is read up to the limit; a request the SSRF guard
// stops is Refused, one that finds nobody listening NotSent (both safe to
// send again), and the secret in the URL never reaches the error text.
func TestCall(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Answer", "yes")
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte(strings.Repeat("a", 100)))
	}))
	defer srv.Close()
	hide := func(err error) string { return strings.ReplaceAll(err.Error(), "TOKEN", "***") }

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/botTOKEN/getMe", nil)
	res, b, err := connector.Call(nil, req, 10, "test: getMe", hide)
	if err != nil || res.StatusCode != http.StatusTeapot || res.Header.Get("X-Answer") != "yes" || string(b) != strings.Repeat("a", 10) {
		t.Fatalf("answer: %v %v %q", res, err, b)
	}

	guarded := httpx.NewOutboundClient(httpx.OutboundPolicy{})
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/botTOKEN/getMe", nil)
	_, _, err = connector.Call(guarded, req, 10, "test: getMe", hide)
	if !errors.As(err, new(*connector.Refused)) || connector.Undelivered(err) != "refused" {
		t.Fatalf("loopback through the guard: %v, want Refused", err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	req, _ = http.NewRequest(http.MethodGet, closed+"/botTOKEN/getMe", nil)
	_, _, err = connector.Call(nil, req, 10, "test: getMe", hide)
	if !errors.As(err, new(*connector.NotSent)) || connector.Undelivered(err) != "network" {
		t.Fatalf("nobody listening: %v, want NotSent", err)
	}
	if strings.Contains(err.Error(), "TOKEN") || !strings.Contains(err.Error(), "test: getMe") {
		t.Fatalf("error text %q: names the call, hides the token", err)
	}
	if got := connector.Undelivered(errors.New("timeout")); got != "unknown" {
		t.Fatalf("a plain error is %q, want unknown", got)
	}
}

// TestHookConnection: a path that names no connection is 404, a database
// failure 503 (the sender retries), else the opened connection.
func TestHookConnection(t *testing.T) {
	open := func(_ context.Context, id int64) (int64, error) {
		switch id {
		case 7:
			return 7, nil
		case 8:
			return 0, errors.New("database is locked")
		}
		return 0, store.NotFound("x connection", id)
	}
	for _, tc := range []struct {
		path string
		code int
	}{{"/hooks/x/7", 200}, {"/hooks/x/8", 503}, {"/hooks/x/9", 404}, {"/hooks/x/abc", 404}, {"/hooks/x/-1", 404}} {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /hooks/x/{connection_id}", func(w http.ResponseWriter, r *http.Request) {
			if id, ok := connector.HookConnection(w, r, slog.New(slog.DiscardHandler), "x", open); ok && id == 7 {
				w.WriteHeader(http.StatusOK)
			}
		})
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, tc.path, nil))
		if rec.Code != tc.code {
			t.Errorf("%s: %d, want %d", tc.path, rec.Code, tc.code)
		}
	}
}
