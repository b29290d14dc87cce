package delivery

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/jobs"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

var testPortal = Portal{Domain: "crm.example.ru", MemberID: "51e2c566"}

// loopback is the test policy: the SSRF guard lets loopback through.
var loopback = httpx.OutboundPolicy{
	AllowCIDRs:     []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	ConnectTimeout: 500 * time.Millisecond,
	TotalTimeout:   300 * time.Millisecond,
}

// env is a Service and a River runner on one database, started.
type env struct {
	t      testing.TB
	d      *db.DB
	st     *store.Store
	admin  crm.Actor
	box    *secret.Box
	policy httpx.OutboundPolicy
	opts   []Option
	river  jobs.Option

	mu     sync.Mutex
	svc    *Service
	runner *jobs.Runner
}

func fastRiver(c *river.Config) {
	c.FetchCooldown = 5 * time.Millisecond
	c.FetchPollInterval = 20 * time.Millisecond
}

func testBox(t testing.TB) *secret.Box {
	b, err := secret.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newEnv(t testing.TB, d *db.DB, policy httpx.OutboundPolicy, opts ...Option) *env {
	t.Helper()
	if err := jobs.Migrate(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	st := store.New(d)
	e := &env{t: t, d: d, st: st, admin: storetest.Admin(t, st), box: testBox(t), policy: policy, river: fastRiver,
		opts: append([]Option{WithBackoff(10*time.Millisecond, 100*time.Millisecond), WithOrderWait(10 * time.Millisecond),
			WithPoll(20 * time.Millisecond)}, opts...)}
	return e
}

// newStartedEnv is newEnv, started, stopped when the test ends.
func newStartedEnv(t testing.TB, d *db.DB, policy httpx.OutboundPolicy, opts ...Option) *env {
	e := newEnv(t, d, policy, opts...)
	e.start()
	t.Cleanup(e.stop)
	return e
}

// start builds and starts a fresh Service and runner, as a restarted
// Obmen would.
func (e *env) start() {
	e.t.Helper()
	ctx := context.Background()
	svc, r := e.build()
	if err := r.Start(ctx); err != nil {
		e.t.Fatal(err)
	}
	svc.Start(ctx, r)
	e.mu.Lock()
	e.svc, e.runner = svc, r
	e.mu.Unlock()
}

// build makes a Service with the env's policy and options and the River
// runner (not started) its jobs run on.
func (e *env) build() (*Service, *jobs.Runner) {
	e.t.Helper()
	svc := New(e.d, e.box, httpx.NewOutboundClient(e.policy), testPortal, slog.New(slog.DiscardHandler), e.opts...)
	r, err := jobs.New(context.Background(), e.d, slog.New(slog.DiscardHandler), svc.Register, e.river)
	if err != nil {
		e.t.Fatal(err)
	}
	return svc, r
}

// stop stops the dispatcher, then River gracefully.
func (e *env) stop() {
	e.mu.Lock()
	svc, r := e.svc, e.runner
	e.svc, e.runner = nil, nil
	e.mu.Unlock()
	if svc == nil {
		return
	}
	svc.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.Stop(ctx); err != nil {
		e.t.Errorf("stop runner: %v", err)
	}
	r.Close()
}

// driven builds the env's Service on a River runner that is not started:
// the test drives the dispatcher by hand (Dispatch) and checks rows; first
// attempts still run. Both stop when the test ends, the Service first.
func (e *env) driven() *Service {
	e.t.Helper()
	svc, r := e.build()
	e.t.Cleanup(r.Close)
	e.t.Cleanup(svc.Stop)
	svc.runner = r
	e.mu.Lock()
	e.svc = svc
	e.mu.Unlock()
	return svc
}

// recordsOf are the record ids of webhook w's deliveries, in order.
func (e *env) recordsOf(w Webhook) []int64 {
	e.t.Helper()
	var ids []int64
	for _, d := range e.deliveries(w.ID) {
		ids = append(ids, d.RecordID)
	}
	slices.Sort(ids)
	return ids
}

func (e *env) service() *Service {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.svc
}

func (e *env) webhook(w Webhook) Webhook {
	e.t.Helper()
	out, err := e.service().Create(context.Background(), w)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) lead(actor crm.Actor, title string) crm.Lead {
	e.t.Helper()
	l, err := e.st.CreateLead(context.Background(), actor, crm.Lead{Title: title})
	if err != nil {
		e.t.Fatal(err)
	}
	if s := e.service(); s != nil {
		s.Poke()
	}
	return l
}

func (e *env) updateLead(id int64, title string) {
	e.t.Helper()
	_, err := e.st.UpdateLead(context.Background(), e.admin, id, func(l *crm.Lead) error {
		l.Title = title
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if s := e.service(); s != nil {
		s.Poke()
	}
}

// deliveries returns every delivery of a webhook, oldest first.
func (e *env) deliveries(webhookID int64) []Delivery {
	e.t.Helper()
	ds, err := e.service().Deliveries(context.Background(), webhookID, DeliveryQuery{Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	for i, j := 0, len(ds)-1; i < j; i, j = i+1, j-1 {
		ds[i], ds[j] = ds[j], ds[i]
	}
	return ds
}

// settled waits until the webhook has n deliveries, none pending.
func (e *env) settled(webhookID int64, n int, timeout time.Duration) []Delivery {
	e.t.Helper()
	var ds []Delivery
	waitFor(e.t, timeout, "deliveries to settle", func() bool {
		ds = e.deliveries(webhookID)
		if len(ds) < n {
			return false
		}
		for _, d := range ds {
			if d.Status == StatusPending {
				return false
			}
		}
		return true
	})
	return ds
}

// dispatchedUpTo waits until the dispatcher's cursor reaches the log's end.
func (e *env) dispatched() {
	e.t.Helper()
	waitFor(e.t, 10*time.Second, "the dispatcher to reach the end of the log", func() bool {
		var cur, last int64
		_ = e.d.Read.QueryRow("SELECT COALESCE(MAX(id), 0) FROM events").Scan(&last)
		_ = e.d.Read.QueryRow("SELECT COALESCE(MAX(last_id), 0) FROM outbox_cursors").Scan(&cur)
		return cur >= last
	})
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// receiver records what a handler receives and answers through answer.
type receiver struct {
	mu        sync.Mutex
	calls     int
	got       []received
	arrivals  map[string]int  // Obmen-Event-Id → requests answered 2xx
	processed map[string]bool // Obmen-Event-Id → processed (once)
	answer    func(n int, r received) (status int, delay time.Duration)
}

type received struct {
	eventID string
	header  http.Header
	body    []byte
	status  int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := readAll(r)
	x := received{eventID: r.Header.Get(HeaderEventID), header: r.Header.Clone(), body: body}
	rc.mu.Lock()
	n := rc.calls // counted on arrival: answers may come back out of order
	rc.calls++
	rc.mu.Unlock()
	status, delay := http.StatusOK, time.Duration(0)
	if rc.answer != nil {
		status, delay = rc.answer(n, x)
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	x.status = status
	rc.mu.Lock()
	rc.got = append(rc.got, x)
	// An idempotent receiver: it processes an event id once, whatever
	// number of times it arrives. It "processes" before answering, so a
	// sender timing out after processing sends a duplicate.
	if status < 300 {
		if rc.processed == nil {
			rc.processed, rc.arrivals = map[string]bool{}, map[string]int{}
		}
		rc.arrivals[x.eventID]++
		rc.processed[x.eventID] = true
	}
	rc.mu.Unlock()
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"ok":true}`))
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func readAll(r *http.Request) ([]byte, error) {
	defer r.Body.Close()
	var b []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			return b, nil
		}
	}
}
