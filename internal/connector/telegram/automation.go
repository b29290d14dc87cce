package telegram

import (
	"context"
	"errors"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// Names of the bundles' action, trigger and group.
const (
	ActionSend      = "message.send"
	TriggerReceived = "message.received"
	GroupMessage    = "message"
)

// SendInput is message.send's input: the text (a template, as every
// step input) to the client of a lead, account or contact, in a channel.
type SendInput struct {
	Channel   string `json:"channel" auto:"required,enum=telegram|vk|facebook|twitter"`
	OwnerType string `json:"owner_type" auto:"required,enum=lead|account|contact"`
	OwnerID   int64  `json:"owner_id" auto:"required"`
	Text      string `json:"text" auto:"required"`
}

// SendOutput is message.send's output.
type SendOutput struct {
	MessageID int64  `json:"message_id"`
	Status    string `json:"status"`
	Error     string `json:"error,omitempty"`
	// Repeated: an earlier attempt of the step made the message; it was
	// not sent again.
	Repeated bool `json:"repeated,omitempty"`
}

type sendAction struct {
	desc   automation.Description
	s      *Service
	others map[string]connector.Channel
}

// SendAction is message.send, in Telegram and in the other channels
// given (VK, Facebook, X: each a connector.Channel). A retried step
// finds the message its first attempt made (by the step's key) and
// never sends it twice.
func (s *Service) SendAction(others ...connector.Channel) automation.Action {
	desc := automation.Define(automation.Spec{Name: ActionSend, Group: GroupMessage, Writes: true},
		func(context.Context, *automation.Call, SendInput) (SendOutput, error) { return SendOutput{}, nil }).Describe()
	a := &sendAction{desc: desc, s: s, others: map[string]connector.Channel{}}
	for _, ch := range others {
		a.others[ch.Name()] = ch
	}
	return a
}

func (a *sendAction) Describe() automation.Description { return a.desc }

func (a *sendAction) Run(ctx context.Context, c *automation.Call, input any) (any, error) {
	in, err := automation.DecodeInput[SendInput](input, a.desc)
	if err != nil {
		return nil, err
	}
	other := a.others[in.Channel]
	if in.Channel != crm.ChannelTelegram && other == nil {
		names := []string{crm.ChannelTelegram}
		for _, n := range crm.MessageChannels {
			if a.others[n] != nil {
				names = append(names, n)
			}
		}
		return nil, automation.InputErrorf("channel", "%q is not one of %s (the channels with a connector here)", in.Channel, strings.Join(names, ", "))
	}
	if strings.TrimSpace(in.Text) == "" {
		return nil, automation.InputErrorf("text", "required")
	}
	if c.DryRun {
		return automation.ToValue(SendOutput{Status: crm.MessageQueued})
	}
	key := c.Key()
	if !c.Fresh {
		if id, err := a.s.d.Store.FindByExternalID(ctx, store.EntityMessage, connector.KeySystem, key); err == nil && id != 0 {
			m, err := a.s.d.Store.GetMessage(store.Unscoped(ctx), id)
			if err != nil {
				return nil, err
			}
			// An attempt that stopped after storing it: deliver it
			// (Deliver sends a queued message once, and nothing else).
			deliver := a.s.Deliver
			if ch := a.others[m.Channel]; ch != nil {
				deliver = ch.Deliver
			}
			if err := deliver(ctx, id); err != nil {
				return nil, err
			}
			m, _ = a.s.d.Store.GetMessage(store.Unscoped(ctx), id)
			return automation.ToValue(SendOutput{MessageID: m.ID, Status: m.Status, Error: m.Error, Repeated: true})
		}
	}
	if other != nil {
		m, err := other.Send(store.Unscoped(ctx), c.Actor, connector.Reply{OwnerType: in.OwnerType, OwnerID: in.OwnerID, Text: in.Text, Key: key})
		if errors.Is(err, connector.ErrNoChat) {
			return nil, automation.InputErrorf("owner_id", "%s %d has no conversation in %s: the client has not written there, and the record has no profile of it (X: no Twitter field)",
				in.OwnerType, in.OwnerID, in.Channel)
		}
		if err != nil {
			return nil, err
		}
		return automation.ToValue(SendOutput{MessageID: m.ID, Status: m.Status, Error: m.Error})
	}
	connID, chatID, err := a.s.chatOf(store.Unscoped(ctx), in.OwnerType, in.OwnerID)
	if errors.Is(err, ErrNoChat) {
		return nil, automation.InputErrorf("owner_id", "%s %d has no Telegram chat: the client has not written to the bot", in.OwnerType, in.OwnerID)
	}
	if err != nil {
		return nil, err
	}
	m, err := a.s.d.Store.CreateMessage(ctx, c.Actor, crm.Message{Channel: crm.ChannelTelegram, Direction: crm.DirectionOut,
		ConnectionID: connID, ChatID: chatID, Text: in.Text, OwnerType: in.OwnerType, OwnerID: in.OwnerID, Status: crm.MessageQueued,
		Extra: crm.Extra{ExternalIDs: map[string]string{connector.KeySystem: key}}})
	if err != nil {
		return nil, err
	}
	if err := a.s.Deliver(ctx, m.ID); err != nil {
		return nil, err
	}
	m, err = a.s.d.Store.GetMessage(store.Unscoped(ctx), m.ID)
	if err != nil {
		return nil, err
	}
	return automation.ToValue(SendOutput{MessageID: m.ID, Status: m.Status, Error: m.Error})
}

// Triggers are the message triggers: message.received stands for a
// crm.event trigger on the incoming messages the connectors store, so
// its runs come from the change-event log (durable, one per message).
// trigger.record is the message; its owner_type and owner_id name the
// lead, account or contact.
func Triggers() []automation.TriggerKind {
	eventFields := []automation.Field{{Name: "id", Type: "integer"}, {Name: "entity", Type: "string"}, {Name: "record_id", Type: "integer"},
		{Name: "action", Type: "string"}, {Name: "changes", Type: "object"}, {Name: "created_at", Type: "datetime"}}
	record := []automation.Field{{Name: "id", Type: "integer"}, {Name: "channel", Type: "string", Enum: crm.MessageChannels},
		{Name: "direction", Type: "string"}, {Name: "connection_id", Type: "integer"}, {Name: "handle", Type: "string"},
		{Name: "chat_id", Type: "string"}, {Name: "text", Type: "string"}, {Name: "author", Type: "string"},
		{Name: "owner_type", Type: "string"}, {Name: "owner_id", Type: "integer"}, {Name: "assigned_by_id", Type: "integer"},
		{Name: "sent_at", Type: "datetime"}}
	data := []automation.Field{{Name: "event", Type: "object", Fields: eventFields}, {Name: "record", Type: "object", Fields: record}}
	return []automation.TriggerKind{{Type: TriggerReceived, Group: GroupMessage, Data: data,
		Validate: func(spec automation.TriggerSpec) []automation.Problem {
			for k := range spec.Options {
				return []automation.Problem{{Field: "trigger.options." + k, Message: "unknown option: message.received has none (use the filters)"}}
			}
			return nil
		},
		Events: func(automation.TriggerSpec) automation.TriggerSpec {
			return automation.TriggerSpec{Type: automation.TriggerCRMEvent, Entity: store.EntityMessage, Actions: []string{"create"},
				ChangedTo: map[string]any{"direction": crm.DirectionIn}}
		}}}
}
