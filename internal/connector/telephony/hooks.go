package telephony

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// HookPath is where the providers send their notifications: one address
// per connection, /hooks/telephony/{token} (Mango appends events/…).
const HookPath = "/hooks/telephony/"

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
	// A provider sends every call's notifications from a few addresses:
	// 100 a second from one address (a busy call centre's four per call)
	// and 200 a second to one connection, each after a burst of 1,000.
	// The tokens themselves cannot be guessed (a 144-bit MAC).
	return &Calls{d: d, wake: make(chan struct{}, 1), ipLimit: httpx.NewLimiter(10*time.Millisecond, 1000), connLimit: httpx.NewLimiter(5*time.Millisecond, 1000)}
}

// HookToken is connection id's token: the id and a MAC of it under the
// server's derived key, so that no table holds it and it cannot be
// guessed.
func (cs *Calls) HookToken(id int64) string {
	m := hmac.New(sha256.New, cs.d.HookKey)
	m.Write([]byte("telephony hook " + strconv.FormatInt(id, 10)))
	return strconv.FormatInt(id, 10) + "-" + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// HookURL is the address to give the provider.
func (cs *Calls) HookURL(id int64) string {
	return strings.TrimRight(cs.d.BaseURL, "/") + HookPath + cs.HookToken(id)
}

// connOf is the connection a token names.
func (cs *Calls) connOf(token string) (int64, bool) {
	idPart, _, ok := strings.Cut(token, "-")
	if !ok || len(token) > 80 {
		return 0, false
	}
	id, err := strconv.ParseInt(idPart, 10, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	return id, hmac.Equal([]byte(cs.HookToken(id)), []byte(token))
}

// Register serves the notifications.
func (cs *Calls) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+HookPath+"{token}", cs.serve)
	mux.HandleFunc("POST "+HookPath+"{token}", cs.serve)
	mux.HandleFunc("POST "+HookPath+"{token}/events/{kind}", cs.serve)
}

func (cs *Calls) serve(w http.ResponseWriter, r *http.Request) {
	if ok, wait := cs.ipLimit.Allow("ip:" + httpx.ClientIP(r)); !ok {
		httpx.TooManyRequests(w, wait)
		return
	}
	notFound := httpx.Errorf(http.StatusNotFound, "not_found", "", "no telephony notifications at this address")
	id, ok := cs.connOf(r.PathValue("token"))
	if !ok {
		httpx.WriteError(w, notFound)
		return
	}
	if ok, wait := cs.connLimit.Allow("conn:" + strconv.FormatInt(id, 10)); !ok {
		httpx.TooManyRequests(w, wait)
		return
	}
	ctx := r.Context()
	conn, set, err := cs.d.Conns.Open(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		httpx.WriteError(w, notFound)
		return
	}
	if err != nil {
		cs.d.Log.Error("telephony: open connection", "connection", id, "err", err)
		httpx.WriteError(w, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "try again later"))
		return
	}
	// Zadarma checks the address by GET ?zd_echo=… and expects it back.
	if echo := r.URL.Query().Get("zd_echo"); echo != "" && conn.Type == TypeZadarma {
		if len(echo) > 200 {
			httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "bad_request", "zd_echo", "longer than 200 characters"))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(echo))
		return
	}
	if r.Method != http.MethodPost {
		httpx.WriteError(w, httpx.Errorf(http.StatusMethodNotAllowed, "method_not_allowed", "", "notifications are POSTed"))
		return
	}
	body, herr := httpx.ReadBody(r, maxNotification)
	if herr != nil {
		cs.journal(ctx, id, "", "", "failed", 0, herr.Error())
		httpx.WriteError(w, herr)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		cs.journal(ctx, id, "", "", "failed", 0, "the form body does not parse: "+err.Error())
		httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "invalid_form", "", "the form body does not parse: %v", err))
		return
	}
	var call Call
	var event string
	switch conn.Type {
	case TypeZadarma:
		z := ZadarmaOf(set)
		n, err := ParseZadarma(form, r.Header.Get("Signature"), z.Secret, zoneOf(set))
		event, call = n.Event, n.Call
		if err == nil && n.RecordingID != "" {
			call.Recording, err = cs.zadarmaRecording(ctx, z, n)
		}
		if err != nil {
			cs.refuse(ctx, w, id, event, n.Call.ID, err)
			return
		}
	case TypeMango:
		m := MangoOf(set)
		kind := r.PathValue("kind")
		if kind == "" {
			cs.refuse(ctx, w, id, "", "", bad("path", "Mango posts to this address followed by /events/call, /events/summary or /events/recording"))
			return
		}
		n, err := ParseMango("events/"+kind, form, m.Key, m.Salt)
		event, call = n.Event, n.Call
		if err != nil {
			cs.refuse(ctx, w, id, event, n.Call.ID, err)
			return
		}
		if n.RecordingID != "" {
			// The link is signed to play for 30 days: the manager
			// listens to it from the activity.
			call.Recording = MangoRecordingLink(m.url(), m.Key, m.Salt, n.RecordingID, cs.d.Now().Add(30*24*time.Hour))
		}
	default:
		httpx.WriteError(w, notFound)
		return
	}
	if call.ID == "" {
		cs.journal(ctx, id, event, "", "ignored", 0, "")
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"result": "ignored", "event": event})
		return
	}
	res, err := cs.Ingest(ctx, conn, set, call)
	if err != nil {
		var inv *crm.FieldError
		if errors.As(err, &inv) {
			cs.refuse(ctx, w, id, event, call.ID, bad(inv.Field, "%s", inv.Message))
			return
		}
		cs.d.Log.Error("telephony: notification", "connection", id, "event", event, "call", call.ID, "err", err)
		cs.journal(ctx, id, event, call.ID, "failed", 0, err.Error())
		httpx.WriteError(w, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "the call could not be recorded; send it again"))
		return
	}
	outcome := "repeat"
	switch {
	case res.Created:
		outcome = "created"
	case res.Changed:
		outcome = "updated"
	}
	cs.journal(ctx, id, event, call.ID, outcome, res.ActivityID, "")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"result": outcome, "activity_id": res.ActivityID})
}

// refuse answers a bad notification precisely and journals it.
func (cs *Calls) refuse(ctx context.Context, w http.ResponseWriter, id int64, event, callID string, err error) {
	var b *BadNotification
	if !errors.As(err, &b) {
		// Not the notification's fault: the provider's API (a recording's
		// link) did not answer.
		cs.journal(ctx, id, event, callID, "failed", 0, err.Error())
		httpx.WriteError(w, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "%v; send it again", err))
		return
	}
	cs.journal(ctx, id, event, callID, "failed", 0, b.Error())
	status, code := http.StatusBadRequest, "invalid_notification"
	if b.Auth {
		status, code = http.StatusUnauthorized, "bad_signature"
	}
	httpx.WriteError(w, httpx.Errorf(status, code, b.Field, "%s", b.Message))
}

func (cs *Calls) journal(ctx context.Context, connID int64, event, callID, outcome string, activityID int64, msg string) {
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	err := cs.d.DB.Write(context.WithoutCancel(ctx), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO telephony_journal (connection_id, event, call_id, outcome, activity_id, error, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, connID, event, callID, outcome, activityID, msg, cs.d.Now().UnixMicro())
		return err
	})
	if err != nil {
		cs.d.Log.Error("telephony: journal", "connection", connID, "err", err)
	}
}

// JournalEntry is one notification received.
type JournalEntry struct {
	ID         int64     `json:"id"`
	Event      string    `json:"event"`
	CallID     string    `json:"call_id"`
	Outcome    string    `json:"outcome"`
	ActivityID int64     `json:"activity_id,omitempty"`
	Error      string    `json:"error,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// Journal lists a connection's last notifications, newest first.
func (cs *Calls) Journal(ctx context.Context, connID int64, limit int) ([]JournalEntry, error) {
	rows, err := cs.d.DB.Read.QueryContext(ctx, `SELECT id, event, call_id, outcome, activity_id, error, created_at FROM telephony_journal
		WHERE connection_id = $1 ORDER BY id DESC LIMIT $2`, connID, limit)
	if err != nil {
		return nil, fmt.Errorf("telephony: journal of connection %d: %w", connID, err)
	}
	defer rows.Close()
	out := []JournalEntry{}
	for rows.Next() {
		var e JournalEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.Event, &e.CallID, &e.Outcome, &e.ActivityID, &e.Error, &at); err != nil {
			return nil, fmt.Errorf("telephony: journal of connection %d: %w", connID, err)
		}
		e.CreatedAt = time.UnixMicro(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
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
