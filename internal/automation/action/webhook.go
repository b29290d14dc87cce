package action

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/delivery"
	"github.com/obmen/obmen/internal/httpx"
)

type webhookIn struct {
	URL    string `json:"url" auto:"required"`
	Secret string `json:"secret" auto:"required,secret"`
	Event  string `json:"event" auto:"required"`
	Data   any    `json:"data"`
}

type webhookOut struct {
	Status int `json:"status"`
	Body   any `json:"body"`
}

// webhookPayload is the body of webhook.send.
type webhookPayload struct {
	Event    string    `json:"event"`
	Data     any       `json:"data"`
	BundleID int64     `json:"bundle_id"`
	RunID    int64     `json:"run_id"`
	SentAt   time.Time `json:"sent_at"`
}

// HeaderIdempotencyKey carries the step's key on webhook.send: the same
// on every attempt of a step, so that a receiver can drop repeats.
const HeaderIdempotencyKey = "Idempotency-Key"

var eventName = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,100}$`)

// webhookSend posts a native Obmen webhook: JSON signed as the outbound
// webhooks of internal/delivery are, verifiable with delivery.Verify.
func webhookSend(d Deps) automation.Action {
	spec := automation.Spec{Name: "webhook.send", Group: GroupHTTP, Writes: true}
	return define[webhookIn, webhookOut](spec, func(ctx context.Context, c *automation.Call, in webhookIn) (any, error) {
		u, err := checkURL("url", in.URL)
		if err != nil {
			return nil, err
		}
		if !eventName.MatchString(in.Event) {
			return nil, automation.InputErrorf("event", "%q: use up to 100 Latin letters, digits and _ . : -", in.Event)
		}
		now := nowOf(c, d).UTC().Truncate(time.Millisecond)
		p := webhookPayload{Event: in.Event, Data: in.Data, BundleID: c.BundleID, RunID: c.RunID, SentAt: now}
		if c.DryRun {
			return automation.Preview{DryRun: true, Would: "POST " + httpx.RedactURL(u.String()), Send: p}, nil
		}
		body, err := json.Marshal(p)
		if err != nil {
			return nil, automation.InputErrorf("data", "%v", err)
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("User-Agent", "Obmen-Webhook/1")
		h.Set(delivery.HeaderSignature, delivery.Sign([]byte(in.Secret), body, now))
		h.Set(HeaderIdempotencyKey, c.Key())
		r, err := send(ctx, d.HTTP, outgoing{method: http.MethodPost, url: u.String(), header: h, body: body})
		if err != nil {
			return nil, err
		}
		return webhookOut{Status: r.Status, Body: r.Body}, nil
	})
}
