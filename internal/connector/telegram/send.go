package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// stuckAfter is how long a send may stay "sending" before the sweep
// decides its process died mid-request: its outcome is then unknown.
const stuckAfter = 2 * time.Minute

// Reply is a message a user writes on a record's card; its attachments'
// URLs Telegram fetches itself (sendDocument with a URL).
type Reply = connector.Reply

// Name is the channel's name: the Service is a connector.Channel.
func (s *Service) Name() string { return crm.ChannelTelegram }

var _ connector.Channel = (*Service)(nil)

// ErrNoChat is a reply to a record no Telegram chat is known for.
var ErrNoChat = connector.ErrNoChat

// Send writes a reply into the record's chat: the chat its last Telegram
// message was in (or the one of the client's Telegram id on the record).
// The message is stored queued first, then delivered; what Telegram
// answered is on the returned message (status, error in Russian). Access
// is the caller's: ctx's scope decides whether it may see the record.
func (s *Service) Send(ctx context.Context, actor crm.Actor, r Reply) (crm.Message, error) {
	connID, chatID, err := s.chatOf(ctx, r.OwnerType, r.OwnerID)
	if err != nil {
		return crm.Message{}, err
	}
	m := crm.Message{Channel: crm.ChannelTelegram, Direction: crm.DirectionOut,
		ConnectionID: connID, ChatID: chatID, Text: r.Text, Attachments: r.Attachments, OwnerType: r.OwnerType, OwnerID: r.OwnerID,
		Status: crm.MessageQueued}
	return s.outbox().Queue(ctx, actor, m, r.Key, s.Deliver)
}

// chatOf finds the connection and chat of a record's conversation.
func (s *Service) chatOf(ctx context.Context, ownerType string, ownerID int64) (int64, string, error) {
	if ownerType == "" || ownerID == 0 {
		return 0, "", crm.Invalid("owner_id", "owner_type and owner_id go together")
	}
	p := store.ListParams{Limit: 1, Sort: "-created_at", Filters: []store.Filter{{Field: "owner_type", Op: "eq", Value: ownerType},
		{Field: "owner_id", Op: "eq", Value: strconv.FormatInt(ownerID, 10)}, {Field: "channel", Op: "eq", Value: crm.ChannelTelegram}}}
	ms, _, err := s.d.Store.ListMessages(ctx, p)
	if err != nil {
		return 0, "", err
	}
	if len(ms) > 0 && ms[0].ChatID != "" && ms[0].ConnectionID != 0 {
		return ms[0].ConnectionID, ms[0].ChatID, nil
	}
	return 0, "", ErrNoChat
}

// Deliver sends a queued message, at most once: it is marked sending in
// its own write before Telegram is asked, and sent (with Telegram's
// message id) or failed after. A second Deliver of the same message —
// a job retried after a timeout, two instances — finds it no longer
// queued and sends nothing; one left "sending" by a process that died is
// marked unknown by the sweep, never sent again by itself. A 429 or a
// connection that could not be made puts it back in the queue with the
// time of its next attempt.
func (s *Service) Deliver(ctx context.Context, id int64) error {
	ctx = store.Unscoped(ctx)
	m, claimed, err := s.outbox().Claim(ctx, id)
	if err != nil || !claimed {
		return err
	}
	b, err := s.open(ctx, m.ConnectionID)
	var sent Message
	if err == nil {
		sent, err = s.sendAll(ctx, b, m)
	}
	uerr := s.outbox().Record(ctx, id, func(cur *crm.Message) error {
		if err == nil {
			at := time.Unix(sent.Date, 0).UTC()
			if sent.Date == 0 {
				at = s.d.Now()
			}
			cur.Status, cur.ExternalID, cur.SentAt = crm.MessageSent, strconv.FormatInt(sent.MessageID, 10), &at
			return nil
		}
		cur.Error, cur.ErrorCode = s.explain(err)
		var ae *APIError
		var ns *connector.NotSent
		var pe *partial
		switch {
		case errors.As(err, &pe):
			text, code := s.explain(pe.err)
			cur.Status, cur.ExternalID, cur.ErrorCode = crm.MessageFailed, strconv.FormatInt(sent.MessageID, 10), code
			cur.Error = fmt.Sprintf("%s (%d из %d файлов не отправлены)", text, pe.total-pe.done, pe.total)
		case errors.Is(err, store.ErrNotFound):
			cur.Status, cur.Error, cur.ErrorCode = crm.MessageFailed, s.t("telegram.error.no_chat"), "no_connection"
		case errors.As(err, &ae) && ae.Code == 429:
			wait := ae.RetryAfter
			if wait <= 0 {
				wait = 5 * time.Second
			}
			retry := s.d.Now().Add(wait)
			cur.Status, cur.RetryAt = crm.MessageQueued, &retry
		case errors.As(err, &ae), errors.As(err, new(*connector.Refused)):
			cur.Status = crm.MessageFailed
		case errors.As(err, &ns):
			retry := s.d.Now().Add(30 * time.Second)
			cur.Status, cur.RetryAt = crm.MessageQueued, &retry
		default:
			// The request may have reached Telegram: sending it again
			// could deliver it twice.
			cur.Status = crm.MessageUnknown
		}
		return nil
	})
	if uerr != nil {
		return uerr
	}
	return err
}

// outbox is the at-most-once course of Telegram's outgoing messages.
func (s *Service) outbox() connector.Outbox {
	return connector.Outbox{Store: s.d.Store, Channel: crm.ChannelTelegram, Actor: crm.Actor{Integration: Integration}, Now: s.d.Now, Log: s.d.Log}
}

// partial is a send whose text (or first files) went and a later file
// did not.
type partial struct {
	done, total int
	err         error
}

func (e *partial) Error() string {
	return fmt.Sprintf("telegram: %d of %d files not sent: %v", e.total-e.done, e.total, e.err)
}

// sendAll sends the text, then each attachment by its URL; the message's
// id is that of the text (or of the first file when there is no text).
func (s *Service) sendAll(ctx context.Context, b bot, m crm.Message) (Message, error) {
	var first Message
	var err error
	if m.Text != "" {
		if first, err = b.c.SendMessage(ctx, m.ChatID, m.Text); err != nil {
			return first, err
		}
	}
	for i, a := range m.Attachments {
		var sent Message
		var err error
		switch {
		case a.LocalID != 0:
			// A file a user attached, kept by Obmen: uploaded.
			var f store.MessageFile
			if f, err = s.d.Store.GetMessageFile(ctx, a.LocalID); err == nil {
				sent, err = b.c.SendDocumentData(ctx, m.ChatID, f.Name, f.Data)
			}
		case a.URL != "":
			sent, err = b.c.SendDocument(ctx, m.ChatID, a.URL, "")
		default:
			continue
		}
		if err != nil {
			if first.MessageID != 0 {
				// Part of it went: it is never sent again as a whole.
				return first, &partial{done: i, total: len(m.Attachments), err: err}
			}
			return first, err
		}
		if first.MessageID == 0 {
			first = sent
		}
	}
	return first, nil
}

// Sweep marks unknown the sends left "sending" longer than stuckAfter
// (their process died between asking Telegram and recording the answer)
// and delivers the queued messages whose time has come. It returns how
// many it delivered or tried.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	o := s.outbox()
	if err := o.SettleStuck(ctx, stuckAfter, func(cur *crm.Message) error {
		cur.Status, cur.Error, cur.ErrorCode = crm.MessageUnknown, s.t("telegram.error.unknown"), "unknown"
		return nil
	}); err != nil {
		return 0, err
	}
	return o.DeliverDue(ctx, s.Deliver)
}

// File opens attachment n of a message that Telegram keeps (getFile):
// the card's link to a file the client sent. The caller closes it.
func (s *Service) File(ctx context.Context, m crm.Message, n int) (io.ReadCloser, crm.Attachment, error) {
	if m.Channel != crm.ChannelTelegram || n < 0 || n >= len(m.Attachments) || m.Attachments[n].FileID == "" {
		return nil, crm.Attachment{}, store.NotFound("file of message", m.ID)
	}
	a := m.Attachments[n]
	b, err := s.open(ctx, m.ConnectionID)
	if err != nil {
		return nil, a, err
	}
	f, err := b.c.GetFile(ctx, a.FileID)
	if err != nil {
		return nil, a, err
	}
	rc, err := b.c.Download(ctx, f)
	return rc, a, err
}
