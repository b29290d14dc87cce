package gallery_test

// The harness is the connectors' app tests' own: Obmen over loopback
// HTTP on a real database with its jobs running.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"github.com/obmen/obmen/internal/app/apptest"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/db"
)

// server is Obmen itself over loopback HTTP with its jobs running.
type server struct {
	t   testing.TB
	srv *httptest.Server
	key string
	db  *db.DB
}

func newServer(t testing.TB, d *db.DB) *server {
	a := apptest.Start(t, d)
	return &server{t: t, srv: a.Srv, key: a.Key, db: d}
}

func (s *server) do(method, path string, body any, want int, dst any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
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

// pollNow makes the bundle's poll due: the minute between two polls
// passes.
func (s *server) pollNow(id int64) {
	s.t.Helper()
	err := s.db.Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE automation_bundles SET poll_due_at = 0 WHERE id = $1", id)
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *server) cursor(id int64) string {
	var c string
	if err := s.db.Read.QueryRowContext(context.Background(), "SELECT poll_cursor FROM automation_bundles WHERE id = $1", id).Scan(&c); err != nil {
		s.t.Fatal(err)
	}
	return c
}

func (s *server) runs(id int64) []automation.Run {
	var list struct {
		Items []automation.Run `json:"items"`
	}
	s.do("GET", fmt.Sprintf("/api/v1/bundles/%d/runs?limit=100", id), nil, http.StatusOK, &list)
	return list.Items
}
