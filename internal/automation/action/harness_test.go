package action

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// loopback is the test policy: the SSRF guard lets loopback through.
var loopback = httpx.OutboundPolicy{
	AllowCIDRs:     []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	ConnectTimeout: time.Second,
}

// env is the actions over one database.
type env struct {
	t     *testing.T
	ctx   context.Context
	s     *store.Store
	admin crm.Actor
	reg   *automation.Registry
}

// eachEnv runs fn on SQLite and, when configured, PostgreSQL.
func eachEnv(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		fn(t, newEnv(t, s, admin, httpx.NewOutboundClient(loopback)))
	})
}

func newEnv(t *testing.T, s *store.Store, admin crm.Actor, client *http.Client) *env {
	reg := automation.NewRegistry(nil)
	if err := Register(reg, Deps{Store: s, HTTP: client}); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: context.Background(), s: s, admin: admin, reg: reg}
}

var runs atomic.Int64

// call is a fresh step of a fresh run: its own idempotency key.
func (e *env) call() *automation.Call {
	run := runs.Add(1)
	return &automation.Call{RunID: run, BundleID: 7, StepID: "step", Attempt: 1,
		Actor: crm.Actor{UserID: e.admin.UserID, BundleID: 7, RunID: run}}
}

func (e *env) dry() *automation.Call {
	c := e.call()
	c.DryRun = true
	return c
}

func (e *env) dup(by, then string) *automation.Call {
	c := e.call()
	c.Duplicates = &automation.Duplicates{By: []string{by}, Then: then}
	return c
}

func (e *env) run(c *automation.Call, name string, input any) (any, error) {
	e.t.Helper()
	a, ok := e.reg.Action(name)
	if !ok {
		e.t.Fatalf("no action %s", name)
	}
	return a.Run(e.ctx, c, input)
}

// ok runs an action that must succeed and returns its output object.
func (e *env) ok(c *automation.Call, name string, input any) map[string]any {
	e.t.Helper()
	out, err := e.run(c, name, input)
	if err != nil {
		e.t.Fatalf("%s: %v", name, err)
	}
	m, isMap := out.(map[string]any)
	if !isMap {
		e.t.Fatalf("%s: output %T %v", name, out, out)
	}
	return m
}

// fails runs an action that must fail with an input error naming field.
func (e *env) fails(c *automation.Call, name string, input any, field string) error {
	e.t.Helper()
	_, err := e.run(c, name, input)
	wantField(e.t, err, field)
	return err
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var ie *automation.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("want an input error on %q, got %T %v", field, err, err)
	}
	if ie.Field != field {
		t.Fatalf("want an input error on %q, got one on %q: %v", field, ie.Field, err)
	}
	if transient, _ := automation.IsTransient(err); transient {
		t.Fatalf("an input error marked transient: %v", err)
	}
}

func wantNotFound(t *testing.T, err error, msg string) {
	t.Helper()
	var nf *NotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, store.ErrNotFound) || err.Error() != msg {
		t.Fatalf("want %q, got %T %v", msg, err, err)
	}
	if transient, _ := automation.IsTransient(err); transient {
		t.Fatalf("not found marked transient: %v", err)
	}
}

// count is the rows of a table.
func (e *env) count(table string) int {
	e.t.Helper()
	var n int
	if err := e.s.DB().Read.QueryRowContext(e.ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// snapshot counts what a write could add.
type snapshot map[string]int

var counted = []string{"leads", "contacts", "accounts", "deals", "sales_orders", "products", "activities", "comments", "events", "idempotency_keys", "line_items"}

func (e *env) snapshot() snapshot {
	out := snapshot{}
	for _, t := range counted {
		out[t] = e.count(t)
	}
	return out
}

// unchanged fails when anything was written since before.
func (e *env) unchanged(before snapshot) {
	e.t.Helper()
	for t, n := range e.snapshot() {
		if before[t] != n {
			e.t.Errorf("%s: %d rows, %d before", t, n, before[t])
		}
	}
}

// wantPreview checks a test-mode output.
func wantPreview(t *testing.T, out any, would string) map[string]any {
	t.Helper()
	m, _ := out.(map[string]any)
	if m["dry_run"] != true || m["would"] != would {
		t.Fatalf("preview: want %q, got %v", would, out)
	}
	send, _ := m["send"].(map[string]any)
	return send
}

func id(m map[string]any) int64 {
	v, _ := m["id"].(int64)
	return v
}
