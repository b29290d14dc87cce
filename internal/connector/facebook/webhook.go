package facebook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// maxDelivery bounds a webhook's body: Meta batches up to 1,000 events,
// each well under a kilobyte.
const maxDelivery = 4 << 20

// Outcomes of a delivery, as the journal keeps them.
const (
	OutcomeVerified  = "verified"
	OutcomeStored    = "stored"
	OutcomeDuplicate = "duplicate"
	OutcomeIgnored   = "ignored"
	OutcomeRefused   = "refused"
	OutcomeFailed    = "failed"
)

// Payload is a webhook delivery of the "page" object
// (developers.facebook.com/docs/messenger-platform/webhooks).
type Payload struct {
	Object string  `json:"object"`
	Entry  []Entry `json:"entry"`
}

// Entry is one Page's events.
type Entry struct {
	ID        string  `json:"id"`
	Time      int64   `json:"time"`
	Messaging []Event `json:"messaging"`
}

// Event is one messaging event: a message, or a delivery, read,
// postback … that the connector does not store.
type Event struct {
	Sender    Party    `json:"sender"`
	Recipient Party    `json:"recipient"`
	Timestamp int64    `json:"timestamp"` // milliseconds
	Message   *Message `json:"message"`
}

// Party is the sender or the recipient: a PSID or the Page's id.
type Party struct {
	ID string `json:"id"`
}

// Message is the "messages" event's message.
type Message struct {
	MID         string       `json:"mid"`
	Text        string       `json:"text"`
	IsEcho      bool         `json:"is_echo"`
	Attachments []Attachment `json:"attachments"`
}

// Attachment is a file or a sticker; its URL is Meta's CDN's.
type Attachment struct {
	Type    string `json:"type"`
	Payload struct {
		URL string `json:"url"`
	} `json:"payload"`
}

// ParseDelivery reads a webhook body: a "page" object with its entries,
// each event's sender named. It names what is wrong.
func ParseDelivery(body []byte) (Payload, error) {
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil {
		return p, fmt.Errorf("facebook: the delivery is not JSON: %w", err)
	}
	if p.Object != "page" {
		return p, fmt.Errorf("facebook: object %q, not \"page\" (is the webhook subscribed to the Page?)", p.Object)
	}
	for i, e := range p.Entry {
		for j, ev := range e.Messaging {
			if ev.Message != nil && (ev.Sender.ID == "" || ev.Message.MID == "") {
				return p, fmt.Errorf("facebook: entry[%d].messaging[%d]: a message without sender.id or mid", i, j)
			}
			if len(ev.Sender.ID) > 64 || ev.Message != nil && len(ev.Message.MID) > 255 {
				return p, fmt.Errorf("facebook: entry[%d].messaging[%d]: an id over its length", i, j)
			}
		}
	}
	return p, nil
}

// ValidSignature says header (X-Hub-Signature-256: "sha256=<hex>") is
// the HMAC-SHA256 of body keyed by the App Secret, in constant time.
func ValidSignature(header string, body []byte, appSecret string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || appSecret == "" {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// Register serves the webhook: GET (Meta's verification) and POST (the
// events) at /hooks/facebook/{connection_id}.
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+HookPrefix+"{connection_id}", s.ServeVerify)
	mux.HandleFunc("POST "+HookPrefix+"{connection_id}", s.ServeWebhook)
}

// hookPage opens the connection of a webhook's path, answering 404 (or
// 503) itself when it cannot.
func (s *Service) hookPage(w http.ResponseWriter, r *http.Request) (page, bool) {
	return connector.HookConnection(w, r, s.d.Log, "facebook", s.open)
}

// ServeVerify answers Meta's verification of the callback URL: with
// hub.mode=subscribe and the connection's verify token, the
// hub.challenge back; else 403 (journalled).
func (s *Service) ServeVerify(w http.ResponseWriter, r *http.Request) {
	p, ok := s.hookPage(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	want, got := p.set.String(SetVerify), q.Get("hub.verify_token")
	challenge := q.Get("hub.challenge")
	switch {
	case q.Get("hub.mode") != "subscribe":
		s.journal(r.Context(), p.conn.ID, "", OutcomeRefused, 0, fmt.Sprintf("hub.mode is %q, not \"subscribe\"", q.Get("hub.mode")))
		http.Error(w, "hub.mode must be subscribe", http.StatusForbidden)
		return
	case want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1:
		s.journal(r.Context(), p.conn.ID, "", OutcomeRefused, 0, "hub.verify_token does not match the connection's verify token")
		http.Error(w, "wrong verify token", http.StatusForbidden)
		return
	case challenge == "" || len(challenge) > 256:
		s.journal(r.Context(), p.conn.ID, "", OutcomeRefused, 0, "hub.challenge is empty or over 256 bytes")
		http.Error(w, "hub.challenge is required", http.StatusBadRequest)
		return
	}
	s.journal(r.Context(), p.conn.ID, "", OutcomeVerified, 0, "")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = io.WriteString(w, challenge)
}

// ServeWebhook takes a delivery of events. It answers 200 only once
// every message in it is stored (Meta sends again what got no 200), 401
// to a body not signed with the App Secret (journalled, nothing stored).
func (s *Service) ServeWebhook(w http.ResponseWriter, r *http.Request) {
	p, ok := s.hookPage(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	id := p.conn.ID
	body, err := io.ReadAll(io.LimitReader(r.Body, maxDelivery+1))
	if err != nil {
		http.Error(w, "reading the body", http.StatusBadRequest)
		return
	}
	sig := r.Header.Get("X-Hub-Signature-256")
	if !ValidSignature(sig, body, p.set.String(SetAppSecret)) {
		what := "the X-Hub-Signature-256 header is missing"
		if sig != "" {
			what = "the X-Hub-Signature-256 header is not the body's HMAC-SHA256 with the connection's App Secret"
		}
		s.journal(ctx, id, "", OutcomeRefused, 0, what)
		http.Error(w, "wrong signature", http.StatusUnauthorized)
		return
	}
	if len(body) > maxDelivery {
		s.journal(ctx, id, "", OutcomeFailed, 0, fmt.Sprintf("the delivery is over %d bytes", maxDelivery))
		http.Error(w, "the delivery is too large", http.StatusRequestEntityTooLarge)
		return
	}
	pl, err := ParseDelivery(body)
	if err != nil {
		s.journal(ctx, id, "", OutcomeFailed, 0, err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	res, err := s.Ingest(ctx, p.conn, p.set, pl)
	if err != nil {
		s.d.Log.Error("facebook: store delivery", "connection", id, "err", err)
		s.journal(ctx, id, "", OutcomeFailed, 0, err.Error())
		// Not stored: Meta will send it again.
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// Result is what became of one message of a delivery.
type Result struct {
	MID       string `json:"mid"`
	Outcome   string `json:"result"`
	MessageID int64  `json:"message_id,omitempty"`
	OwnerType string `json:"owner_type,omitempty"`
	OwnerID   int64  `json:"owner_id,omitempty"`
	NewLead   bool   `json:"new_lead,omitempty"`
}

// Ingest stores a delivery's messages in one transaction — all or none,
// so that a retried delivery never half-repeats — each on the record of
// its conversation: the record the person's earlier messages went to,
// else the contact (then the lead) with their PSID, else a new lead. A
// message stored before (the same PSID and mid) is not stored again.
// Echoes (the Page's own messages) and other events are ignored.
func (s *Service) Ingest(ctx context.Context, conn connection.Connection, set connection.Settings, p Payload) ([]Result, error) {
	names := s.newcomers(ctx, set, p)
	var out []Result
	err := s.d.Store.Write(ctx, crm.Actor{Integration: Integration}, func(t *store.Tx) error {
		out = out[:0]
		for _, e := range p.Entry {
			for _, ev := range e.Messaging {
				if ev.Message == nil {
					continue
				}
				if ev.Message.IsEcho || ev.Sender.ID == e.ID {
					out = append(out, Result{MID: ev.Message.MID, Outcome: OutcomeIgnored})
					continue
				}
				r, err := s.ingestTx(t, conn, set, ev, names[ev.Sender.ID])
				if err != nil {
					return err
				}
				out = append(out, r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, r := range out {
		s.journal(ctx, conn.ID, r.MID, r.Outcome, r.MessageID, "")
	}
	if out == nil {
		out = []Result{}
	}
	return out, nil
}

func (s *Service) ingestTx(t *store.Tx, conn connection.Connection, set connection.Settings, ev Event, who Profile) (Result, error) {
	psid, mid := ev.Sender.ID, ev.Message.MID
	res := Result{MID: mid}
	if old, err := t.MessageByExternal(crm.ChannelFacebook, conn.ID, psid, mid); err == nil {
		res.Outcome, res.MessageID, res.OwnerType, res.OwnerID = OutcomeDuplicate, old.ID, old.OwnerType, old.OwnerID
		return res, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return res, err
	}
	msg := crm.Message{Channel: crm.ChannelFacebook, Direction: crm.DirectionIn, ConnectionID: conn.ID, Handle: "PSID " + psid,
		ChatID: psid, ExternalID: mid, Text: ev.Message.Text, Author: strings.TrimSpace(who.FirstName + " " + who.LastName)}
	for _, a := range ev.Message.Attachments {
		if u := a.Payload.URL; strings.HasPrefix(u, "https://") && len(u) <= 2000 {
			msg.Attachments = append(msg.Attachments, crm.Attachment{Name: a.Type, URL: u})
		}
	}
	if len(msg.Attachments) > 10 {
		msg.Attachments = msg.Attachments[:10]
	}
	if msg.Author == "" {
		// The name was asked for once, with the person's first message.
		if last, err := t.LastChatMessage(crm.ChannelFacebook, conn.ID, psid); err == nil && last.Direction == crm.DirectionIn {
			msg.Author = last.Author
		}
	}
	at := time.UnixMilli(ev.Timestamp).UTC()
	if ev.Timestamp == 0 {
		at = t.Now()
	}
	msg.SentAt = &at
	if strings.TrimSpace(msg.Text) == "" && len(msg.Attachments) == 0 {
		res.Outcome = OutcomeIgnored
		return res, nil
	}
	res.Outcome = OutcomeStored
	owner, ownerID, assigned, err := t.ChatOwner(crm.ChannelFacebook, conn.ID, psid, System, psid)
	if err != nil {
		return res, err
	}
	if ownerID == 0 {
		assigned = connector.AssignedFor(conn, set, SetAssignedTo)
		name := strings.TrimSpace(who.FirstName + " " + who.LastName)
		if name == "" {
			name = psid
		}
		l := crm.Lead{Title: s.t("facebook.lead.title", name), Name: who.FirstName, LastName: who.LastName, SourceID: "OTHER",
			SourceDescription: "Facebook Messenger"}
		l.AssignedByID = assigned
		l.ExternalIDs = map[string]string{System: psid}
		if err := t.AddLead(&l); err != nil {
			return res, fmt.Errorf("facebook: a lead for PSID %s: %w", psid, err)
		}
		owner, ownerID, res.NewLead = store.EntityLead, l.ID, true
	}
	msg.OwnerType, msg.OwnerID, msg.AssignedByID = owner, ownerID, assigned
	if assigned == 0 {
		msg.AssignedByID = connector.AssignedFor(conn, set, SetAssignedTo)
	}
	created, err := t.CreateMessage(msg)
	if err != nil {
		return res, fmt.Errorf("facebook: message %s of PSID %s: %w", mid, psid, err)
	}
	res.MessageID, res.OwnerType, res.OwnerID = created.ID, owner, ownerID
	return res, nil
}

// profileWait bounds the User Profile API's call for a new person: the
// webhook's answer (and Meta's patience) must not wait on it.
const profileWait = 3 * time.Second

// newcomers asks the User Profile API for the names of a delivery's
// senders no record knows yet, so that their lead is named after them.
// A failure leaves the name out (the lead is named by the PSID): the
// message matters, not the name.
func (s *Service) newcomers(ctx context.Context, set connection.Settings, p Payload) map[string]Profile {
	out := map[string]Profile{}
	c := clientOf(set, s.d.HTTP)
	for _, e := range p.Entry {
		for _, ev := range e.Messaging {
			psid := ev.Sender.ID
			if ev.Message == nil || ev.Message.IsEcho || psid == e.ID {
				continue
			}
			if _, seen := out[psid]; seen {
				continue
			}
			out[psid] = Profile{}
			if known, err := s.known(ctx, psid); err != nil || known {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, profileWait)
			pr, err := c.Profile(pctx, psid)
			cancel()
			if err != nil {
				s.d.Log.Warn("facebook: profile", "psid", psid, "err", err)
				continue
			}
			out[psid] = Profile{FirstName: crm.ClipText(pr.FirstName, 100), LastName: crm.ClipText(pr.LastName, 100)}
		}
	}
	return out
}

// known says a record or a conversation has the PSID already.
func (s *Service) known(ctx context.Context, psid string) (bool, error) {
	ctx = store.Unscoped(ctx)
	for _, entity := range []string{store.EntityContact, store.EntityLead} {
		id, err := s.d.Store.FindByExternalID(ctx, entity, System, psid)
		if err == nil && id != 0 {
			return true, nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
	}
	ms, _, err := s.d.Store.ListMessages(ctx, store.ListParams{Limit: 1, Filters: []store.Filter{
		{Field: "channel", Op: "eq", Value: crm.ChannelFacebook}, {Field: "chat_id", Op: "eq", Value: psid}}})
	return len(ms) > 0, err
}

// journal records what became of a delivery's message (or a refused
// request): Ref is its mid, RecordID the message it made.
func (s *Service) journal(ctx context.Context, connID int64, eventID, outcome string, messageID int64, msg string) {
	e := connection.JournalEntry{Ref: eventID, Outcome: outcome, RecordID: messageID, Error: msg}
	if err := connection.WriteJournal(ctx, s.d.DB, connID, s.d.Now(), e); err != nil {
		s.d.Log.Error("facebook: journal", "connection", connID, "err", err)
	}
}
