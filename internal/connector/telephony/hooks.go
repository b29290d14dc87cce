package telephony

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// maxNotification bounds a notification's body.
const maxNotification = 64 << 10

// NewCalls is the notifications' side of the connector.
func NewCalls(d Deps) *Calls {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Calls{d: d, wake: make(chan struct{}, 1)}
}

// Receiver takes the Zadarma and Mango connections' notifications at
// their hook URL (/hooks/c/{token}, made on the connection's page or by
// POST /api/v1/connections/{id}/hook; Mango posts to it followed by
// /events/call, /events/summary or /events/recording). Each becomes the
// call's activity, whose changes run the call.* triggers.
func (cs *Calls) Receiver() automation.PushReceiver {
	return automation.PushReceiver{Connection: TypeZadarma + "|" + TypeMango,
		Feeds:   []string{TriggerIncoming, TriggerMissed, TriggerFinished, TriggerRecorded},
		Receive: cs.receive}
}

// receive takes one notification: it answers with what became of it, as
// JSON ({"result": "created", "activity_id": …}), or an *httpx.Error.
func (cs *Calls) receive(ctx context.Context, req *automation.PushRequest) error {
	id, r := req.Connection, req.Request
	conn, set, err := cs.d.Conns.Open(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return httpx.Errorf(http.StatusNotFound, "not_found", "", "no hook at this address")
	}
	if err != nil {
		cs.d.Log.Error("telephony: open connection", "connection", id, "err", err)
		return httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "try again later")
	}
	// Zadarma checks the address by GET ?zd_echo=… and expects it back.
	if echo := r.URL.Query().Get("zd_echo"); echo != "" && conn.Type == TypeZadarma && req.Path == "" {
		if len(echo) > 200 {
			return httpx.Errorf(http.StatusBadRequest, "bad_request", "zd_echo", "longer than 200 characters")
		}
		req.Reply = &automation.PushReply{ContentType: "text/plain; charset=utf-8", Body: []byte(echo)}
		return nil
	}
	if r.Method != http.MethodPost {
		return httpx.Errorf(http.StatusMethodNotAllowed, "method_not_allowed", "", "notifications are POSTed")
	}
	if len(req.Body) > maxNotification {
		msg := fmt.Sprintf("the body is over %d bytes", maxNotification)
		cs.journal(ctx, id, "", "", "failed", 0, msg)
		return httpx.Errorf(http.StatusRequestEntityTooLarge, "body_too_large", "", "%s", msg)
	}
	form, err := url.ParseQuery(string(req.Body))
	if err != nil {
		cs.journal(ctx, id, "", "", "failed", 0, "the form body does not parse: "+err.Error())
		return httpx.Errorf(http.StatusBadRequest, "invalid_form", "", "the form body does not parse: %v", err)
	}
	var call Call
	var event string
	switch conn.Type {
	case TypeZadarma:
		if req.Path != "" {
			return httpx.Errorf(http.StatusNotFound, "not_found", "", "no hook at this address")
		}
		z := ZadarmaOf(set)
		n, err := ParseZadarma(form, r.Header.Get("Signature"), z.Secret, zoneOf(set))
		event, call = n.Event, n.Call
		if err == nil && n.RecordingID != "" {
			call.Recording, err = cs.zadarmaRecording(ctx, z, n)
		}
		if err != nil {
			return cs.refuse(ctx, id, event, n.Call.ID, err)
		}
	case TypeMango:
		m := MangoOf(set)
		kind, ok := strings.CutPrefix(req.Path, "events/")
		if !ok || kind == "" || strings.Contains(kind, "/") {
			return cs.refuse(ctx, id, "", "", bad("path", "Mango posts to this address followed by /events/call, /events/summary or /events/recording"))
		}
		n, err := ParseMango("events/"+kind, form, m.Key, m.Salt)
		event, call = n.Event, n.Call
		if err != nil {
			return cs.refuse(ctx, id, event, n.Call.ID, err)
		}
		if n.RecordingID != "" {
			// The link is signed to play for 30 days: the manager
			// listens to it from the activity.
			call.Recording = MangoRecordingLink(m.url(), m.Key, m.Salt, n.RecordingID, cs.d.Now().Add(30*24*time.Hour))
		}
	default:
		return httpx.Errorf(http.StatusNotFound, "not_found", "", "no hook at this address")
	}
	if call.ID == "" {
		cs.journal(ctx, id, event, "", "ignored", 0, "")
		return reply(req, map[string]any{"result": "ignored", "event": event})
	}
	res, err := cs.Ingest(ctx, conn, set, call)
	if err != nil {
		var inv *crm.FieldError
		if errors.As(err, &inv) {
			return cs.refuse(ctx, id, event, call.ID, bad(inv.Field, "%s", inv.Message))
		}
		cs.d.Log.Error("telephony: notification", "connection", id, "event", event, "call", call.ID, "err", err)
		cs.journal(ctx, id, event, call.ID, "failed", 0, err.Error())
		return httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "the call could not be recorded; send it again")
	}
	outcome := "repeat"
	switch {
	case res.Created:
		outcome = "created"
	case res.Changed:
		outcome = "updated"
	}
	cs.journal(ctx, id, event, call.ID, outcome, res.ActivityID, "")
	return reply(req, map[string]any{"result": outcome, "activity_id": res.ActivityID})
}

// reply answers the provider with v as JSON.
func reply(req *automation.PushRequest, v map[string]any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req.Reply = &automation.PushReply{ContentType: "application/json", Body: b}
	return nil
}

// refuse journals a bad notification and answers it precisely.
func (cs *Calls) refuse(ctx context.Context, id int64, event, callID string, err error) error {
	var b *BadNotification
	if !errors.As(err, &b) {
		// Not the notification's fault: the provider's API (a recording's
		// link) did not answer.
		cs.journal(ctx, id, event, callID, "failed", 0, err.Error())
		return httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "%v; send it again", err)
	}
	cs.journal(ctx, id, event, callID, "failed", 0, b.Error())
	status, code := http.StatusBadRequest, "invalid_notification"
	if b.Auth {
		status, code = http.StatusUnauthorized, "bad_signature"
	}
	return httpx.Errorf(status, code, b.Field, "%s", b.Message)
}

func (cs *Calls) journal(ctx context.Context, connID int64, event, callID, outcome string, activityID int64, msg string) {
	e := connection.JournalEntry{Event: event, Ref: callID, Outcome: outcome, RecordID: activityID, Error: msg}
	if err := connection.WriteJournal(ctx, cs.d.DB, connID, cs.d.Now(), e); err != nil {
		cs.d.Log.Error("telephony: journal", "connection", connID, "err", err)
	}
}

// Journal lists a connection's last notifications, newest first: Event
// is the provider's, Ref the call's id, RecordID the call's activity.
func (cs *Calls) Journal(ctx context.Context, connID int64, limit int) ([]connection.JournalEntry, error) {
	return connection.ReadJournal(ctx, cs.d.DB, connID, limit)
}

// zoneOf is the time zone Zadarma's times are in (the account's).
func zoneOf(s connection.Settings) *time.Location {
	if name := strings.TrimSpace(s.String("time_zone")); name != "" {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc
		}
	}
	return time.FixedZone("MSK", 3*3600)
}

// zadarmaRecording asks Zadarma for a link to a recording that lives as
// long as Zadarma allows (60 days).
func (cs *Calls) zadarmaRecording(ctx context.Context, a ZadarmaAccount, n ZadarmaNotification) (string, error) {
	z := Zadarma{Account: a, HTTP: cs.d.HTTP}
	ans, err := z.getRaw(ctx, "/v1/pbx/record/request/", url.Values{"call_id": {n.RecordingID}, "lifetime": {"5184000"}})
	if err != nil {
		return "", fmt.Errorf("zadarma: the link to recording %s: %w", n.RecordingID, err)
	}
	var links struct {
		Link  string   `json:"link"`
		Links []string `json:"links"`
	}
	if err := decodeJSON(ans, &links); err != nil {
		return "", fmt.Errorf("zadarma: the link to recording %s: %w", n.RecordingID, err)
	}
	link := links.Link
	if link == "" && len(links.Links) > 0 {
		link = links.Links[0]
	}
	if !strings.HasPrefix(link, "https://") && !strings.HasPrefix(link, "http://") {
		return "", fmt.Errorf("zadarma: the link to recording %s: %q is not a link", n.RecordingID, link)
	}
	return link, nil
}
