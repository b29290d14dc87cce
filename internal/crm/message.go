package crm

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Message channels: the messengers and social networks a message goes
// through. Telegram has a connector (internal/connector/telegram); the
// others are here so that the model, the lists and the filters are ready
// for theirs.
const (
	ChannelTelegram = "telegram"
	ChannelVK       = "vk"
	ChannelFacebook = "facebook"
	ChannelTwitter  = "twitter"
)

// MessageChannels are the known channels, in menu order.
var MessageChannels = []string{ChannelTelegram, ChannelVK, ChannelFacebook, ChannelTwitter}

// Message directions.
const (
	DirectionIn  = "in"
	DirectionOut = "out"
)

// Message delivery states. An incoming message is received; an outgoing
// one is queued, then sending while the remote API is being asked, then
// sent or failed. Unknown is a send whose answer never came (a timeout
// after the request left): it may or may not have been delivered, and it
// is not sent again by itself, so that a client never gets it twice.
const (
	MessageReceived = "received"
	MessageQueued   = "queued"
	MessageSending  = "sending"
	MessageSent     = "sent"
	MessageFailed   = "failed"
	MessageUnknown  = "unknown"
)

// MessageStatuses are the delivery states, in their order of life.
var MessageStatuses = []string{MessageReceived, MessageQueued, MessageSending, MessageSent, MessageFailed, MessageUnknown}

// MessageOwnerTypes are the records a message can be linked to (seed 000:
// Обращения, Контрагенты, Контакты).
var MessageOwnerTypes = []string{"lead", "account", "contact"}

// Attachment is a file of a message: a link anyone can open, or a file
// the channel keeps (FileID: Telegram's file_id), fetched on demand.
type Attachment struct {
	Name   string `json:"name"`
	URL    string `json:"url,omitempty"`
	FileID string `json:"file_id,omitempty"`
	MIME   string `json:"mime,omitempty"`
	Size   int64  `json:"size,omitempty"`
	// LocalID is a file a user attached, kept by Obmen (message_files)
	// and sent by the channel as a document.
	LocalID int64 `json:"local_id,omitempty"`
}

// Message is one message to or from a client in a messenger or a social
// network, linked to the lead, account or contact it was with. A message
// of a record in the recycle bin keeps its link, so that restoring the
// record brings its conversation back.
type Message struct {
	Meta
	Channel   string `json:"channel"`
	Direction string `json:"direction"`
	// ConnectionID is the connection (internal/connection) it came in
	// through or goes out by; 0 when none.
	ConnectionID int64 `json:"connection_id"`
	// Handle is the client in the channel as a person would write it:
	// @username, a profile URL, a phone.
	Handle string `json:"handle"`
	// ChatID and ExternalID are the channel's ids of the conversation and
	// of the message within it ("" until an outgoing message is sent).
	ChatID      string       `json:"chat_id"`
	ExternalID  string       `json:"external_id"`
	Text        string       `json:"text"`
	Attachments []Attachment `json:"attachments"`
	// SentAt is when the message was written (incoming: the channel's
	// time) or delivered (outgoing).
	SentAt *time.Time `json:"sent_at"`
	// Author is the name the client goes by in the channel (incoming);
	// an outgoing message's author is its created_by_id.
	Author string `json:"author"`
	Status string `json:"status"`
	// Error is why a send failed, in the user's words; ErrorCode the
	// channel's code (403, 429 …), RetryAt when a rate limit allows the
	// next attempt.
	Error     string     `json:"error"`
	ErrorCode string     `json:"error_code"`
	RetryAt   *time.Time `json:"retry_at,omitempty"`
	OwnerType string     `json:"owner_type"`
	OwnerID   int64      `json:"owner_id"`
	Extra
}

// maxMessageText bounds a message's text: Telegram's 4096 is the
// smallest of the channels' limits, but an incoming caption or an
// imported post may be longer, and is kept whole.
const maxMessageText = 65000

// Normalize trims, validates and fills defaults.
func (m *Message) Normalize() error {
	trimAll(&m.Channel, &m.Direction, &m.Handle, &m.ChatID, &m.ExternalID, &m.Author, &m.Status, &m.OwnerType, &m.ErrorCode)
	m.Channel, m.Direction = strings.ToLower(m.Channel), strings.ToLower(m.Direction)
	if m.Channel == "" {
		return Invalid("channel", "required")
	}
	if !oneOf(m.Channel, MessageChannels) {
		return Invalid("channel", "%q is not one of %s", m.Channel, strings.Join(MessageChannels, ", "))
	}
	switch m.Direction {
	case DirectionIn, DirectionOut:
	case "":
		return Invalid("direction", "required")
	default:
		return Invalid("direction", "%q is not one of %s", m.Direction, "in, out")
	}
	if m.Status == "" {
		m.Status = MessageQueued
		if m.Direction == DirectionIn {
			m.Status = MessageReceived
		}
	}
	if !oneOf(m.Status, MessageStatuses) {
		return Invalid("status", "%q is not one of %s", m.Status, strings.Join(MessageStatuses, ", "))
	}
	if (m.Status == MessageReceived) != (m.Direction == DirectionIn) {
		return Invalid("status", "%q is not one of %s", m.Status, statusesOf(m.Direction))
	}
	if strings.TrimSpace(m.Text) == "" && len(m.Attachments) == 0 {
		return Invalid("text", "required")
	}
	if (m.OwnerType == "") != (m.OwnerID == 0) {
		return Invalid("owner_id", "owner_type and owner_id go together")
	}
	if m.OwnerType != "" && !oneOf(m.OwnerType, MessageOwnerTypes) {
		return Invalid("owner_type", "%q is not one of %s", m.OwnerType, strings.Join(MessageOwnerTypes, ", "))
	}
	if m.Attachments == nil {
		m.Attachments = []Attachment{}
	}
	for i := range m.Attachments {
		a := &m.Attachments[i]
		trimAll(&a.Name, &a.URL, &a.FileID, &a.MIME)
		field := "attachments[" + strconv.Itoa(i) + "]"
		if a.URL == "" && a.FileID == "" && a.LocalID == 0 {
			return Invalid(field+".url", "required")
		}
		if a.URL != "" {
			if u, err := url.Parse(a.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return Invalid(field+".url", "must be an http(s) URL, got %q", a.URL)
			}
		}
		if err := firstErr(checkLen(field+".name", a.Name, 255), checkLen(field+".url", a.URL, 2000)); err != nil {
			return err
		}
	}
	if len(m.Attachments) > 10 {
		return Invalid("attachments", "more than %d files", 10)
	}
	return firstErr(checkLen("text", m.Text, maxMessageText), checkLen("handle", m.Handle, 255),
		checkLen("chat_id", m.ChatID, 255), checkLen("external_id", m.ExternalID, 255), checkLen("author", m.Author, 255),
		checkLen("error", m.Error, 2000), checkLen("error_code", m.ErrorCode, 64))
}

func statusesOf(direction string) string {
	if direction == DirectionIn {
		return MessageReceived
	}
	return strings.Join([]string{MessageQueued, MessageSending, MessageSent, MessageFailed, MessageUnknown}, ", ")
}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}

// SearchText is what q= matches.
func (m *Message) SearchText() string { return SearchText(m.Text, m.Handle, m.Author) }
