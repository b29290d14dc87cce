package facebook

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// stuckAfter is how long a send may stay "sending" before the sweep
// decides its process died mid-request: its outcome is then unknown.
const stuckAfter = 2 * time.Minute

// Name is the channel's name: the Service is a connector.Channel.
func (s *Service) Name() string { return crm.ChannelFacebook }

var _ connector.Channel = (*Service)(nil)

// Send writes a reply into the record's Messenger conversation: the one
// its last Facebook message was in. The message is stored queued first,
// then delivered; what Meta answered is on the returned message (status,
// error in Russian). Access is the caller's: ctx's scope decides whether
// it may see the record.
func (s *Service) Send(ctx context.Context, actor crm.Actor, r connector.Reply) (crm.Message, error) {
	connID, psid, err := s.chatOf(ctx, r.OwnerType, r.OwnerID)
	if err != nil {
		return crm.Message{}, err
	}
	m := crm.Message{Channel: crm.ChannelFacebook, Direction: crm.DirectionOut, ConnectionID: connID, ChatID: psid,
		Handle: "PSID " + psid, Text: r.Text, Attachments: r.Attachments, OwnerType: r.OwnerType, OwnerID: r.OwnerID,
		Status: crm.MessageQueued}
	return s.outbox().Queue(ctx, actor, m, r.Key, s.Deliver)
}

// chatOf finds the connection and PSID of a record's conversation.
func (s *Service) chatOf(ctx context.Context, ownerType string, ownerID int64) (int64, string, error) {
	if ownerType == "" || ownerID == 0 {
		return 0, "", crm.Invalid("owner_id", "owner_type and owner_id go together")
	}
	p := store.ListParams{Limit: 1, Sort: "-created_at", Filters: []store.Filter{{Field: "owner_type", Op: "eq", Value: ownerType},
		{Field: "owner_id", Op: "eq", Value: strconv.FormatInt(ownerID, 10)}, {Field: "channel", Op: "eq", Value: crm.ChannelFacebook}}}
	ms, _, err := s.d.Store.ListMessages(ctx, p)
	if err != nil {
		return 0, "", err
	}
	if len(ms) > 0 && ms[0].ChatID != "" && ms[0].ConnectionID != 0 {
		return ms[0].ConnectionID, ms[0].ChatID, nil
	}
	return 0, "", connector.ErrNoChat
}

// lastIncoming is when the person last wrote to the Page (zero: never).
func (s *Service) lastIncoming(ctx context.Context, connID int64, psid string) (time.Time, error) {
	ms, _, err := s.d.Store.ListMessages(store.Unscoped(ctx), store.ListParams{Limit: 1, Sort: "-sent_at", Filters: []store.Filter{
		{Field: "channel", Op: "eq", Value: crm.ChannelFacebook}, {Field: "connection_id", Op: "eq", Value: strconv.FormatInt(connID, 10)},
		{Field: "chat_id", Op: "eq", Value: psid}, {Field: "direction", Op: "eq", Value: crm.DirectionIn}}})
	if err != nil || len(ms) == 0 || ms[0].SentAt == nil {
		return time.Time{}, err
	}
	return *ms[0].SentAt, nil
}

// local is a send refused before Meta was asked (the 24-hour window, the
// text's length): never sent, and no use sending again as it is.
type local struct{ text, code string }

func (e *local) Error() string { return "facebook: " + e.code + ": " + e.text }

// prepare decides how a message may go: the text to send and the tag
// ("" for a RESPONSE within the window), or a *local refusal.
func (s *Service) prepare(ctx context.Context, p page, m crm.Message) (string, string, error) {
	text := m.Text
	for _, a := range m.Attachments {
		if a.URL != "" {
			// Files go as their links: the reply box sends text, and a
			// link the client opens needs no upload to Meta.
			text = strings.TrimSpace(text + "\n" + a.URL)
		}
	}
	if n := utf8.RuneCountInString(text); n > MaxText {
		return "", "", &local{s.t("facebook.error.too_long", n, MaxText), "too_long"}
	}
	last, err := s.lastIncoming(ctx, m.ConnectionID, m.ChatID)
	if err != nil {
		return "", "", err
	}
	since := s.d.Now().Sub(last)
	tag := p.set.String(SetTag)
	switch {
	case !last.IsZero() && since <= Window:
		return text, "", nil
	case tag == "":
		return "", "", &local{s.t("facebook.error.window_local"), "window"}
	case tag == "HUMAN_AGENT" && (last.IsZero() || since > HumanAgentWindow):
		return "", "", &local{s.t("facebook.error.window_human"), "window"}
	}
	return text, tag, nil
}

// Deliver sends a queued message, at most once: it is marked sending in
// its own write before Meta is asked, and sent (with Meta's message id)
// or failed after. A second Deliver of the same message — a job retried
// after a timeout, two instances — finds it no longer queued and sends
// nothing; one left "sending" by a process that died is marked unknown
// by the sweep, never sent again by itself (the Send API has no
// idempotency key: a repeat would reach the client twice). A rate limit
// or a connection that could not be made puts it back in the queue with
// the time of its next attempt.
func (s *Service) Deliver(ctx context.Context, id int64) error {
	ctx = store.Unscoped(ctx)
	m, claimed, err := s.outbox().Claim(ctx, id)
	if err != nil || !claimed {
		return err
	}
	p, err := s.open(ctx, m.ConnectionID)
	var sent Sent
	if err == nil {
		var text, tag string
		if text, tag, err = s.prepare(ctx, p, m); err == nil {
			sent, err = p.c.SendText(ctx, p.set.String(SetPageID), m.ChatID, text, tag)
		}
	}
	uerr := s.outbox().Record(ctx, id, func(cur *crm.Message) error {
		if err == nil {
			at := s.d.Now()
			cur.Status, cur.ExternalID, cur.SentAt = crm.MessageSent, sent.MessageID, &at
			return nil
		}
		var ae *APIError
		var lc *local
		switch {
		case errors.As(err, &lc):
			cur.Status, cur.Error, cur.ErrorCode = crm.MessageFailed, lc.text, lc.code
			return nil
		case errors.Is(err, store.ErrNotFound):
			cur.Status, cur.Error, cur.ErrorCode = crm.MessageFailed, s.t("facebook.error.no_connection"), "no_connection"
			return nil
		}
		cur.Error, cur.ErrorCode = s.explain(err)
		switch {
		case errors.As(err, &ae) && ae.Kind() == KindRate:
			// Meta names no wait: a minute, then again.
			retry := s.d.Now().Add(time.Minute)
			cur.Status, cur.RetryAt = crm.MessageQueued, &retry
		case errors.As(err, &ae), errors.As(err, new(*connector.Refused)):
			cur.Status = crm.MessageFailed
		case errors.As(err, new(*connector.NotSent)):
			retry := s.d.Now().Add(30 * time.Second)
			cur.Status, cur.RetryAt = crm.MessageQueued, &retry
		default:
			// The request may have reached Meta: sending it again could
			// deliver it twice.
			cur.Status = crm.MessageUnknown
		}
		return nil
	})
	if uerr != nil {
		return uerr
	}
	if errors.As(err, new(*local)) {
		return nil
	}
	return err
}

// outbox is the at-most-once course of the messages.
func (s *Service) outbox() connector.Outbox {
	return connector.Outbox{Store: s.d.Store, Channel: crm.ChannelFacebook, Actor: crm.Actor{Integration: Integration}, Now: s.d.Now, Log: s.d.Log}
}

// Sweep marks unknown the sends left "sending" longer than stuckAfter
// and delivers the queued messages whose time has come. It returns how
// many it delivered or tried.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	o := s.outbox()
	if err := o.SettleStuck(ctx, stuckAfter, func(cur *crm.Message) error {
		cur.Status, cur.Error, cur.ErrorCode = crm.MessageUnknown, s.t("facebook.error.unknown"), "unknown"
		return nil
	}); err != nil {
		return 0, err
	}
	return o.DeliverDue(ctx, s.Deliver)
}

// Run sweeps the outbox every few seconds until ctx ends.
func (s *Service) Run(ctx context.Context) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.d.Log.Error("facebook: outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
