package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// EntityMessage names messages with clients (crm.Message).
const EntityMessage = "message"

var messageSpec = spec{
	entity: EntityMessage, table: "messages",
	columns: map[string]Column{
		"channel": {"channel", KindText}, "direction": {"direction", KindText}, "status": {"status", KindText},
		"connection_id": {"connection_id", KindInt}, "chat_id": {"chat_id", KindText}, "handle": {"handle", KindText},
		"owner_type": {"owner_type", KindText}, "owner_id": {"owner_id", KindInt},
		"sent_at": {"sent_at", KindTime}, "error_code": {"error_code", KindText},
		"assigned_by_id": {"assigned_by_id", KindInt}, "created_by_id": {"created_by_id", KindInt},
		"created_at": {"created_at", KindTime}, "updated_at": {"updated_at", KindTime}, "deleted_at": {"deleted_at", KindTime},
	},
}

const messageColumns = `id, channel, direction, connection_id, handle, chat_id, external_id, text, attachments, sent_at, author,
	status, error, error_code, retry_at, owner_type, owner_id,
	assigned_by_id, created_by_id, updated_by_id, created_at, updated_at, deleted_at, deleted_by_id`

// scanMessages reads rows of messageColumns.
func scanMessages(t txq, query string, args ...any) ([]crm.Message, error) {
	rows, err := t.q.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: load messages: %w", err)
	}
	defer rows.Close()
	out := []crm.Message{}
	for rows.Next() {
		var m crm.Message
		var att string
		var sent, retry, created, updated, deleted int64
		if err := rows.Scan(&m.ID, &m.Channel, &m.Direction, &m.ConnectionID, &m.Handle, &m.ChatID, &m.ExternalID, &m.Text, &att, &sent, &m.Author,
			&m.Status, &m.Error, &m.ErrorCode, &retry, &m.OwnerType, &m.OwnerID,
			&m.AssignedByID, &m.CreatedByID, &m.UpdatedByID, &created, &updated, &deleted, &m.DeletedByID); err != nil {
			return nil, fmt.Errorf("store: load messages: %w", err)
		}
		if err := json.Unmarshal([]byte(att), &m.Attachments); err != nil {
			return nil, fmt.Errorf("store: message %d: attachments: %w", m.ID, err)
		}
		if m.Attachments == nil {
			m.Attachments = []crm.Attachment{}
		}
		m.SentAt, m.RetryAt = optTime(sent), optTime(retry)
		m.CreatedAt, m.UpdatedAt, m.DeletedAt = fromMicro(created), fromMicro(updated), optTime(deleted)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: load messages: %w", err)
	}
	return out, nil
}

// loadMessages reads full messages by id, in the order given; missing ids
// are left out.
func loadMessages(t txq, ids []int64) ([]crm.Message, error) {
	if len(ids) == 0 {
		return []crm.Message{}, nil
	}
	ms, err := scanMessages(t, "SELECT "+messageColumns+" FROM messages WHERE id IN ("+placeholders(1, len(ids))+")", int64Args(ids)...)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]crm.Message, len(ms))
	for _, m := range ms {
		byID[m.ID] = m
	}
	out := make([]crm.Message, 0, len(ms))
	for _, id := range ids {
		if m, ok := byID[id]; ok {
			out = append(out, m)
		}
	}
	ext, err := loadExternal(t, EntityMessage, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Custom, out[i].ExternalIDs = map[string]any{}, ext[out[i].ID]
	}
	return out, nil
}

func getMessage(t txq, id int64) (crm.Message, error) {
	ms, err := loadMessages(t, []int64{id})
	if err != nil {
		return crm.Message{}, err
	}
	if len(ms) == 0 {
		return crm.Message{}, NotFound("message", id)
	}
	return ms[0], nil
}

// GetMessage returns a message, live or in the recycle bin.
func (s *Store) GetMessage(ctx context.Context, id int64) (crm.Message, error) {
	v, err := getMessage(s.rq(ctx), id)
	return scoped1(ctx, EntityMessage, v, err)
}

// ListMessages returns a page of messages: the "Сообщения" module and a
// record's related list (filter owner_type and owner_id).
func (s *Store) ListMessages(ctx context.Context, p ListParams) ([]crm.Message, string, error) {
	page, err := s.listIDs(s.rq(ctx), messageSpec, p)
	if err != nil {
		return nil, "", err
	}
	ms, err := loadMessages(s.rq(ctx), page.IDs)
	return ms, page.NextCursor, err
}

// MessageByExternal finds the message a channel knows by its ids (live or
// not): an incoming message delivered twice is stored once.
func (s *Store) MessageByExternal(ctx context.Context, channel string, connectionID int64, chatID, externalID string) (crm.Message, error) {
	return messageByExternal(s.rq(ctx), channel, connectionID, chatID, externalID)
}

// MessageByExternal is Store.MessageByExternal inside t.
func (t *Tx) MessageByExternal(channel string, connectionID int64, chatID, externalID string) (crm.Message, error) {
	return messageByExternal(t.rq(), channel, connectionID, chatID, externalID)
}

func messageByExternal(t txq, channel string, connectionID int64, chatID, externalID string) (crm.Message, error) {
	var id int64
	err := t.q.QueryRowContext(t.ctx, `SELECT id FROM messages WHERE channel = $1 AND connection_id = $2 AND chat_id = $3 AND external_id = $4 AND external_id <> ''`,
		channel, connectionID, chatID, externalID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return crm.Message{}, NotFound("message", channel+" "+chatID+"/"+externalID)
	}
	if err != nil {
		return crm.Message{}, fmt.Errorf("store: message %s %s/%s: %w", channel, chatID, externalID, err)
	}
	return getMessage(t, id)
}

// LastChatMessage returns the newest message of a chat of a connection: a
// new incoming message goes to the record the conversation is with.
func (t *Tx) LastChatMessage(channel string, connectionID int64, chatID string) (crm.Message, error) {
	q := t.rq()
	ms, err := scanMessages(q, "SELECT "+messageColumns+` FROM messages WHERE channel = $1 AND connection_id = $2 AND chat_id = $3
		ORDER BY id DESC LIMIT 1`, channel, connectionID, chatID)
	if err != nil {
		return crm.Message{}, err
	}
	if len(ms) == 0 {
		return crm.Message{}, NotFound("message", channel+" "+chatID)
	}
	return ms[0], nil
}

// RecordAssignee returns the user responsible for a lead, contact or
// account and whether the record is live (not in the recycle bin); a
// record that is not there is (0, false).
func (t *Tx) RecordAssignee(entity string, id int64) (assigned int64, live bool, err error) {
	switch entity {
	case EntityLead, EntityContact, EntityAccount:
	default:
		return 0, false, nil
	}
	assigned, deleted, err := recordState(t.rq(), entity, id)
	if errors.Is(err, ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return assigned, !deleted, nil
}

// ChatOwner finds the record a conversation's next incoming message goes
// to, and the user responsible for it: the record of the conversation's
// last message while that record is live, else the contact, then the
// lead, that knows the client as externalID under system (deleted or not:
// the message waits there for the restore). Entity "" means none yet.
func (t *Tx) ChatOwner(channel string, connectionID int64, chatID, system, externalID string) (entity string, id, assigned int64, err error) {
	last, err := t.LastChatMessage(channel, connectionID, chatID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", 0, 0, err
	}
	if err == nil && last.OwnerID != 0 {
		assigned, live, err := t.RecordAssignee(last.OwnerType, last.OwnerID)
		if err != nil {
			return "", 0, 0, err
		}
		if live {
			return last.OwnerType, last.OwnerID, assigned, nil
		}
	}
	for _, entity := range []string{EntityContact, EntityLead} {
		id, err := t.Unscoped().IDByExternal(entity, system, externalID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return "", 0, 0, err
		}
		if id != 0 {
			assigned, _, err := t.RecordAssignee(entity, id)
			return entity, id, assigned, err
		}
	}
	return "", 0, 0, nil
}

// DueMessages lists the outgoing messages of channel waiting to be sent
// (queued, their retry time passed), oldest first, at most limit.
func (s *Store) DueMessages(ctx context.Context, channel string, now time.Time, limit int) ([]crm.Message, error) {
	return scanMessages(s.rq(ctx), "SELECT "+messageColumns+` FROM messages
		WHERE status = 'queued' AND direction = 'out' AND channel = $1 AND retry_at <= $2 AND deleted_at = 0 ORDER BY id LIMIT $3`,
		channel, micro(now), limit)
}

// checkMessage validates what a new message refers to.
func checkMessage(t txq, m *crm.Message) error { return checkMessageChange(t, nil, m) }

// checkMessageChange is checkMessage for an update from old: a record the
// message stays linked to is not checked again, so that a reply to a
// record in the recycle bin can still be marked delivered.
func checkMessageChange(t txq, old, m *crm.Message) error {
	r := refs{t: t}
	r.user("assigned_by_id", m.AssignedByID)
	if (old == nil || old.OwnerType != m.OwnerType || old.OwnerID != m.OwnerID) && m.OwnerType != "" {
		r.record("owner_id", m.OwnerType, m.OwnerID)
	}
	if old != nil && old.Channel != m.Channel {
		r.check(false, "channel", "%q is not one of %s", m.Channel, old.Channel)
	}
	for i, a := range m.Attachments {
		if a.LocalID == 0 || (old != nil && slices.ContainsFunc(old.Attachments, func(o crm.Attachment) bool { return o.LocalID == a.LocalID })) {
			continue
		}
		// A kept file joins one message, the one its uploader writes.
		field := "attachments[" + strconv.Itoa(i) + "].local_id"
		r.check(r.exists(field, "SELECT 1 FROM message_files WHERE id = $1 AND message_id = 0 AND (created_by_id = $2 OR $2 = 0)", a.LocalID,
			m.UpdatedByID), field, "file %d is not a file of yours waiting to be sent", a.LocalID)
	}
	return r.err
}

func messageTimes(m *crm.Message) {
	at := func(p *time.Time) *time.Time {
		if p == nil || p.IsZero() {
			return nil
		}
		v := p.UTC().Truncate(time.Microsecond)
		return &v
	}
	m.SentAt, m.RetryAt = at(m.SentAt), at(m.RetryAt)
}

// CreateMessage validates and stores a new message with its create event.
func (s *Store) CreateMessage(ctx context.Context, actor crm.Actor, m crm.Message) (crm.Message, error) {
	return createRecord(s, ctx, actor, EntityMessage, m, checkMessage, func(t *Tx, m *crm.Message) error {
		messageTimes(m)
		return t.insertMessage(m)
	})
}

// CreateMessage is Store.CreateMessage inside t.
func (t *Tx) CreateMessage(m crm.Message) (crm.Message, error) {
	return createInTx(t, EntityMessage, m, checkMessage, func(t *Tx, m *crm.Message) error {
		messageTimes(m)
		return t.insertMessage(m)
	})
}

func (t *Tx) insertMessage(m *crm.Message) error {
	att, err := json.Marshal(m.Attachments)
	if err != nil {
		return fmt.Errorf("store: message attachments: %w", err)
	}
	err = t.tx.QueryRowContext(t.ctx, `INSERT INTO messages (channel, direction, connection_id, handle, chat_id, external_id, text, attachments,
		sent_at, author, status, error, error_code, retry_at, owner_type, owner_id, search,
		assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) RETURNING id`,
		m.Channel, m.Direction, m.ConnectionID, m.Handle, m.ChatID, m.ExternalID, m.Text, string(att),
		optMicro(m.SentAt), m.Author, m.Status, m.Error, m.ErrorCode, optMicro(m.RetryAt), m.OwnerType, m.OwnerID, m.SearchText(),
		m.AssignedByID, m.CreatedByID, m.UpdatedByID, micro(m.CreatedAt), micro(m.UpdatedAt)).Scan(&m.ID)
	if err != nil {
		return fmt.Errorf("store: insert message: %w", err)
	}
	if err := t.claimMessageFiles(nil, m); err != nil {
		return err
	}
	return t.saveExternal(EntityMessage, m.ID, m.ExternalIDs, true)
}

// UpdateMessage loads a live message, lets mutate change it, validates and
// stores the result with an update event naming the changed fields (a
// delivery state's change is in the record's change log).
func (s *Store) UpdateMessage(ctx context.Context, actor crm.Actor, id int64, mutate func(*crm.Message) error) (crm.Message, error) {
	return updateRecord(s, ctx, actor, id, messageOps, mutate)
}

// UpdateMessage is Store.UpdateMessage inside t.
func (t *Tx) UpdateMessage(id int64, mutate func(*crm.Message) error) (crm.Message, error) {
	return updateInTx(t, id, messageOps, mutate)
}

var messageOps = updateOps[crm.Message]{
	entity: EntityMessage, get: getMessage,
	check: checkMessageChange,
	save: func(t *Tx, old, cur *crm.Message) error {
		messageTimes(cur)
		att, err := json.Marshal(cur.Attachments)
		if err != nil {
			return fmt.Errorf("store: message attachments: %w", err)
		}
		_, err = t.tx.ExecContext(t.ctx, `UPDATE messages SET direction = $1, connection_id = $2, handle = $3, chat_id = $4, external_id = $5,
			text = $6, attachments = $7, sent_at = $8, author = $9, status = $10, error = $11, error_code = $12, retry_at = $13,
			owner_type = $14, owner_id = $15, search = $16, assigned_by_id = $17, updated_by_id = $18, updated_at = $19 WHERE id = $20`,
			cur.Direction, cur.ConnectionID, cur.Handle, cur.ChatID, cur.ExternalID,
			cur.Text, string(att), optMicro(cur.SentAt), cur.Author, cur.Status, cur.Error, cur.ErrorCode, optMicro(cur.RetryAt),
			cur.OwnerType, cur.OwnerID, cur.SearchText(), cur.AssignedByID, cur.UpdatedByID, micro(cur.UpdatedAt), cur.ID)
		if err != nil {
			return fmt.Errorf("store: update message %d: %w", cur.ID, err)
		}
		if err := t.claimMessageFiles(old, cur); err != nil {
			return err
		}
		if !sameJSON(old.ExternalIDs, cur.ExternalIDs) {
			return t.saveExternal(EntityMessage, cur.ID, cur.ExternalIDs, false)
		}
		return nil
	},
}

// CountMessages counts the live messages of a record, for its card's tab.
func (s *Store) CountMessages(ctx context.Context, ownerType string, ownerID int64) (int, error) {
	p := ListParams{Filters: []Filter{{Field: "owner_type", Op: "eq", Value: ownerType}, {Field: "owner_id", Op: "eq", Value: strconv.FormatInt(ownerID, 10)}}}
	return s.CountRecords(ctx, EntityMessage, p)
}

// claimMessageFiles joins the kept files of m's new attachments to m.
func (t *Tx) claimMessageFiles(old, m *crm.Message) error {
	for _, a := range m.Attachments {
		if a.LocalID == 0 || (old != nil && slices.ContainsFunc(old.Attachments, func(o crm.Attachment) bool { return o.LocalID == a.LocalID })) {
			continue
		}
		res, err := t.tx.ExecContext(t.ctx, "UPDATE message_files SET message_id = $1 WHERE id = $2 AND message_id = 0", m.ID, a.LocalID)
		if err != nil {
			return fmt.Errorf("store: message %d file %d: %w", m.ID, a.LocalID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return crm.Invalid("attachments", "file %d is not a file of yours waiting to be sent", a.LocalID)
		}
	}
	return nil
}
