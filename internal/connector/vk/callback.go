package vk

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

// maxEvent bounds a notification's body: a message is a few kilobytes.
const maxEvent = 1 << 20

// chatPeers is where VK's group conversations start: peer ids from it on
// are chats, not a person's private messages.
const chatPeers = 2000000000

// Outcomes of a notification, as the journal keeps them.
const (
	OutcomeStored    = "stored"
	OutcomeDuplicate = "duplicate"
	OutcomeIgnored   = "ignored"
	OutcomeRefused   = "refused"
	OutcomeFailed    = "failed"
	OutcomeConfirmed = "confirmed"
)

// Event is a Callback API notification: {"type":…,"group_id":…,
// "event_id":…,"v":…,"object":{…},"secret":…}.
type Event struct {
	Type    string          `json:"type"`
	GroupID int64           `json:"group_id"`
	EventID string          `json:"event_id"`
	V       string          `json:"v"`
	Object  json.RawMessage `json:"object"`
	Secret  string          `json:"secret"`
}

// ParseEvent reads a notification; for message_new it also returns its
// message (object.message), which must name the message, its sender and
// its conversation.
func ParseEvent(b []byte) (Event, *Message, error) {
	var ev Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return ev, nil, fmt.Errorf("vk: the notification is not JSON: %w", err)
	}
	if ev.Type == "" {
		return ev, nil, errors.New("vk: the notification has no type")
	}
	if ev.Type != "message_new" {
		return ev, nil, nil
	}
	var obj struct {
		Message *Message `json:"message"`
	}
	if len(ev.Object) == 0 {
		return ev, nil, errors.New("vk: message_new without object")
	}
	if err := json.Unmarshal(ev.Object, &obj); err != nil {
		return ev, nil, fmt.Errorf("vk: message_new object: %w", err)
	}
	m := obj.Message
	if m == nil {
		return ev, nil, errors.New("vk: message_new without object.message (is the Callback API's version 5.103 or later?)")
	}
	switch {
	case m.ID <= 0:
		return ev, nil, fmt.Errorf("vk: message_new object.message.id %d is not a message id", m.ID)
	case m.PeerID == 0:
		return ev, nil, errors.New("vk: message_new object.message.peer_id is missing")
	case m.FromID == 0:
		return ev, nil, errors.New("vk: message_new object.message.from_id is missing")
	}
	return ev, m, nil
}

// Result is what became of a notification.
type Result struct {
	Outcome   string `json:"result"`
	MessageID int64  `json:"message_id,omitempty"`
	OwnerType string `json:"owner_type,omitempty"`
	OwnerID   int64  `json:"owner_id,omitempty"`
	NewLead   bool   `json:"new_lead,omitempty"`
}

// Register serves the Callback API: POST /hooks/vk/{connection_id}.
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+HookPrefix+"{connection_id}", s.ServeCallback)
}

// ServeCallback takes one notification. "confirmation" is answered with
// the connection's confirmation string; every other one must carry the
// connection's secret key (else 403, journalled, nothing stored) and is
// answered "ok" only once its message is stored — VK repeats a
// notification that got no "ok".
func (s *Service) ServeCallback(w http.ResponseWriter, r *http.Request) {
	cm, ok := connector.HookConnection(w, r, s.d.Log, "vk", s.open)
	if !ok {
		return
	}
	ctx, id := r.Context(), cm.conn.ID
	body, err := io.ReadAll(io.LimitReader(r.Body, maxEvent+1))
	if err != nil {
		http.Error(w, "reading the body", http.StatusBadRequest)
		return
	}
	if len(body) > maxEvent {
		s.journal(ctx, id, Event{}, OutcomeFailed, 0, fmt.Sprintf("the notification is over %d bytes", maxEvent))
		http.Error(w, "the notification is too large", http.StatusRequestEntityTooLarge)
		return
	}
	ev, msg, err := ParseEvent(body)
	if err != nil {
		s.journal(ctx, id, ev, OutcomeFailed, 0, err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if want := cm.set.Int(SetGroupID); ev.GroupID != want {
		s.journal(ctx, id, ev, OutcomeRefused, 0, fmt.Sprintf("the notification is of community %d, the connection's is %d", ev.GroupID, want))
		http.Error(w, "wrong community", http.StatusForbidden)
		return
	}
	if ev.Type == "confirmation" {
		code := cm.set.String(SetConfirmation)
		if code == "" {
			s.journal(ctx, id, ev, OutcomeFailed, 0, "the connection has no confirmation string: copy it from the community's Callback API page")
			http.Error(w, "no confirmation string", http.StatusNotFound)
			return
		}
		s.journal(ctx, id, ev, OutcomeConfirmed, 0, "")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, code)
		return
	}
	// Constant time: how long the refusal takes tells nothing of how much
	// of a guess was right. A connection without a secret key takes no
	// notification at all.
	want := cm.set.String(SetSecret)
	if want == "" || subtle.ConstantTimeCompare([]byte(ev.Secret), []byte(want)) != 1 {
		what := "the notification has no secret"
		if ev.Secret != "" {
			what = "the notification's secret does not match the connection's secret key"
		}
		s.journal(ctx, id, ev, OutcomeRefused, 0, what)
		http.Error(w, "bad secret", http.StatusForbidden)
		return
	}
	if msg == nil {
		// Other events (message_reply, typing …) need nothing stored.
		s.journal(ctx, id, ev, OutcomeIgnored, 0, "")
		okAnswer(w)
		return
	}
	res, err := s.Ingest(ctx, cm.conn, cm.set, ev, *msg)
	if err != nil {
		s.d.Log.Error("vk: store notification", "connection", id, "event", ev.EventID, "err", err)
		s.journal(ctx, id, ev, OutcomeFailed, 0, err.Error())
		// Not stored: VK will send it again.
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	s.journal(ctx, id, ev, res.Outcome, res.MessageID, "")
	okAnswer(w)
}

func okAnswer(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok")
}

// Ingest stores a client's private message on the record of its
// conversation: the record its earlier messages went to, else the
// contact (then the lead) with the sender's VK id, else a new lead. A
// message stored before (the same conversation and VK message id) is not
// stored again.
func (s *Service) Ingest(ctx context.Context, conn connection.Connection, set connection.Settings, ev Event, m Message) (Result, error) {
	if m.PeerID <= 0 || m.PeerID >= chatPeers || m.FromID != m.PeerID || m.Out == 1 {
		// Group chats, communities writing, our own messages.
		return Result{Outcome: OutcomeIgnored}, nil
	}
	// The sender's name for a new lead: asked before the transaction (no
	// network call holds the writer), only for a client not known yet.
	var prof *User
	if !s.known(ctx, conn.ID, m) {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		us, err := s.client(set).UsersGet(pctx, []string{strconv.FormatInt(m.FromID, 10)}, "screen_name")
		cancel()
		if err == nil && len(us) > 0 {
			prof = &us[0]
		} else if err != nil {
			s.d.Log.Warn("vk: the sender's name", "user", m.FromID, "err", err)
		}
	}
	var res Result
	err := s.d.Store.Write(ctx, crm.Actor{Integration: Integration}, func(t *store.Tx) error {
		r, err := s.ingestTx(t, conn, set, m, prof, crm.DirectionIn)
		res = r
		return err
	})
	return res, err
}

// known says whether the sender already has a record (or a conversation).
func (s *Service) known(ctx context.Context, connID int64, m Message) bool {
	ctx = store.Unscoped(ctx)
	for _, entity := range []string{store.EntityContact, store.EntityLead} {
		if id, err := s.d.Store.FindByExternalID(ctx, entity, System, strconv.FormatInt(m.FromID, 10)); err == nil && id != 0 {
			return true
		}
	}
	ms, _, err := s.d.Store.ListMessages(ctx, store.ListParams{Limit: 1, Filters: []store.Filter{{Field: "channel", Op: "eq", Value: crm.ChannelVK},
		{Field: "chat_id", Op: "eq", Value: strconv.FormatInt(m.PeerID, 10)}}})
	return err == nil && len(ms) > 0
}

// messageOf is a VK message as ours (without its record).
func messageOf(connID int64, m Message, direction string, author string) crm.Message {
	out := crm.Message{Channel: crm.ChannelVK, Direction: direction, ConnectionID: connID, Handle: ProfileURL(m.PeerID),
		ChatID: strconv.FormatInt(m.PeerID, 10), ExternalID: strconv.FormatInt(m.ID, 10), Text: m.Text, Author: author}
	if direction == crm.DirectionOut {
		out.Status = crm.MessageSent
	}
	if m.Date > 0 {
		at := time.Unix(m.Date, 0).UTC()
		out.SentAt = &at
	}
	for _, a := range m.Attachments {
		switch {
		case a.Type == "doc" && a.Doc != nil && a.Doc.URL != "":
			name := a.Doc.Title
			if name == "" {
				name = "document." + a.Doc.Ext
			}
			out.Attachments = append(out.Attachments, crm.Attachment{Name: crm.ClipText(name, 200), URL: a.Doc.URL, Size: a.Doc.Size})
		case a.Type == "photo" && a.Photo != nil && len(a.Photo.Sizes) > 0:
			best := a.Photo.Sizes[0]
			for _, sz := range a.Photo.Sizes[1:] {
				if sz.Width*sz.Height > best.Width*best.Height {
					best = sz
				}
			}
			if best.URL != "" {
				out.Attachments = append(out.Attachments, crm.Attachment{Name: "photo.jpg", URL: best.URL, MIME: "image/jpeg"})
			}
		}
		if len(out.Attachments) == 10 {
			break
		}
	}
	return out
}

// ingestTx stores one message of a private conversation.
func (s *Service) ingestTx(t *store.Tx, conn connection.Connection, set connection.Settings, m Message, prof *User, direction string) (Result, error) {
	chatID, extID := strconv.FormatInt(m.PeerID, 10), strconv.FormatInt(m.ID, 10)
	if old, err := t.MessageByExternal(crm.ChannelVK, conn.ID, chatID, extID); err == nil {
		return Result{Outcome: OutcomeDuplicate, MessageID: old.ID, OwnerType: old.OwnerType, OwnerID: old.OwnerID}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return Result{}, err
	}
	name := ""
	if prof != nil {
		name = strings.TrimSpace(prof.FirstName + " " + prof.LastName)
	}
	author := ""
	if direction == crm.DirectionIn {
		author = name
	}
	msg := messageOf(conn.ID, m, direction, author)
	if strings.TrimSpace(msg.Text) == "" && len(msg.Attachments) == 0 {
		return Result{Outcome: OutcomeIgnored}, nil // a sticker, a wall post …
	}
	res := Result{Outcome: OutcomeStored}
	userID := strconv.FormatInt(m.PeerID, 10)
	owner, ownerID, assigned, err := t.ChatOwner(crm.ChannelVK, conn.ID, chatID, System, userID)
	if err != nil {
		return res, err
	}
	if ownerID == 0 {
		assigned = connector.AssignedFor(conn, set, SetAssignedTo)
		l := crm.Lead{Title: s.t("vk.lead.title", cmp.Or(name, ProfileURL(m.PeerID))), SourceID: "OTHER", SourceDescription: "ВКонтакте"}
		if prof != nil {
			l.Name, l.LastName = prof.FirstName, prof.LastName
		}
		l.AssignedByID = assigned
		l.Webs = []crm.Comm{{Value: ProfileURL(m.PeerID), ValueType: "VK"}}
		l.ExternalIDs = map[string]string{System: userID}
		if err := t.AddLead(&l); err != nil {
			return res, fmt.Errorf("vk: a lead for user %s: %w", userID, err)
		}
		owner, ownerID, res.NewLead = store.EntityLead, l.ID, true
	} else if err := s.linkVK(t, owner, ownerID, m.PeerID); err != nil {
		return res, err
	}
	msg.OwnerType, msg.OwnerID, msg.AssignedByID = owner, ownerID, assigned
	if assigned == 0 {
		msg.AssignedByID = connector.AssignedFor(conn, set, SetAssignedTo)
	}
	created, err := t.CreateMessage(msg)
	if err != nil {
		return res, fmt.Errorf("vk: message %s of user %s: %w", extID, chatID, err)
	}
	res.MessageID, res.OwnerType, res.OwnerID = created.ID, owner, ownerID
	return res, nil
}

// linkVK keeps the client's VK id on a lead or contact, and its profile
// address in the VK field when that is empty.
func (s *Service) linkVK(t *store.Tx, entity string, id, userID int64) error {
	uid := strconv.FormatInt(userID, 10)
	fix := func(ext *map[string]string, webs *[]crm.Comm) {
		if *ext == nil {
			*ext = map[string]string{}
		}
		(*ext)[System] = uid
		for _, w := range *webs {
			if w.ValueType == "VK" {
				return
			}
		}
		*webs = append(*webs, crm.Comm{Value: ProfileURL(userID), ValueType: "VK"})
	}
	switch entity {
	case store.EntityLead:
		_, err := t.UpdateLead(id, func(l *crm.Lead) error {
			if l.ExternalIDs[System] == uid && hasVK(l.Webs) {
				return errUnchanged
			}
			fix(&l.ExternalIDs, &l.Webs)
			return nil
		})
		if errors.Is(err, errUnchanged) {
			return nil
		}
		return err
	case store.EntityContact:
		_, err := t.UpdateContact(id, func(c *crm.Contact) error {
			if c.ExternalIDs[System] == uid && hasVK(c.Webs) {
				return errUnchanged
			}
			fix(&c.ExternalIDs, &c.Webs)
			return nil
		})
		if errors.Is(err, errUnchanged) {
			return nil
		}
		return err
	}
	return nil
}

var errUnchanged = errors.New("vk: unchanged")

func hasVK(webs []crm.Comm) bool {
	for _, w := range webs {
		if w.ValueType == "VK" {
			return true
		}
	}
	return false
}

// journal records what became of a notification (or a refused request):
// Event is its type, Ref VK's event_id, RecordID the message it made.
func (s *Service) journal(ctx context.Context, connID int64, ev Event, outcome string, messageID int64, msg string) {
	e := connection.JournalEntry{Event: ev.Type, Ref: ev.EventID, Outcome: outcome, RecordID: messageID, Error: msg}
	if err := connection.WriteJournal(ctx, s.d.DB, connID, s.d.Now(), e); err != nil {
		s.d.Log.Error("vk: journal", "connection", connID, "err", err)
	}
}
