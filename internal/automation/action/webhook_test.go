package action

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/delivery"
	"github.com/obmen/obmen/internal/httpx"
)

func TestWebhookSend(t *testing.T) {
	t.Parallel()
	e := actionsWith(t, httpx.NewOutboundClient(loopback))
	rc, url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"accepted": true}`)
	})
	in := map[string]any{"url": url + "/hook", "secret": "whsec-1", "event": "order.paid",
		"data": map[string]any{"order": "SO-17", "sum": 1500.5}}

	c := e.call()
	out := e.ok(c, "webhook.send", in)
	body, _ := out["body"].(map[string]any)
	if out["status"] != int64(200) || body["accepted"] != true {
		t.Fatalf("output: %v", out)
	}
	got := rc.last(t)
	// The receiver verifies it with delivery's own code.
	if err := delivery.Verify([]byte("whsec-1"), []byte(got.body), got.header.Get(delivery.HeaderSignature), time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("signature: %v (%q)", err, got.header.Get(delivery.HeaderSignature))
	}
	if err := delivery.Verify([]byte("other"), []byte(got.body), got.header.Get(delivery.HeaderSignature), time.Now(), 5*time.Minute); err == nil {
		t.Fatal("verified with another secret")
	}
	var p struct {
		Event    string         `json:"event"`
		Data     map[string]any `json:"data"`
		BundleID int64          `json:"bundle_id"`
		RunID    int64          `json:"run_id"`
		SentAt   time.Time      `json:"sent_at"`
	}
	if err := json.Unmarshal([]byte(got.body), &p); err != nil {
		t.Fatal(err)
	}
	if got.method != "POST" || got.header.Get("Content-Type") != "application/json" || p.Event != "order.paid" || p.Data["order"] != "SO-17" ||
		p.BundleID != c.BundleID || p.RunID != c.RunID || time.Since(p.SentAt) > time.Minute {
		t.Errorf("payload: %+v %+v", got, p)
	}
	// Every attempt of the step carries the step's key, so the receiver
	// can drop a repeat.
	key := got.header.Get(HeaderIdempotencyKey)
	c.Attempt = 2
	e.ok(c, "webhook.send", in)
	if key != c.Key() || rc.last(t).header.Get(HeaderIdempotencyKey) != key {
		t.Errorf("idempotency keys: %q %q, step %q", key, rc.last(t).header.Get(HeaderIdempotencyKey), c.Key())
	}

	n := rc.count()
	res, err := e.run(e.dry(), "webhook.send", in)
	if err != nil {
		t.Fatal(err)
	}
	if send := wantPreview(t, res, "POST "+url+"/hook"); send["event"] != "order.paid" {
		t.Errorf("preview: %v", send)
	}
	if rc.count() != n {
		t.Error("test mode sent")
	}

	e.fails(e.call(), "webhook.send", map[string]any{"url": url, "secret": "s", "event": "заказ оплачен"}, "event")
	e.fails(e.call(), "webhook.send", map[string]any{"url": url, "event": "x"}, "secret")
	e.fails(e.call(), "webhook.send", map[string]any{"url": "mailto:a@b.ru", "secret": "s", "event": "x"}, "url")

	_, fail := serve(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	_, err = e.run(e.call(), "webhook.send", map[string]any{"url": fail, "secret": "s", "event": "x"})
	transientAfter(t, err, 0, 0)
	_, gone := serve(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) })
	_, err = e.run(e.call(), "webhook.send", map[string]any{"url": gone, "secret": "s", "event": "x"})
	if ok, _ := automation.IsTransient(err); err == nil || ok {
		t.Errorf("410: %v", err)
	}

	a, _ := e.reg.Action("webhook.send")
	for _, f := range a.Describe().Input {
		if (f.Name == "secret") != f.Secret {
			t.Errorf("%s: secret %v", f.Name, f.Secret)
		}
	}
}
