package automation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// remoteCalls is a remote system's journal of calls as a fake: a list
// that grows, paged with overlap (as real journals are when polled by
// time windows).
type remoteCalls struct {
	mu    sync.Mutex
	calls []string
}

func (rc *remoteCalls) add(ids ...string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls = append(rc.calls, ids...)
}

// page is the calls after cursor (a count; one back for the overlap), at
// most n, and the cursor after them.
func (rc *remoteCalls) page(cursor string, n int) ([]automation.Item, string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	from, _ := strconv.Atoi(cursor)
	from = max(0, from-1)
	to := min(len(rc.calls), from+n)
	var items []automation.Item
	for _, id := range rc.calls[from:to] {
		items = append(items, automation.Item{Key: id, Data: map[string]any{"call_id": id}})
	}
	if to == 0 {
		return nil, cursor
	}
	return items, strconv.Itoa(to)
}

// testConnType registers a connection type "testcrm" (and "othercrm")
// and makes a connection of it.
func testConn(t *testing.T, e *env, typ, name string) int64 {
	t.Helper()
	reg := e.app.Connections.Registry()
	if _, ok := reg.Type(typ); !ok {
		if err := reg.Add(connection.Type{Name: typ, Fields: []connection.Field{{Name: "secret", Type: connection.String, Secret: true}},
			Check: func(context.Context, connection.Settings) error { return nil }}); err != nil {
			t.Fatal(err)
		}
	}
	var c struct {
		ID int64 `json:"id"`
	}
	e.must(e.do("POST", "/api/v1/connections", map[string]any{"type": typ, "name": name, "settings": map[string]any{"secret": "s3cret-" + name}}), http.StatusCreated).json(t, &c)
	return c.ID
}

// pushBody is the fake remote's push: {"calls": [{"id": …}], "sign": …};
// a body whose sign is not the connection's secret is refused, and
// {"echo": x} is the remote's verification, answered with x.
func pushBody(ctx context.Context, req *automation.PushRequest) ([]automation.Item, error) {
	var body struct {
		Calls []struct {
			ID string `json:"id"`
		} `json:"calls"`
		Sign string `json:"sign"`
		Echo string `json:"echo"`
	}
	if req.Request.Method == http.MethodGet {
		if e := req.Request.URL.Query().Get("echo"); e != "" {
			req.Reply = &automation.PushReply{ContentType: "text/plain", Body: []byte(e)}
			return nil, nil
		}
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	if body.Sign != req.Settings["secret"] {
		return nil, errors.New("sign: does not match the connection's secret")
	}
	var items []automation.Item
	for i, c := range body.Calls {
		if c.ID == "" {
			return nil, fmt.Errorf("calls[%d].id: required", i)
		}
		items = append(items, automation.Item{Key: c.ID, Data: map[string]any{"call_id": c.ID, "pushed": true}})
	}
	return items, nil
}

func connectorKind(rc *remoteCalls, every time.Duration) automation.TriggerKind {
	return automation.TriggerKind{Type: "testcrm.call", Group: "test", Connection: "testcrm", Every: every,
		Data:    []automation.Field{{Name: "call_id", Type: "string"}},
		Options: []automation.Field{{Name: "direction", Type: "string", Enum: []string{"in", "out"}}, {Name: "target_only", Type: "boolean"}},
		Poll: func(ctx context.Context, b *automation.Bundle, cursor string) ([]automation.Item, string, error) {
			items, next := rc.page(cursor, 3)
			return items, next, nil
		},
		Push: pushBody,
	}
}

func callRunsOnce(t *testing.T, e *env, bundle int64, want ...string) {
	t.Helper()
	e.waitRuns(bundle, len(want))
	time.Sleep(200 * time.Millisecond) // more polls, pushes seen again
	runs := e.waitRuns(bundle, len(want))
	seen := map[string]int{}
	for _, r := range runs {
		if r.Status != automation.StatusOK {
			t.Fatalf("run %d: %s %s", r.ID, r.Status, r.Error)
		}
		seen[fmt.Sprint(path(e.run(r.ID).Steps[0].Output, "value"))]++
	}
	for _, w := range want {
		if seen[w] != 1 {
			t.Fatalf("item %s ran %d times (runs %v)", w, seen[w], seen)
		}
	}
	if len(runs) != len(want) {
		t.Fatalf("%d runs for %d items: %v", len(runs), len(want), seen)
	}
}

// The same item pushed and polled, in either order, makes one run:
// pushes and polls share the items' keys.
func TestPushAndPollShareKeys(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		rc := &remoteCalls{}
		if err := e.app.Automation.Registry().AddTrigger(connectorKind(rc, 30*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		conn := testConn(t, e, "testcrm", "CRM")
		b := e.bundle(jsonOf(t, fmt.Sprintf(`{"name": "звонки", "active": true, "trigger": {"type": "testcrm.call", "connection": %d},
			"steps": [{"id": "s", "action": "test.echo", "input": {"value": "{{trigger.call_id}}"}}]}`, conn)))
		// Pushed first, then the poll finds it.
		if n, err := e.app.Automation.FireConnection(t.Context(), "testcrm.call", conn, []automation.Item{{Key: "c1", Data: map[string]any{"call_id": "c1"}}}); err != nil || n != 1 {
			t.Fatalf("push: %d runs, %v", n, err)
		}
		rc.add("c1", "c2")
		callRunsOnce(t, e, b.ID, "c1", "c2")
		// Polled first, then pushed: the push makes nothing new.
		rc.add("c3")
		e.waitRuns(b.ID, 3)
		ids, err := e.app.Automation.Fire(t.Context(), b.ID, []automation.Item{{Key: "c3", Data: map[string]any{"call_id": "c3"}}, {Key: "c2", Data: map[string]any{"call_id": "c2"}}})
		if err != nil || len(ids) != 2 || ids[0] == 0 || ids[1] == 0 {
			t.Fatalf("push after the poll: %v %v", ids, err)
		}
		if n, err := e.app.Automation.FireConnection(t.Context(), "testcrm.call", conn, []automation.Item{{Key: "c3", Data: map[string]any{"call_id": "c3"}}}); err != nil || n != 0 {
			t.Fatalf("push after the poll: %d new runs, %v", n, err)
		}
		callRunsOnce(t, e, b.ID, "c1", "c2", "c3")
	})
}

// FireConnection gives the items to every active bundle of the trigger on
// that connection, one run per item per bundle, all stored when it
// returns; other connections' bundles and switched-off ones get none.
func TestFireConnection(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		kind := connectorKind(&remoteCalls{}, time.Hour)
		kind.Poll = nil
		if err := e.app.Automation.Registry().AddTrigger(kind); err != nil {
			t.Fatal(err)
		}
		a, other := testConn(t, e, "testcrm", "A"), testConn(t, e, "testcrm", "B")
		def := func(name string, conn int64, active bool) automation.Bundle {
			return e.bundle(jsonOf(t, fmt.Sprintf(`{"name": %q, "active": %t, "trigger": {"type": "testcrm.call", "connection": %d},
				"steps": [{"id": "s", "action": "test.echo", "input": {"value": "{{trigger.call_id}}"}}]}`, name, active, conn)))
		}
		b1, b2, b3, off := def("один", a, true), def("два", a, true), def("чужой", other, true), def("выключен", a, false)
		// The runner stopped: the runs must be stored, not worked, when
		// FireConnection returns.
		e.stopJobs()
		items := []automation.Item{{Key: "x", Data: map[string]any{"call_id": "x"}}, {Key: "y", Data: map[string]any{"call_id": "y"}}, {Key: "x", Data: map[string]any{"call_id": "x"}}}
		n, err := e.app.Automation.FireConnection(t.Context(), "testcrm.call", a, items)
		if err != nil || n != 4 {
			t.Fatalf("%d runs, %v; want 4", n, err)
		}
		for _, b := range []automation.Bundle{b1, b2} {
			if got := len(e.runs(b.ID, "")); got != 2 {
				t.Fatalf("bundle %s: %d runs stored", b.Name, got)
			}
		}
		for _, b := range []automation.Bundle{b3, off} {
			if got := len(e.runs(b.ID, "")); got != 0 {
				t.Fatalf("bundle %s: %d runs", b.Name, got)
			}
		}
		if n, err := e.app.Automation.FireConnection(t.Context(), "testcrm.call", a, items); err != nil || n != 0 {
			t.Fatalf("again: %d runs, %v", n, err)
		}
		if _, err := e.app.Automation.FireConnection(t.Context(), "testcrm.call", a, []automation.Item{{Data: map[string]any{}}}); err == nil || !strings.Contains(err.Error(), "item 0 has no key") {
			t.Fatalf("an item without a key: %v", err)
		}
		e.start()
		callRunsOnce(t, e, b1.ID, "x", "y")
		callRunsOnce(t, e, b2.ID, "x", "y")
	})
}

// A connection's hook URL over real HTTP: made through the API (shown
// once, made anew to replace it), a push becomes runs of the bundles on
// the connection (200 once they are stored), the same push again none, a
// verification request is answered by the kind, bad input is a 400 with
// the kind's error and a failed run in the bundle's journal, and a large
// body is refused.
func TestConnectionHook(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		if err := e.app.Automation.Registry().AddTrigger(connectorKind(&remoteCalls{}, time.Hour)); err != nil {
			t.Fatal(err)
		}
		conn := testConn(t, e, "testcrm", "CRM")
		b := e.bundle(jsonOf(t, fmt.Sprintf(`{"name": "звонки", "active": true, "trigger": {"type": "testcrm.call", "connection": %d},
			"steps": [{"id": "s", "action": "test.echo", "input": {"value": "{{trigger.call_id}}"}}]}`, conn)))
		var hook connection.Hook
		e.must(e.do("POST", fmt.Sprintf("/api/v1/connections/%d/hook", conn), nil), http.StatusOK).json(t, &hook)
		if !strings.HasPrefix(hook.URL, e.srv.URL+"/hooks/c/") || len(hook.Token) < 30 {
			t.Fatalf("hook %+v", hook)
		}
		var got connection.Connection
		e.must(e.do("GET", fmt.Sprintf("/api/v1/connections/%d", conn), nil), http.StatusOK).json(t, &got)
		if got.HookAt == nil || strings.Contains(fmt.Sprint(got), hook.Token) {
			t.Fatalf("the connection shows %+v", got)
		}
		push := func(url, method, body string) (int, string) {
			t.Helper()
			req, err := http.NewRequest(method, url, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		good := `{"calls": [{"id": "p1"}, {"id": "p2"}], "sign": "s3cret-CRM"}`
		if st, body := push(hook.URL, "POST", good); st != http.StatusOK || !strings.Contains(body, `"runs":2`) {
			t.Fatalf("push: %d %s", st, body)
		}
		// Durable at the answer: both runs are in the journal already.
		if n := len(e.runs(b.ID, "")); n != 2 {
			t.Fatalf("%d runs right after the answer", n)
		}
		if st, body := push(hook.URL, "POST", good); st != http.StatusOK || !strings.Contains(body, `"runs":0`) {
			t.Fatalf("the same push again: %d %s", st, body)
		}
		callRunsOnce(t, e, b.ID, "p1", "p2")
		if st, body := push(hook.URL+"?echo=ok-42", "GET", ""); st != http.StatusOK || body != "ok-42" {
			t.Fatalf("verification: %d %q", st, body)
		}
		if st, body := push(hook.URL, "POST", `{"calls": [{"id": "p3"}, {}], "sign": "s3cret-CRM"}`); st != http.StatusBadRequest || !strings.Contains(body, "testcrm.call: calls[1].id: required") {
			t.Fatalf("bad push: %d %s", st, body)
		}
		if st, body := push(hook.URL, "POST", `{"calls": [{"id": "p4"}], "sign": "wrong"}`); st != http.StatusBadRequest || !strings.Contains(body, "sign: does not match") {
			t.Fatalf("wrong sign: %d %s", st, body)
		}
		if st, body := push(hook.URL, "POST", `{"calls": [{"id": "`+strings.Repeat("x", automation.DefaultHookBody)+`"}]}`); st != http.StatusRequestEntityTooLarge {
			t.Fatalf("large body: %d %.200s", st, body)
		}
		if st, _ := push(e.srv.URL+"/hooks/c/"+strings.Repeat("A", 32), "POST", good); st != http.StatusNotFound {
			t.Fatalf("unknown token: %d", st)
		}
		failed := e.runs(b.ID, automation.StatusError)
		var msgs []string
		for _, r := range failed {
			msgs = append(msgs, r.Error)
		}
		all := strings.Join(msgs, "\n")
		if len(failed) != 3 || !strings.Contains(all, "push: testcrm.call: calls[1].id: required") || !strings.Contains(all, "push: request body is larger than") {
			t.Fatalf("journal of bad pushes: %q", msgs)
		}
		// Made anew: the old URL stops working.
		var again connection.Hook
		e.must(e.do("POST", fmt.Sprintf("/api/v1/connections/%d/hook", conn), nil), http.StatusOK).json(t, &again)
		if st, _ := push(hook.URL, "POST", good); st != http.StatusNotFound {
			t.Fatalf("the old URL: %d", st)
		}
		if st, body := push(again.URL, "POST", `{"calls": [{"id": "p5"}], "sign": "s3cret-CRM"}`); st != http.StatusOK || !strings.Contains(body, `"runs":1`) {
			t.Fatalf("the new URL: %d %s", st, body)
		}
	})
}

// A connector trigger's connection and options are checked on save, each
// problem naming its field, and the kind is described with them.
func TestConnectorTriggerValidation(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		if err := e.app.Automation.Registry().AddTrigger(connectorKind(&remoteCalls{}, time.Hour)); err != nil {
			t.Fatal(err)
		}
		conn := testConn(t, e, "testcrm", "CRM")
		other := testConn(t, e, "othercrm", "Other")
		for _, tc := range []struct {
			trigger, field, msg string
		}{
			{`{"type": "testcrm.call"}`, "trigger.connection", "required: a saved testcrm connection"},
			{fmt.Sprintf(`{"type": "testcrm.call", "connection": %d}`, other), "trigger.connection", "is a othercrm connection; trigger testcrm.call needs testcrm"},
			{`{"type": "testcrm.call", "connection": 99999}`, "trigger.connection", "no connection 99999"},
			{fmt.Sprintf(`{"type": "testcrm.call", "connection": %d, "options": {"interval": 5}}`, conn), "trigger.options.interval", "must be at least 10 seconds"},
			{fmt.Sprintf(`{"type": "testcrm.call", "connection": %d, "options": {"interval": "often"}}`, conn), "trigger.options.interval", `must be a whole number, not "often"`},
			{fmt.Sprintf(`{"type": "testcrm.call", "connection": %d, "options": {"direction": "up"}}`, conn), "trigger.options.direction", `"up" is not one of in, out`},
			{fmt.Sprintf(`{"type": "testcrm.call", "connection": %d, "options": {"target_only": "yes"}}`, conn), "trigger.options.target_only", "must be true or false"},
			{fmt.Sprintf(`{"type": "testcrm.call", "connection": %d, "options": {"colour": "red"}}`, conn), "trigger.options.colour", `trigger testcrm.call has no option "colour"`},
			{fmt.Sprintf(`{"type": "manual", "connection": %d}`, conn), "trigger.connection", "trigger manual works without a saved connection"},
		} {
			r := e.do("POST", "/api/v1/bundles", jsonOf(t, `{"name": "x", "trigger": `+tc.trigger+`, "steps": [{"id": "s", "action": "test.echo"}]}`))
			var got struct {
				Error struct {
					Details []automation.Problem `json:"details"`
				} `json:"error"`
			}
			_ = json.Unmarshal(r.Body, &got)
			if r.Status != http.StatusUnprocessableEntity || len(got.Error.Details) != 1 || got.Error.Details[0].Field != tc.field || !strings.Contains(got.Error.Details[0].Message, tc.msg) {
				t.Errorf("%s: %d %s", tc.trigger, r.Status, r.Body)
			}
		}
		e.bundle(jsonOf(t, fmt.Sprintf(`{"name": "ok", "trigger": {"type": "testcrm.call", "connection": %d,
			"options": {"interval": 600, "direction": "in", "target_only": true}}, "steps": [{"id": "s", "action": "test.echo"}]}`, conn)))
		var list struct {
			Items []automation.TriggerInfo `json:"items"`
		}
		e.must(e.do("GET", "/api/v1/triggers", nil), http.StatusOK).json(t, &list)
		var info *automation.TriggerInfo
		for i := range list.Items {
			if list.Items[i].Type == "testcrm.call" {
				info = &list.Items[i]
			}
		}
		if info == nil || info.Connection != "testcrm" || !info.Poll || !info.Push || info.MinEvery != 10 || len(info.Options) != 3 {
			t.Fatalf("described as %+v", info)
		}
		if iv := info.Options[2]; iv.Name != "interval" || iv.Label.Ru != "Интервал опроса, с" || iv.Label.En != "Polling interval, s" {
			t.Fatalf("the interval option: %+v", iv)
		}
		// A connection a trigger uses cannot be deleted unnoticed.
		if r := e.do("DELETE", fmt.Sprintf("/api/v1/connections/%d", conn), nil); r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "bundles use this connection: ok") {
			t.Fatalf("delete a used connection: %d %s", r.Status, r.Body)
		}
	})
}

// A bundle's interval option sets when it is polled next; without it the
// kind's Every.
func TestPollInterval(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		rc := &remoteCalls{}
		if err := e.app.Automation.Registry().AddTrigger(connectorKind(rc, 30*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		conn := testConn(t, e, "testcrm", "CRM")
		rc.add("a")
		slow := e.bundle(jsonOf(t, fmt.Sprintf(`{"name": "раз в час", "active": true, "trigger": {"type": "testcrm.call", "connection": %d, "options": {"interval": 3600}},
			"steps": [{"id": "s", "action": "test.echo", "input": {"value": "{{trigger.call_id}}"}}]}`, conn)))
		fast := e.bundle(jsonOf(t, fmt.Sprintf(`{"name": "часто", "active": true, "trigger": {"type": "testcrm.call", "connection": %d},
			"steps": [{"id": "s", "action": "test.echo", "input": {"value": "{{trigger.call_id}}"}}]}`, conn)))
		// The first poll of each is at once; then the slow one waits an
		// hour and the fast one keeps polling.
		e.waitRuns(slow.ID, 1)
		e.waitRuns(fast.ID, 1)
		due := func(id int64) time.Duration {
			var at int64
			if err := e.d.Read.QueryRow("SELECT poll_due_at FROM automation_bundles WHERE id = $1", id).Scan(&at); err != nil {
				t.Fatal(err)
			}
			return time.Until(time.UnixMicro(at))
		}
		if d := due(slow.ID); d < 50*time.Minute {
			t.Fatalf("the hourly bundle is due in %s", d)
		}
		rc.add("b")
		e.waitRuns(fast.ID, 2)
		if n := len(e.runs(slow.ID, "")); n != 1 {
			t.Fatalf("the hourly bundle polled again: %d runs", n)
		}
	})
}

// An instance dies (kill -9) between a poll's fetch and storing its items
// and cursor: its lease runs out, another instance polls from the old
// cursor, and every item runs once — neither missed nor doubled, even
// when the dead poll wakes and tries to store what it fetched.
func TestPollDiesBeforeStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		lease := automation.WithPollLease(300 * time.Millisecond)
		a := newEnv(t, d, lease)
		b := newEnv(t, d, lease)
		rc := &remoteCalls{}
		rc.add("k1", "k2")
		fetched, wake := make(chan struct{}), make(chan struct{})
		var once, woken sync.Once
		wakeUp := func() { woken.Do(func() { close(wake) }) }
		t.Cleanup(wakeUp)
		dead := connectorKind(rc, 30*time.Millisecond)
		dead.Poll = func(ctx context.Context, bd *automation.Bundle, cursor string) ([]automation.Item, string, error) {
			items, next := rc.page(cursor, 3)
			once.Do(func() { close(fetched) })
			<-wake // "killed" after the fetch: nothing stored
			return items, next, nil
		}
		if err := a.app.Automation.Registry().AddTrigger(dead); err != nil {
			t.Fatal(err)
		}
		conn := testConn(t, a, "testcrm", "CRM")
		bundle := a.bundle(jsonOf(t, fmt.Sprintf(`{"name": "звонки", "active": true, "trigger": {"type": "testcrm.call", "connection": %d},
			"steps": [{"id": "s", "action": "test.echo", "input": {"value": "{{trigger.call_id}}"}}]}`, conn)))
		<-fetched
		var mu sync.Mutex
		var cursors []string
		alive := connectorKind(rc, 30*time.Millisecond)
		alive.Poll = func(ctx context.Context, bd *automation.Bundle, cursor string) ([]automation.Item, string, error) {
			mu.Lock()
			cursors = append(cursors, cursor)
			mu.Unlock()
			items, next := rc.page(cursor, 3)
			return items, next, nil
		}
		if err := b.app.Automation.Registry().AddTrigger(alive); err != nil {
			t.Fatal(err)
		}
		// b only registers the kind now; its connection type too.
		if err := b.app.Connections.Registry().Add(connection.Type{Name: "testcrm", Fields: []connection.Field{{Name: "secret", Type: connection.String, Secret: true}},
			Check: func(context.Context, connection.Settings) error { return nil }}); err != nil {
			t.Fatal(err)
		}
		callRunsOnce(t, b, bundle.ID, "k1", "k2")
		mu.Lock()
		if len(cursors) == 0 || cursors[0] != "" {
			t.Fatalf("the live instance polled from %q, not the old cursor", cursors)
		}
		mu.Unlock()
		rc.add("k3")
		wakeUp() // the dead poll stores nothing: its lease is gone
		callRunsOnce(t, b, bundle.ID, "k1", "k2", "k3")
	})
}

// Two instances on PostgreSQL poll the same bundle and take pushes of the
// same items at once: each item runs once.
func TestTwoInstancesPushAndPoll(t *testing.T) {
	url := storetest.PostgresURL(t)
	open := func() *db.DB {
		d, err := db.Open(context.Background(), db.Options{PostgresURL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		if _, err := d.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return d
	}
	// A short lease: polls that outlive it are taken over, and the lease
	// check at the store keeps them from storing twice.
	a := newEnv(t, open(), automation.WithPollLease(time.Second))
	b := newEnv(t, open(), automation.WithPollLease(time.Second))
	rc := &remoteCalls{}
	var polls atomic.Int64
	for _, e := range []*env{a, b} {
		k := connectorKind(rc, 10*time.Millisecond)
		k.Poll = func(ctx context.Context, bd *automation.Bundle, cursor string) ([]automation.Item, string, error) {
			polls.Add(1)
			items, next := rc.page(cursor, 7)
			return items, next, nil
		}
		if err := e.app.Automation.Registry().AddTrigger(k); err != nil {
			t.Fatal(err)
		}
	}
	conn := testConn(t, a, "testcrm", "CRM")
	if err := b.app.Connections.Registry().Add(connection.Type{Name: "testcrm", Fields: []connection.Field{{Name: "secret", Type: connection.String, Secret: true}},
		Check: func(context.Context, connection.Settings) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	var hook connection.Hook
	a.must(a.do("POST", fmt.Sprintf("/api/v1/connections/%d/hook", conn), nil), http.StatusOK).json(t, &hook)
	bundle := a.bundle(jsonOf(t, fmt.Sprintf(`{"name": "звонки", "active": true, "trigger": {"type": "testcrm.call", "connection": %d},
		"steps": [{"id": "s", "action": "test.echo", "input": {"value": "{{trigger.call_id}}"}}]}`, conn)))
	const n = 120
	var want []string
	var wg sync.WaitGroup
	for i := range n {
		id := fmt.Sprintf("call-%03d", i)
		want = append(want, id)
		rc.add(id)
		if i%3 != 0 {
			continue
		}
		// Every third item is pushed too, to both instances at once.
		for _, e := range []*env{a, b} {
			wg.Add(1)
			go func(e *env) {
				defer wg.Done()
				body := fmt.Sprintf(`{"calls": [{"id": %q}], "sign": "s3cret-CRM"}`, id)
				res, err := http.Post(e.srv.URL+strings.TrimPrefix(hook.URL, a.srv.URL), "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Errorf("push %s: %d", id, res.StatusCode)
				}
			}(e)
		}
		if i%10 == 0 {
			time.Sleep(5 * time.Millisecond) // the journal grows while polled
		}
	}
	wg.Wait()
	runs := a.waitRunsAll(bundle.ID, n)
	seen := map[string]int{}
	for _, r := range runs {
		var key string
		key, _ = strings.CutPrefix(r.TriggerKey, "poll:")
		seen[key]++
	}
	for _, w := range want {
		if seen[w] != 1 {
			t.Fatalf("%s: %d runs", w, seen[w])
		}
	}
	if len(runs) != n {
		t.Fatalf("%d runs for %d items", len(runs), n)
	}
	t.Logf("%d items, a third also pushed to both instances, %d polls: each item once", n, polls.Load())
}
