// Package connector holds what the connectors to external systems share
// without importing one another (each lives in internal/connector/<name>).
package connector

import (
	"context"
	"errors"

	"github.com/obmen/obmen/internal/crm"
)

// Reply is a message a user (or a bundle's step) writes to the client of
// a lead, account or contact.
type Reply struct {
	OwnerType string
	OwnerID   int64
	Text      string
	// Attachments are links to files the channel fetches itself.
	Attachments []crm.Attachment
	// Key, when set, is kept as the message's external id under
	// KeySystem: a bundle's step that is tried again finds the message
	// its first attempt made, and does not send a second.
	Key string
}

// KeySystem is the external-id system of Reply.Key.
const KeySystem = "automation"

// ErrNoChat is a reply to a record that has no conversation in the
// channel: the client has not written there yet.
var ErrNoChat = errors.New("connector: the record has no chat in this channel")

// Channel is a messenger or a social network that messages with clients
// go through (crm.Message.Channel): Telegram now; VK, Facebook and X
// implement the same three methods.
type Channel interface {
	// Name is the channel's crm.Channel* name.
	Name() string
	// Send stores the reply as an outgoing message of the record's
	// conversation in this channel and delivers it, at most once; the
	// message carries what the channel answered (status, error in
	// Russian). ErrNoChat when the record has no conversation here.
	Send(ctx context.Context, actor crm.Actor, r Reply) (crm.Message, error)
	// Deliver sends a queued outgoing message of this channel, at most
	// once however often it is called.
	Deliver(ctx context.Context, messageID int64) error
}
