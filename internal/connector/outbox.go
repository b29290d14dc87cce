package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// Outbox is the at-most-once course every message channel's outgoing
// messages take: queued → sending (claimed by one process) → sent,
// failed, queued again (a retry the channel allows) or unknown (the
// request may have gone and its answer was lost). Each channel keeps its
// API calls and its reading of their errors; the states are kept here.
type Outbox struct {
	Store *store.Store
	// Channel is the crm.Channel* whose messages this outbox takes.
	Channel string
	// Actor is the connector's integration (the change log's author).
	Actor crm.Actor
	Now   func() time.Time
	Log   *slog.Logger
}

// Queue stores m (an outgoing message of the channel, queued) with key
// (Reply.Key) as its external id under KeySystem, delivers it with
// deliver — a failure to deliver is the message's status, logged, not
// an error — and returns it as it then is. actor is who writes it.
func (o Outbox) Queue(ctx context.Context, actor crm.Actor, m crm.Message, key string, deliver func(context.Context, int64) error) (crm.Message, error) {
	m.Direction, m.Status = crm.DirectionOut, crm.MessageQueued
	if key != "" {
		m.ExternalIDs = map[string]string{KeySystem: key}
	}
	m, err := o.Store.CreateMessage(ctx, actor, m)
	if err != nil {
		return m, err
	}
	if err := deliver(ctx, m.ID); err != nil {
		o.Log.Warn(o.Channel+": deliver", "message", m.ID, "err", err)
	}
	return o.Store.GetMessage(store.Unscoped(ctx), m.ID)
}

// ErrNotDue is what a Record or Settle function returns to leave a
// message as it is.
var ErrNotDue = errors.New("connector: the message is not due")

// Claim marks message id "sending" when it is an outgoing message of the
// channel, queued and due; ok is false, with no error, when it is not
// (sent, claimed by another process, not due yet, gone).
func (o Outbox) Claim(ctx context.Context, id int64) (m crm.Message, ok bool, err error) {
	now := o.Now()
	m, err = o.Store.UpdateMessage(store.Unscoped(ctx), o.Actor, id, func(m *crm.Message) error {
		if m.Direction != crm.DirectionOut || m.Channel != o.Channel || m.Status != crm.MessageQueued ||
			(m.RetryAt != nil && m.RetryAt.After(now)) {
			return ErrNotDue
		}
		m.Status, m.Error, m.ErrorCode, m.RetryAt = crm.MessageSending, "", "", nil
		return nil
	})
	if errors.Is(err, ErrNotDue) || errors.Is(err, store.ErrNotFound) {
		return crm.Message{}, false, nil
	}
	if err != nil {
		return crm.Message{}, false, fmt.Errorf("%s: claim message %d: %w", o.Channel, id, err)
	}
	return m, true, nil
}

// Record writes what became of a claimed message's send, through record,
// if the message is still "sending" (a sweep may have settled it while
// the request hung); it does so even when ctx is cancelled.
func (o Outbox) Record(ctx context.Context, id int64, record func(cur *crm.Message) error) error {
	_, err := o.Store.UpdateMessage(store.Unscoped(context.WithoutCancel(ctx)), o.Actor, id, func(cur *crm.Message) error {
		if cur.Status != crm.MessageSending {
			return ErrNotDue
		}
		return record(cur)
	})
	if err != nil && !errors.Is(err, ErrNotDue) {
		return fmt.Errorf("%s: message %d: %w", o.Channel, id, err)
	}
	return nil
}

// SettleStuck hands settle each message left "sending" longer than after
// (its process died between asking the service and recording the
// answer): most channels mark it unknown, one that sends idempotently
// queues it again. At most 100 a call.
func (o Outbox) SettleStuck(ctx context.Context, after time.Duration, settle func(cur *crm.Message) error) error {
	ctx = store.Unscoped(ctx)
	stuck, _, err := o.Store.ListMessages(ctx, store.ListParams{Limit: 100, Filters: []store.Filter{
		{Field: "channel", Op: "eq", Value: o.Channel}, {Field: "status", Op: "eq", Value: crm.MessageSending},
		{Field: "updated_at", Op: "lt", Value: o.Now().Add(-after).UTC().Format(time.RFC3339Nano)}}})
	if err != nil {
		return fmt.Errorf("%s: stuck messages: %w", o.Channel, err)
	}
	for _, m := range stuck {
		if err := o.Record(ctx, m.ID, settle); err != nil {
			return err
		}
	}
	return nil
}

// DeliverDue hands deliver the queued messages whose time has come (at
// most 50) and returns how many it tried; a failed one is logged, the
// others go on.
func (o Outbox) DeliverDue(ctx context.Context, deliver func(ctx context.Context, id int64) error) (int, error) {
	due, err := o.Store.DueMessages(store.Unscoped(ctx), o.Channel, o.Now(), 50)
	if err != nil {
		return 0, fmt.Errorf("%s: due messages: %w", o.Channel, err)
	}
	for _, m := range due {
		if err := deliver(ctx, m.ID); err != nil {
			o.Log.Warn(o.Channel+": deliver", "message", m.ID, "err", err)
		}
	}
	return len(due), nil
}
