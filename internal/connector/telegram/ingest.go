package telegram

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// maxUpdate bounds a webhook's body: an update is a few kilobytes.
const maxUpdate = 1 << 20

// Outcomes of an update, as the journal keeps them.
const (
	OutcomeStored    = "stored"
	OutcomeDuplicate = "duplicate"
	OutcomeIgnored   = "ignored"
	OutcomeRefused   = "refused"
	OutcomeFailed    = "failed"
)

// Result is what became of an update.
type Result struct {
	Outcome   string `json:"result"`
	MessageID int64  `json:"message_id,omitempty"`
	// OwnerType and OwnerID are the record the message went to;
	// NewLead says it was made for this chat.
	OwnerType string `json:"owner_type,omitempty"`
	OwnerID   int64  `json:"owner_id,omitempty"`
	NewLead   bool   `json:"new_lead,omitempty"`
}

// Register serves the webhook: POST /hooks/telegram/{connection_id}.
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+HookPrefix+"{connection_id}", s.ServeWebhook)
}

// ServeWebhook takes one update. It answers 200 only once the message is
// stored (Telegram sends again what got no 2xx), 401 to a request without
// the connection's secret token (journalled, nothing stored).
func (s *Service) ServeWebhook(w http.ResponseWriter, r *http.Request) {
	b, ok := connector.HookConnection(w, r, s.d.Log, "telegram", s.open)
	if !ok {
		return
	}
	ctx, id := r.Context(), b.conn.ID
	want := b.set.String(SetSecret)
	got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
	// Constant time: how long the refusal takes tells nothing of how much
	// of a guess was right. A connection without a secret takes no
	// webhook at all.
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		what := "the X-Telegram-Bot-Api-Secret-Token header is missing"
		if got != "" {
			what = "the X-Telegram-Bot-Api-Secret-Token header does not match the connection's webhook secret"
		}
		s.journal(ctx, id, 0, OutcomeRefused, 0, what)
		http.Error(w, "wrong secret token", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxUpdate+1))
	if err != nil {
		http.Error(w, "reading the body", http.StatusBadRequest)
		return
	}
	if len(body) > maxUpdate {
		s.journal(ctx, id, 0, OutcomeFailed, 0, fmt.Sprintf("the update is over %d bytes", maxUpdate))
		http.Error(w, "the update is too large", http.StatusRequestEntityTooLarge)
		return
	}
	var u Update
	if err := json.Unmarshal(body, &u); err != nil {
		msg := "the update is not JSON: " + err.Error()
		s.journal(ctx, id, 0, OutcomeFailed, 0, msg)
		// A 4xx would make Telegram repeat a malformed update forever.
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	res, err := s.Ingest(ctx, b.conn, b.set, u)
	if err != nil {
		s.d.Log.Error("telegram: store update", "connection", id, "update", u.UpdateID, "err", err)
		s.journal(ctx, id, u.UpdateID, OutcomeFailed, 0, err.Error())
		// Not stored: Telegram will send it again.
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// Ingest stores an update's message on the record of its chat: the record
// the chat's earlier messages went to, else the contact (then the lead)
// with the sender's Telegram id, else the contact with the phone the
// client shared by the contact button, else a new lead. A message stored
// before (the same chat and message id) is not stored again.
func (s *Service) Ingest(ctx context.Context, conn connection.Connection, set map[string]any, u Update) (Result, error) {
	connID := conn.ID
	m := u.Message
	if m == nil || m.Chat.Type != "private" {
		// Edits, channel posts, groups: not a client's message.
		s.journal(ctx, connID, u.UpdateID, OutcomeIgnored, 0, "")
		return Result{Outcome: OutcomeIgnored}, nil
	}
	var res Result
	err := s.d.Store.Write(ctx, crm.Actor{Integration: Integration}, func(t *store.Tx) error {
		r, err := s.ingestTx(t, conn, set, u)
		res = r
		return err
	})
	if err != nil {
		return Result{}, err
	}
	s.journal(ctx, connID, u.UpdateID, res.Outcome, res.MessageID, "")
	return res, nil
}

func (s *Service) ingestTx(t *store.Tx, conn connection.Connection, set map[string]any, u Update) (Result, error) {
	connID := conn.ID
	m := u.Message
	chatID, extID := strconv.FormatInt(m.Chat.ID, 10), strconv.FormatInt(m.MessageID, 10)
	if old, err := t.MessageByExternal(crm.ChannelTelegram, connID, chatID, extID); err == nil {
		return Result{Outcome: OutcomeDuplicate, MessageID: old.ID, OwnerType: old.OwnerType, OwnerID: old.OwnerID}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return Result{}, err
	}
	from := m.From
	if from == nil {
		from = &User{ID: m.Chat.ID, FirstName: m.Chat.FirstName, LastName: m.Chat.LastName, Username: m.Chat.Username}
	}
	userID := strconv.FormatInt(from.ID, 10)
	name := strings.TrimSpace(from.FirstName + " " + from.LastName)
	handle := "tg://user?id=" + userID
	if from.Username != "" {
		handle = "@" + from.Username
	}
	msg := crm.Message{Channel: crm.ChannelTelegram, Direction: crm.DirectionIn, ConnectionID: connID, Handle: handle,
		ChatID: chatID, ExternalID: extID, Text: m.Text, Author: name}
	if msg.Text == "" {
		msg.Text = m.Caption
	}
	at := time.Unix(m.Date, 0).UTC()
	if m.Date == 0 {
		at = t.Now()
	}
	msg.SentAt = &at
	if d := m.Document; d != nil {
		msg.Attachments = append(msg.Attachments, crm.Attachment{Name: d.FileName, FileID: d.FileID, MIME: d.MimeType, Size: d.FileSize})
	}
	if len(m.Photo) > 0 {
		p := m.Photo[len(m.Photo)-1] // the largest size comes last
		msg.Attachments = append(msg.Attachments, crm.Attachment{Name: "photo.jpg", FileID: p.FileID, MIME: "image/jpeg", Size: p.FileSize})
	}
	phone := ""
	if c := m.Contact; c != nil && c.PhoneNumber != "" && (c.UserID == 0 || c.UserID == from.ID) {
		// Only the client's own number, not a contact they forwarded.
		phone = c.PhoneNumber
		if msg.Text == "" {
			msg.Text = s.t("telegram.shared_phone", phone)
		}
	}
	if strings.TrimSpace(msg.Text) == "" && len(msg.Attachments) == 0 {
		return Result{Outcome: OutcomeIgnored}, nil // a sticker, a poll …
	}
	res := Result{Outcome: OutcomeStored}
	owner, ownerID, assigned, err := s.ownerOf(t, connID, chatID, userID, phone)
	if err != nil {
		return res, err
	}
	if ownerID == 0 {
		assigned = connector.AssignedFor(conn, connection.Settings(set), SetAssignedTo)
		l := crm.Lead{Title: s.t("telegram.lead.title", cmp.Or(name, handle)), Name: from.FirstName, LastName: from.LastName,
			SourceID: "OTHER", SourceDescription: "Telegram"}
		l.AssignedByID = assigned
		if from.Username != "" {
			l.IMs = []crm.Comm{{Value: "@" + from.Username, ValueType: "TELEGRAM"}}
		}
		if phone != "" {
			l.Phones = []crm.Comm{{Value: phone, ValueType: "MOBILE"}}
		}
		l.ExternalIDs = map[string]string{System: userID}
		if err := t.AddLead(&l); err != nil {
			return res, fmt.Errorf("telegram: a lead for chat %s: %w", chatID, err)
		}
		owner, ownerID, res.NewLead = store.EntityLead, l.ID, true
	}
	msg.OwnerType, msg.OwnerID, msg.AssignedByID = owner, ownerID, assigned
	if assigned == 0 {
		msg.AssignedByID = connector.AssignedFor(conn, connection.Settings(set), SetAssignedTo)
	}
	created, err := t.CreateMessage(msg)
	if err != nil {
		return res, fmt.Errorf("telegram: message %s of chat %s: %w", extID, chatID, err)
	}
	res.MessageID, res.OwnerType, res.OwnerID = created.ID, owner, ownerID
	return res, nil
}

// ownerOf finds the record a chat's message goes to (0: none yet) and the
// user responsible for it. A phone shared now leads to the contact with
// it, which from now on also knows the client's Telegram id; else the
// chat's record (store.ChatOwner), and a live lead found so gets the
// phone.
func (s *Service) ownerOf(t *store.Tx, connID int64, chatID, userID, phone string) (string, int64, int64, error) {
	if phone != "" {
		id, err := t.Unscoped().FindContactByComm(phone, "")
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", 0, 0, err
		}
		if id != 0 {
			if err := s.linkTelegram(t, id, userID); err != nil {
				return "", 0, 0, err
			}
			assigned, _, err := t.RecordAssignee(store.EntityContact, id)
			return store.EntityContact, id, assigned, err
		}
	}
	entity, id, assigned, err := t.ChatOwner(crm.ChannelTelegram, connID, chatID, System, userID)
	if err != nil || phone == "" || entity != store.EntityLead {
		return entity, id, assigned, err
	}
	if _, live, err := t.RecordAssignee(entity, id); err != nil || !live {
		return entity, id, assigned, err
	}
	return entity, id, assigned, s.addPhone(t, id, phone)
}

// linkTelegram keeps the client's Telegram id on a contact.
func (s *Service) linkTelegram(t *store.Tx, contactID int64, userID string) error {
	_, err := t.UpdateContact(contactID, func(c *crm.Contact) error {
		if c.ExternalIDs == nil {
			c.ExternalIDs = map[string]string{}
		}
		c.ExternalIDs[System] = userID
		return nil
	})
	return err
}

// addPhone adds a shared phone to the chat's lead.
func (s *Service) addPhone(t *store.Tx, leadID int64, phone string) error {
	_, err := t.UpdateLead(leadID, func(l *crm.Lead) error {
		for _, p := range l.Phones {
			if crm.PhoneKey(p.Value) == crm.PhoneKey(phone) {
				return nil
			}
		}
		l.Phones = append(l.Phones, crm.Comm{Value: phone, ValueType: "MOBILE"})
		return nil
	})
	return err
}

// journal records what became of an update (or a refused request):
// Ref is the update_id ("" when refused before it was read), RecordID the
// message it made.
func (s *Service) journal(ctx context.Context, connID, updateID int64, outcome string, messageID int64, msg string) {
	ref := ""
	if updateID != 0 {
		ref = strconv.FormatInt(updateID, 10)
	}
	e := connection.JournalEntry{Ref: ref, Outcome: outcome, RecordID: messageID, Error: msg}
	if err := connection.WriteJournal(ctx, s.d.DB, connID, s.d.Now(), e); err != nil {
		s.d.Log.Error("telegram: journal", "connection", connID, "err", err)
	}
}
