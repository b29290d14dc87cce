// Package delivery sends the change-event log to outbound webhooks: Bitrix24
// style form posts, so that handlers written for Bitrix24 work unchanged,
// and Obmen's own signed JSON. This file builds the requests; sending,
// retries and ordering live beside it.
package delivery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/events"
)

// bitrixEntity maps our entities to the names in Bitrix24 event codes.
var bitrixEntity = map[string]string{
	"lead": "LEAD", "deal": "DEAL", "contact": "CONTACT", "account": "COMPANY",
	"product": "PRODUCT", "activity": "ACTIVITY", "invoice": "INVOICE",
}

// bitrixAction maps our actions to Bitrix24's event suffixes. Bitrix24 has
// no restore event: a restored record is announced as added again; a
// conversion changes the lead, an update.
var bitrixAction = map[string]string{
	events.Create: "ADD", events.Update: "UPDATE", events.Convert: "UPDATE", "comment": "UPDATE",
	events.Delete: "DELETE", events.Purge: "DELETE", events.Restore: "ADD",
}

// BitrixEventName is the Bitrix24 event code of a change ("ONCRMLEADADD"),
// or "" when Bitrix24 has no event for it.
func BitrixEventName(entity, action string) string {
	e, ok := bitrixEntity[entity]
	if !ok {
		return ""
	}
	a, ok := bitrixAction[action]
	if !ok {
		return ""
	}
	return "ONCRM" + e + a
}

// invoiceSetStatus is raised, besides ONCRMINVOICEUPDATE, by a change of
// an invoice's status.
const invoiceSetStatus = "ONCRMINVOICESETSTATUS"

// BitrixEventNames lists every code a subscription may choose.
func BitrixEventNames() []string {
	var out []string
	for _, e := range []string{"LEAD", "DEAL", "CONTACT", "COMPANY", "PRODUCT", "ACTIVITY", "INVOICE"} {
		for _, a := range []string{"ADD", "UPDATE", "DELETE"} {
			out = append(out, "ONCRM"+e+a)
		}
	}
	return append(out, invoiceSetStatus)
}

// bitrixEventsOf are the Bitrix24 event codes a change raises: its
// BitrixEventName, and ONCRMINVOICESETSTATUS when it changes an invoice's
// status.
func bitrixEventsOf(ev *events.Event) []string {
	name := BitrixEventName(ev.Entity, ev.Action)
	if name == "" {
		return nil
	}
	if ev.Entity == "invoice" && ev.Action == events.Update && changesField(ev, "status") {
		return []string{name, invoiceSetStatus}
	}
	return []string{name}
}

// changesField says whether the change touches field; the dispatcher reads
// events raw (Encoded), so those are looked into without decoding values.
func changesField(ev *events.Event, field string) bool {
	if ev.Changes != nil {
		_, ok := ev.Changes[field]
		return ok
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(ev.Encoded, &keys) != nil {
		return false
	}
	_, ok := keys[field]
	return ok
}

// bitrixEventFor is the code a Bitrix24-style webhook is sent for a
// change: the first of the change's codes it subscribed to. A webhook that
// chose both ONCRMINVOICEUPDATE and ONCRMINVOICESETSTATUS gets one post
// (a delivery is one per webhook and change), for the update.
func bitrixEventFor(w *Webhook, ev *events.Event) string {
	for _, name := range bitrixEventsOf(ev) {
		if slices.Contains(w.Events, name) {
			return name
		}
	}
	return ""
}

// Portal describes this Obmen as a Bitrix24 portal for the auth[] block.
type Portal struct {
	Domain   string // host name users reach Obmen by
	MemberID string // stable id of this installation
	// BaseURL is how clients reach Obmen (http://127.0.0.1:8080 on a
	// loopback test); client_endpoint is BaseURL/rest/. Empty: https://Domain.
	BaseURL string
}

// BitrixForm is the body Bitrix24 posts to an outgoing-webhook handler:
//
//	event=ONCRMDEALUPDATE&event_handler_id=7&data[FIELDS][ID]=39&ts=1707749333
//	&auth[domain]=…&auth[client_endpoint]=https://…/rest/&auth[server_endpoint]=…
//	&auth[member_id]=…&auth[scope]=crm&auth[status]=L&auth[application_token]=…
//
// auth[scope] and auth[status] are required fields of the block
// (b24restdocs _includes/auth-params-in-events.md): every event Obmen
// raises is of the crm scope, and an outgoing webhook is a local
// application (L). No access_token is sent: an outgoing webhook gets
// none, and the handler answers back through its incoming webhook.
func BitrixForm(ev events.Event, event string, handlerID int64, token string, p Portal) url.Values {
	endpoint := "https://" + p.Domain + "/rest/"
	if p.BaseURL != "" {
		endpoint = strings.TrimRight(p.BaseURL, "/") + "/rest/"
	}
	v := url.Values{}
	v.Set("event", event)
	v.Set("event_handler_id", strconv.FormatInt(handlerID, 10))
	v.Set("data[FIELDS][ID]", strconv.FormatInt(ev.RecordID, 10))
	v.Set("ts", strconv.FormatInt(ev.CreatedAt.Unix(), 10))
	v.Set("auth[domain]", p.Domain)
	v.Set("auth[client_endpoint]", endpoint)
	v.Set("auth[server_endpoint]", endpoint)
	v.Set("auth[member_id]", p.MemberID)
	v.Set("auth[scope]", "crm")
	v.Set("auth[status]", "L")
	v.Set("auth[application_token]", token)
	return v
}

// NativePayload is the JSON body of an Obmen webhook: the event as the log
// holds it.
type NativePayload struct {
	EventID   int64                    `json:"event_id"`
	Entity    string                   `json:"entity"`
	RecordID  int64                    `json:"record_id"`
	Action    string                   `json:"action"`
	Changes   map[string]events.Change `json:"changes"`
	Actor     string                   `json:"actor"`
	CreatedAt time.Time                `json:"created_at"`
}

// Headers of native deliveries.
const (
	HeaderEventID   = "Obmen-Event-Id"
	HeaderSignature = "Obmen-Signature"
)

// nativeBody is NativePayload as it is written: Changes are the event's
// Encoded as the log holds them, or its Changes.
type nativeBody struct {
	EventID   int64     `json:"event_id"`
	Entity    string    `json:"entity"`
	RecordID  int64     `json:"record_id"`
	Action    string    `json:"action"`
	Changes   any       `json:"changes"`
	Actor     string    `json:"actor"`
	CreatedAt time.Time `json:"created_at"`
}

// NativeBody encodes an event for a native webhook. An event read raw
// (Encoded) is passed on without decoding its changes: the log holds them
// as json.Marshal wrote them, so the body is the same byte for byte.
func NativeBody(ev events.Event) ([]byte, error) {
	b := nativeBody{EventID: ev.ID, Entity: ev.Entity, RecordID: ev.RecordID, Action: ev.Action,
		Changes: ev.Changes, Actor: ev.Actor, CreatedAt: ev.CreatedAt}
	if ev.Encoded != nil {
		b.Changes = ev.Encoded
	}
	body, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("delivery: event %d: encode body: %w", ev.ID, err)
	}
	return body, nil
}

// Sign returns the signature header value of a native delivery:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">". The timestamp
// inside the MAC lets a receiver refuse old replays.
func Sign(secret []byte, body []byte, at time.Time) string {
	t := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(t))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + t + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header against the body, refusing timestamps
// further than tolerance from now. Receivers written in Go can use it.
func Verify(secret, body []byte, header string, now time.Time, tolerance time.Duration) error {
	var t, v1 string
	for _, part := range strings.Split(header, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			t = val
		case "v1":
			v1 = val
		}
	}
	ts, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v1 == "" {
		return fmt.Errorf("delivery: malformed %s header", HeaderSignature)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("delivery: signature timestamp is %s away from now", d.Round(time.Second))
	}
	want := Sign(secret, body, time.Unix(ts, 0))
	if !hmac.Equal([]byte(want), []byte("t="+t+",v1="+v1)) {
		return fmt.Errorf("delivery: signature does not match")
	}
	return nil
}
