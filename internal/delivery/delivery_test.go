package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func native(url string, evs ...string) Webhook {
	if len(evs) == 0 {
		evs = []string{"lead.*"}
	}
	return Webhook{Kind: KindNative, Name: "test", URL: url, Events: evs, Token: "s3cret"}
}

func TestFailsThenSucceeds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		rc := &receiver{answer: func(n int, _ received) (int, time.Duration) {
			if n < 3 {
				return http.StatusServiceUnavailable, 0
			}
			return http.StatusOK, 0
		}}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		e := newStartedEnv(t, d, loopback)
		h := e.webhook(native(srv.URL))
		e.lead(e.admin, "Заявка")
		ds := e.settled(h.ID, 1, 15*time.Second)
		if len(ds) != 1 || ds[0].Status != StatusDelivered || ds[0].Attempts != 4 || len(ds[0].Journal) != 4 {
			t.Fatalf("deliveries %+v", ds)
		}
		for i, a := range ds[0].Journal {
			want := 503
			if i == 3 {
				want = 200
			}
			if a.StatusCode != want {
				t.Errorf("attempt %d: status %d, want %d", i+1, a.StatusCode, want)
			}
		}
		if ds[0].Journal[0].Error != "HTTP 503" || ds[0].Journal[3].ResponseExcerpt != `{"ok":true}` {
			t.Errorf("journal %+v", ds[0].Journal)
		}
		if got := len(rc.all()); got != 4 {
			t.Errorf("receiver got %d requests, want 4", got)
		}
	})
}

// A receiver that processes an event but answers after Obmen's timeout
// gets it again; honouring Obmen-Event-Id it processes it once.
func TestTimeoutRetriedIdempotently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		rc := &receiver{answer: func(n int, _ received) (int, time.Duration) {
			if n == 0 {
				return http.StatusOK, 600 * time.Millisecond // past the client's 300 ms
			}
			return http.StatusOK, 0
		}}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		e := newStartedEnv(t, d, loopback)
		h := e.webhook(native(srv.URL))
		e.lead(e.admin, "Заявка")
		ds := e.settled(h.ID, 1, 15*time.Second)
		if ds[0].Status != StatusDelivered || ds[0].Attempts != 2 {
			t.Fatalf("delivery %+v", ds[0])
		}
		if j := ds[0].Journal[0]; j.StatusCode != 0 || !strings.Contains(j.Error, "exceeded") {
			t.Errorf("first attempt %+v, want a timeout", j)
		}
		waitFor(t, 5*time.Second, "the slow answer", func() bool { return len(rc.all()) == 2 })
		id := strconv.FormatInt(ds[0].EventID, 10)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if rc.arrivals[id] != 2 || len(rc.processed) != 1 || !rc.processed[id] {
			t.Fatalf("arrivals %v, processed %v", rc.arrivals, rc.processed)
		}
	})
}

func TestSlowReceiver(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		rc := &receiver{answer: func(int, received) (int, time.Duration) { return http.StatusNoContent, 150 * time.Millisecond }}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		e := newStartedEnv(t, d, loopback)
		h := e.webhook(native(srv.URL))
		for i := range 3 {
			e.lead(e.admin, fmt.Sprint("Заявка ", i))
		}
		ds := e.settled(h.ID, 3, 15*time.Second)
		for _, x := range ds {
			if x.Status != StatusDelivered || x.Attempts != 1 || x.Journal[0].LatencyMS < 150 {
				t.Errorf("delivery %+v", x)
			}
		}
	})
}

func TestGoneDisablesWebhook(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		rc := &receiver{answer: func(int, received) (int, time.Duration) { return http.StatusGone, 0 }}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		e := newStartedEnv(t, d, loopback)
		h := e.webhook(native(srv.URL))
		e.lead(e.admin, "first")
		ds := e.settled(h.ID, 1, 15*time.Second)
		if ds[0].Status != StatusFailed || ds[0].Attempts != 1 || ds[0].LastStatus != 410 {
			t.Fatalf("delivery %+v", ds[0])
		}
		got, err := e.service().Get(context.Background(), h.ID)
		if err != nil || got.Active || !strings.Contains(got.DisabledReason, "410") {
			t.Fatalf("webhook %+v, %v", got, err)
		}
		e.lead(e.admin, "second")
		e.dispatched()
		time.Sleep(100 * time.Millisecond) // a job, if one were made, would run by now
		if n := len(rc.all()); n != 1 {
			t.Fatalf("receiver got %d requests after 410", n)
		}
		if n := len(e.deliveries(h.ID)); n != 1 {
			t.Fatalf("%d deliveries after 410", n)
		}
		// A manual retry needs the webhook active again.
		if err := e.service().Retry(context.Background(), ds[0].ID); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("retry of a disabled webhook: %v", err)
		}
	})
}

// An UPDATE never overtakes its ADD, even when the ADD needs a retry.
func TestOrderPerRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		var failedOnce atomic.Bool
		rc := &receiver{}
		rc.answer = func(_ int, r received) (int, time.Duration) {
			var p NativePayload
			_ = json.Unmarshal(r.body, &p)
			if p.Action == events.Create && failedOnce.CompareAndSwap(false, true) {
				return http.StatusInternalServerError, 0
			}
			return http.StatusOK, 0
		}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		e := newStartedEnv(t, d, loopback)
		h := e.webhook(native(srv.URL))
		l := e.lead(e.admin, "v0")
		for i := 1; i <= 3; i++ {
			e.updateLead(l.ID, fmt.Sprint("v", i))
		}
		e.settled(h.ID, 4, 15*time.Second)
		var actions []string
		var last int64
		for _, r := range rc.all() {
			if r.status >= 300 {
				continue
			}
			var p NativePayload
			if err := json.Unmarshal(r.body, &p); err != nil {
				t.Fatal(err)
			}
			if p.EventID <= last {
				t.Errorf("event %d after %d", p.EventID, last)
			}
			last = p.EventID
			actions = append(actions, p.Action)
		}
		if strings.Join(actions, ",") != "create,update,update,update" {
			t.Fatalf("receiver saw %v", actions)
		}
	})
}

func TestBitrixFormDelivered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		rc := &receiver{}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		e := newStartedEnv(t, d, loopback)
		h := e.webhook(Webhook{Kind: KindBitrix, URL: srv.URL + "/handler.php", Events: []string{"ONCRMLEADADD"}, Token: "e57xiy964jb6slr0gfa0j6lpigf7gnij"})
		l := e.lead(e.admin, "Заявка")
		e.updateLead(l.ID, "not subscribed") // ONCRMLEADUPDATE is not chosen
		ds := e.settled(h.ID, 1, 15*time.Second)
		e.dispatched()
		if len(ds) != 1 || ds[0].Status != StatusDelivered {
			t.Fatalf("deliveries %+v", ds)
		}
		got := rc.all()
		if len(got) != 1 {
			t.Fatalf("%d requests", len(got))
		}
		if ct := got[0].header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type %q", ct)
		}
		form, err := url.ParseQuery(string(got[0].body))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"event": "ONCRMLEADADD", "event_handler_id": strconv.FormatInt(h.ID, 10), "data[FIELDS][ID]": strconv.FormatInt(l.ID, 10),
			"auth[domain]": "crm.example.ru", "auth[client_endpoint]": "https://crm.example.ru/rest/",
			"auth[server_endpoint]": "https://crm.example.ru/rest/", "auth[member_id]": "51e2c566",
			"auth[application_token]": "e57xiy964jb6slr0gfa0j6lpigf7gnij", "auth[scope]": "crm", "auth[status]": "L",
		}
		for k, v := range want {
			if form.Get(k) != v {
				t.Errorf("%s = %q, want %q", k, form.Get(k), v)
			}
		}
		if ts, err := strconv.ParseInt(form.Get("ts"), 10, 64); err != nil || time.Since(time.Unix(ts, 0)) > time.Minute {
			t.Errorf("ts = %q", form.Get("ts"))
		}
		if len(form) != len(want)+1 {
			t.Errorf("form has %d fields: %v", len(form), form)
		}
	})
}

func TestNativeSignedDelivery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		rc := &receiver{}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		e := newStartedEnv(t, d, loopback)
		h := e.webhook(native(srv.URL, "lead.create"))
		l := e.lead(e.admin, "Подпись")
		ds := e.settled(h.ID, 1, 15*time.Second)
		r := rc.all()[0]
		if err := Verify([]byte("s3cret"), r.body, r.header.Get(HeaderSignature), time.Now(), time.Minute); err != nil {
			t.Fatal(err)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		var p NativePayload
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		if p.EventID != ds[0].EventID || r.eventID != strconv.FormatInt(p.EventID, 10) || p.RecordID != l.ID || p.Entity != "lead" ||
			string(p.Changes["title"].New) != `"Подпись"` {
			t.Fatalf("payload %s, header id %s", r.body, r.eventID)
		}
	})
}

func TestEchoSuppressed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		rc := &receiver{}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		e := newStartedEnv(t, d, loopback)
		same := native(srv.URL)
		same.Integration = "x"
		echo := same
		echo.IncludeEcho = true
		other := native(srv.URL)
		other.Integration = "y"
		hs, he, ho := e.webhook(same), e.webhook(echo), e.webhook(other)
		e.lead(crm.Actor{UserID: e.admin.UserID, Integration: "x"}, "from x")
		e.settled(he.ID, 1, 15*time.Second)
		e.settled(ho.ID, 1, 15*time.Second)
		e.dispatched()
		if n := len(e.deliveries(hs.ID)); n != 0 {
			t.Fatalf("echo sent to its own integration: %d deliveries", n)
		}
	})
}

func TestSSRFRefusedWithoutRetry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		// Only 127.0.0.1 is allowed; the redirect goes to 127.0.0.2.
		target := httptest.NewServer(&receiver{})
		defer target.Close()
		_, port, _ := strings.Cut(strings.TrimPrefix(target.URL, "http://"), ":")
		redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.2:"+port+"/", http.StatusTemporaryRedirect)
		}))
		defer redirect.Close()
		policy := loopback
		policy.AllowCIDRs = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		e := newStartedEnv(t, d, policy)
		private := e.webhook(native("http://10.0.0.1:8080/hook"))
		redirected := e.webhook(native(redirect.URL))
		e.lead(e.admin, "ssrf")
		for _, h := range []Webhook{private, redirected} {
			ds := e.settled(h.ID, 1, 15*time.Second)
			if ds[0].Status != StatusFailed || ds[0].Attempts != 1 || !strings.Contains(ds[0].LastError, "httpx: refused") {
				t.Errorf("%s: delivery %+v", h.URL, ds[0])
			}
		}
		time.Sleep(150 * time.Millisecond) // a retry would come within the 100 ms backoff cap
		for _, h := range []Webhook{private, redirected} {
			if ds := e.deliveries(h.ID); ds[0].Attempts != 1 {
				t.Errorf("%s retried: %+v", h.URL, ds[0])
			}
		}
	})
}

// Stopping Obmen mid-stream and starting it again loses and repeats
// nothing for a receiver that honours the event id.
func TestRestartMidStream(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		rc := &receiver{answer: func(n int, _ received) (int, time.Duration) {
			if n%7 == 3 {
				return http.StatusBadGateway, 0
			}
			return http.StatusOK, 2 * time.Millisecond
		}}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		// This test is about the restart: a request that outlives the
		// client's timeout on a busy machine would be a legitimate
		// duplicate (the receiver processed it, the sender never heard),
		// so the timeout here is far beyond any answer's delay.
		policy := loopback
		policy.TotalTimeout = 30 * time.Second
		e := newStartedEnv(t, d, policy)
		h := e.webhook(native(srv.URL))
		const n = 120
		for i := range n {
			e.lead(e.admin, fmt.Sprint("lead ", i))
			if i == n/2 {
				e.stop()
			}
			if i == n/2+20 {
				e.start()
			}
		}
		ds := e.settled(h.ID, n, 60*time.Second)
		if len(ds) != n {
			t.Fatalf("%d deliveries, want %d", len(ds), n)
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for _, x := range ds {
			id := strconv.FormatInt(x.EventID, 10)
			if x.Status != StatusDelivered || !rc.processed[id] {
				t.Errorf("event %s: %s, processed %v", id, x.Status, rc.processed[id])
			}
			if rc.arrivals[id] != 1 {
				t.Errorf("event %s answered 2xx %d times", id, rc.arrivals[id])
			}
		}
		if len(rc.processed) != n {
			t.Errorf("%d events processed, want %d", len(rc.processed), n)
		}
	})
}

func TestManualRetry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		var up atomic.Bool
		rc := &receiver{answer: func(int, received) (int, time.Duration) {
			if up.Load() {
				return http.StatusOK, 0
			}
			return http.StatusInternalServerError, 0
		}}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		// Retries come every 10–100 ms; two seconds of age leave room for
		// several even when a loaded machine starts the first one late.
		e := newStartedEnv(t, d, loopback, WithMaxAge(2*time.Second))
		h := e.webhook(native(srv.URL))
		e.lead(e.admin, "retry me")
		ds := e.settled(h.ID, 1, 15*time.Second)
		if ds[0].Status != StatusFailed || ds[0].Attempts < 2 || ds[0].LastError != "HTTP 500" {
			t.Fatalf("after max age: %+v", ds[0])
		}
		up.Store(true)
		if err := e.service().Retry(context.Background(), ds[0].ID); err != nil {
			t.Fatal(err)
		}
		ds = e.settled(h.ID, 1, 15*time.Second)
		if ds[0].Status != StatusDelivered {
			t.Fatalf("after retry: %+v", ds[0])
		}
		if err := e.service().Retry(context.Background(), ds[0].ID); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("retry of a delivered one: %v", err)
		}
	})
}

func TestBlockedErrorIsTyped(t *testing.T) {
	// The worker recognises refusals by type; make sure the client wraps
	// them so that errors.As finds them.
	c := httpx.NewOutboundClient(httpx.OutboundPolicy{})
	_, err := c.Get("http://10.0.0.1:1/")
	var b *httpx.BlockedError
	if !errors.As(err, &b) {
		t.Fatalf("%T %v", err, err)
	}
}
