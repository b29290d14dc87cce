package automation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/app"
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/jobs"
	"github.com/obmen/obmen/internal/store/storetest"
)

// env is a real Obmen server over loopback HTTP on a real database, its
// jobs running with a fast policy, and the test actions registered.
type env struct {
	t      testing.TB
	d      *db.DB
	srv    *httptest.Server
	app    *app.Server
	key    string // the admin's API key
	admin  crm.User
	client *http.Client
	acts   *testActions
	stop   func()

	riverOpt func(*river.Config)
}

func fastRiver(c *river.Config) {
	c.FetchCooldown = 5 * time.Millisecond
	c.FetchPollInterval = 20 * time.Millisecond
}

// fastPolicy is the test's engine policy: short waits everywhere.
var fastPolicy = []automation.Option{
	automation.WithBackoff(20*time.Millisecond, 200*time.Millisecond),
	automation.WithPoll(50 * time.Millisecond),
	automation.WithOrderWait(10 * time.Millisecond),
	automation.WithStepTimeout(5 * time.Second),
}

func newEnv(t testing.TB, d *db.DB, opts ...automation.Option) *env {
	t.Helper()
	return newEnvRiver(t, d, fastRiver, opts...)
}

// newEnvRiver is newEnv with River adjusted by riverOpt (nil: as the app
// sets it).
func newEnvRiver(t testing.TB, d *db.DB, riverOpt func(*river.Config), opts ...automation.Option) *env {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.AdminPassword = "admin-password"
	cfg.DataDir = t.TempDir()
	cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	cfg.OutboundAllow = []string{"127.0.0.0/8"}
	// One key for every instance of a test, as several instances on one
	// database must share it.
	cfg.SecretKey = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="
	var logOut io.Writer = io.Discard
	if os.Getenv("OBMEN_TEST_LOG") != "" {
		logOut = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logOut, nil))
	a, err := app.NewServer(d, cfg, log)
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
	a.Automation.Configure(append(append([]automation.Option{}, fastPolicy...), opts...)...)
	e := &env{t: t, d: d, app: a, key: key, admin: u, srv: srv, riverOpt: riverOpt}
	e.acts = registerTestActions(t, a)
	srv.Config.Handler = a.Handler
	srv.Start()
	t.Cleanup(srv.Close)
	e.client = srv.Client()
	e.start()
	t.Cleanup(func() { e.stopJobs() })
	return e
}

func (e *env) start() {
	e.t.Helper()
	if e.stop != nil {
		// Two runners of one app: the first could never be stopped.
		e.t.Fatal("the jobs are running already: stopJobs first")
	}
	var opts []jobs.Option
	if e.riverOpt != nil {
		opts = append(opts, e.riverOpt)
	}
	stop, err := e.app.StartJobs(context.Background(), opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.stop = stop
}

func (e *env) stopJobs() {
	if e.stop != nil {
		e.stop()
		e.stop = nil
	}
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

// do sends a request with the admin's key; body is a string or a value to
// encode as JSON.
func (e *env) do(method, path string, body any, headers ...string) resp {
	e.t.Helper()
	return e.doKey(e.key, method, path, body, headers...)
}

func (e *env) doKey(key, method, path string, body any, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	url := path
	if strings.HasPrefix(path, "/") {
		url = e.srv.URL + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
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

// must checks the status of a response.
func (e *env) must(r resp, status int) resp {
	e.t.Helper()
	if r.Status != status {
		e.t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// bundle creates a bundle from a definition (a map or a JSON string).
func (e *env) bundle(def any) automation.Bundle {
	e.t.Helper()
	var b automation.Bundle
	e.must(e.do("POST", "/api/v1/bundles", def), http.StatusCreated).json(e.t, &b)
	return b
}

// lead creates a lead through the REST API and returns its id.
func (e *env) lead(fields map[string]any) int64 {
	e.t.Helper()
	var l struct {
		ID int64 `json:"id"`
	}
	e.must(e.do("POST", "/api/v1/leads", fields), http.StatusCreated).json(e.t, &l)
	return l.ID
}

// runs lists a bundle's runs (newest first).
func (e *env) runs(bundle int64, status string) []automation.Run {
	e.t.Helper()
	q := ""
	if status != "" {
		q = "?status=" + status
	}
	var l automation.RunList
	e.must(e.do("GET", fmt.Sprintf("/api/v1/bundles/%d/runs%s", bundle, q), nil), http.StatusOK).json(e.t, &l)
	return l.Items
}

// run reads one run with its steps.
func (e *env) run(id int64) automation.Run {
	e.t.Helper()
	var r automation.Run
	e.must(e.do("GET", fmt.Sprintf("/api/v1/runs/%d", id), nil), http.StatusOK).json(e.t, &r)
	return r
}

// waitFor polls cond until it holds or the time is up.
func (e *env) waitFor(what string, within time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitRuns waits until the bundle has n finished runs and returns them,
// oldest first.
func (e *env) waitRuns(bundle int64, n int) []automation.Run {
	e.t.Helper()
	var got []automation.Run
	e.waitFor(fmt.Sprintf("%d finished runs of bundle %d", n, bundle), 20*time.Second, func() bool {
		got = got[:0]
		for _, r := range e.runs(bundle, "") {
			if r.Finished() {
				got = append(got, r)
			}
		}
		return len(got) >= n
	})
	for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
		got[i], got[j] = got[j], got[i]
	}
	return got
}

// waitStatus waits for a run to reach a status.
func (e *env) waitStatus(id int64, status string) automation.Run {
	e.t.Helper()
	var r automation.Run
	e.waitFor(fmt.Sprintf("run %d to be %s", id, status), 20*time.Second, func() bool {
		r = e.run(id)
		return r.Status == status
	})
	return r
}

// jsonOf decodes a JSON text into a map, for definitions written as text.
func jsonOf(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad JSON in the test: %v\n%s", err, s)
	}
	return m
}

// path reads a value out of decoded JSON by dotted keys and [i] indexes.
func path(v any, p string) any {
	for _, part := range strings.Split(p, ".") {
		name, idx, hasIdx := strings.Cut(part, "[")
		if name != "" {
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[name]
		}
		if hasIdx {
			var i int
			fmt.Sscanf(idx, "%d]", &i)
			l, ok := v.([]any)
			if !ok || i >= len(l) {
				return nil
			}
			v = l[i]
		}
	}
	return v
}
