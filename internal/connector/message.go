package connector

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// The bundles' message action and trigger, the same for every channel:
// each channel is a Channel, and none of them knows the others.

// Names of the bundles' action, trigger and group.
const (
	ActionSend      = "message.send"
	TriggerReceived = "message.received"
	GroupMessage    = "message"
)

//go:embed messages/*.json
var messages embed.FS

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

// RegisterMessaging adds the message.received trigger and the labels of
// the message group (message.send is added with its channels once they
// are made: SendAction).
func RegisterMessaging(reg *automation.Registry) error {
	if err := reg.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("connector: %w", err)
	}
	for _, k := range MessageTriggers() {
		if err := reg.AddTrigger(k); err != nil {
			return err
		}
	}
	return nil
}

type sendAction struct {
	desc     automation.Description
	s        *store.Store
	channels map[string]Channel
}

// SendAction is message.send in the channels given. A retried step finds
// the message its first attempt made (by the step's key, Reply.Key) and
// never sends it twice.
func SendAction(s *store.Store, channels ...Channel) automation.Action {
	desc := automation.Define(automation.Spec{Name: ActionSend, Group: GroupMessage, Writes: true},
		func(context.Context, *automation.Call, SendInput) (SendOutput, error) { return SendOutput{}, nil }).Describe()
	a := &sendAction{desc: desc, s: s, channels: map[string]Channel{}}
	for _, ch := range channels {
		a.channels[ch.Name()] = ch
	}
	return a
}

func (a *sendAction) Describe() automation.Description { return a.desc }

func (a *sendAction) Run(ctx context.Context, c *automation.Call, input any) (any, error) {
	in, err := automation.DecodeInput[SendInput](input, a.desc)
	if err != nil {
		return nil, err
	}
	ch := a.channels[in.Channel]
	if ch == nil {
		var names []string
		for _, n := range crm.MessageChannels {
			if a.channels[n] != nil {
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
		if id, err := a.s.FindByExternalID(ctx, store.EntityMessage, KeySystem, key); err == nil && id != 0 {
			m, err := a.s.GetMessage(store.Unscoped(ctx), id)
			if err != nil {
				return nil, err
			}
			// An attempt that stopped after storing it: deliver it
			// (Deliver sends a queued message once, and nothing else).
			if mc := a.channels[m.Channel]; mc != nil {
				if err := mc.Deliver(ctx, id); err != nil {
					return nil, err
				}
			}
			m, _ = a.s.GetMessage(store.Unscoped(ctx), id)
			return automation.ToValue(SendOutput{MessageID: m.ID, Status: m.Status, Error: m.Error, Repeated: true})
		}
	}
	m, err := ch.Send(store.Unscoped(ctx), c.Actor, Reply{OwnerType: in.OwnerType, OwnerID: in.OwnerID, Text: in.Text, Key: key})
	if errors.Is(err, ErrNoChat) {
		return nil, automation.InputErrorf("owner_id", "%s %d has no conversation in %s: the client has not written there, and the record has no profile of it (X: no Twitter field)",
			in.OwnerType, in.OwnerID, in.Channel)
	}
	if err != nil {
		return nil, err
	}
	return automation.ToValue(SendOutput{MessageID: m.ID, Status: m.Status, Error: m.Error})
}

// MessageTriggers are the message triggers: message.received stands for
// a crm.event trigger on the incoming messages the connectors store, so
// its runs come from the change-event log (durable, one per message).
// trigger.record is the message; its owner_type and owner_id name the
// lead, account or contact.
func MessageTriggers() []automation.TriggerKind {
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
