package vk

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// stuckAfter is how long a send may stay "sending" before the sweep
// decides its process died mid-request.
const stuckAfter = 2 * time.Minute

// resendWindow is how long after a message was written a send whose
// outcome is unknown (a timeout, VK's internal error, a process that
// died mid-request) is tried again: VK sends a message once per
// random_id, so the repeat cannot deliver it twice. Past it the message
// is left "unknown" rather than trusting VK's memory of random_ids.
const resendWindow = 15 * time.Minute

// Name is the channel's name: the Service is a connector.Channel.
func (s *Service) Name() string { return crm.ChannelVK }

var _ connector.Channel = (*Service)(nil)

// ErrNoChat is a reply to a record whose VK user is not known.
var ErrNoChat = connector.ErrNoChat

// RandomID is messages.send's random_id of our message id: the same for
// every attempt to send a message, different for each message (until
// 2³¹ messages), never 0 (which VK reads as "no deduplication").
func RandomID(messageID int64) int32 {
	r := messageID % math.MaxInt32
	if r <= 0 {
		r += math.MaxInt32
	}
	return int32(r)
}

// Send writes a reply to the record's client in VK: the conversation its
// last VK message was in, else the VK user of the record (its VK id, or
// its VK profile field). The message is stored queued first, then
// delivered; what VK answered is on the returned message (status, error
// in Russian). Access is the caller's: ctx's scope decides whether it may
// see the record.
func (s *Service) Send(ctx context.Context, actor crm.Actor, r connector.Reply) (crm.Message, error) {
	connID, peer, err := s.chatOf(ctx, r.OwnerType, r.OwnerID)
	if err != nil {
		return crm.Message{}, err
	}
	m := crm.Message{Channel: crm.ChannelVK, Direction: crm.DirectionOut, ConnectionID: connID, ChatID: strconv.FormatInt(peer, 10),
		Handle: ProfileURL(peer), Text: r.Text, Attachments: r.Attachments, OwnerType: r.OwnerType, OwnerID: r.OwnerID, Status: crm.MessageQueued}
	return s.outbox().Queue(ctx, actor, m, r.Key, s.Deliver)
}

// chatOf finds the connection and the peer (the VK user id) of a
// record's conversation.
func (s *Service) chatOf(ctx context.Context, ownerType string, ownerID int64) (int64, int64, error) {
	if ownerType == "" || ownerID == 0 {
		return 0, 0, crm.Invalid("owner_id", "owner_type and owner_id go together")
	}
	p := store.ListParams{Limit: 1, Sort: "-created_at", Filters: []store.Filter{{Field: "owner_type", Op: "eq", Value: ownerType},
		{Field: "owner_id", Op: "eq", Value: strconv.FormatInt(ownerID, 10)}, {Field: "channel", Op: "eq", Value: crm.ChannelVK}}}
	ms, _, err := s.d.Store.ListMessages(ctx, p)
	if err != nil {
		return 0, 0, err
	}
	if len(ms) > 0 && ms[0].ConnectionID != 0 {
		if peer, err := strconv.ParseInt(ms[0].ChatID, 10, 64); err == nil && peer > 0 {
			return ms[0].ConnectionID, peer, nil
		}
	}
	c, err := s.clientOf(ctx, ownerType, ownerID)
	if err != nil {
		return 0, 0, err
	}
	if c.ID == 0 && c.Ref == "" {
		return 0, 0, ErrNoChat
	}
	cm, err := s.firstCommunity(ctx)
	if err != nil {
		return 0, 0, err
	}
	if c.ID == 0 {
		// A screen name: VK knows whose it is.
		if c.ID, err = s.resolve(ctx, cm, ownerType, ownerID, c.Ref); err != nil {
			return 0, 0, err
		}
	}
	return cm.conn.ID, c.ID, nil
}

// resolve finds the VK user id of a record's screen name
// (utils.resolveScreenName) and keeps it in the record's external ids,
// leaving the VK field as the user typed it, so that VK is asked once. A
// name that is no one's, or a community's or an application's, is
// refused in Russian.
func (s *Service) resolve(ctx context.Context, cm community, ownerType string, ownerID int64, ref string) (int64, error) {
	r, ok, err := s.reader(cm.set).ResolveScreenName(ctx, ref)
	if err != nil {
		text, _ := s.Explain(err)
		return 0, &UserError{Key: "vk.error", Text: text}
	}
	if !ok {
		return 0, s.refuse("vk.error.unresolved", ref)
	}
	if r.Type != "user" {
		return 0, s.refuse("vk.error.not_user", ref)
	}
	id := strconv.FormatInt(r.ObjectID, 10)
	// Keeping the id is the connector's doing, not the user's change.
	sys, actor := store.Unscoped(ctx), crm.Actor{Integration: Integration}
	keep := func(ext *map[string]string) error { keepVKID(ext, id); return nil }
	switch ownerType {
	case store.EntityLead:
		_, err = s.d.Store.UpdateLead(sys, actor, ownerID, func(l *crm.Lead) error { return keep(&l.ExternalIDs) })
	case store.EntityContact:
		_, err = s.d.Store.UpdateContact(sys, actor, ownerID, func(c *crm.Contact) error { return keep(&c.ExternalIDs) })
	case store.EntityAccount:
		_, err = s.d.Store.UpdateAccount(sys, actor, ownerID, func(a *crm.Account) error { return keep(&a.ExternalIDs) })
	}
	if err != nil {
		// Another record has this VK user already (the write is the
		// connector's, unscoped): the send goes on, VK is asked again
		// next time.
		s.d.Log.Warn("vk: the resolved user id not kept", "owner_type", ownerType, "owner_id", ownerID, "screen_name", ref, "user", id, "err", err)
	}
	return r.ObjectID, nil
}

// firstCommunity is the VK connection replies to a record without a VK
// conversation go through: the oldest one.
func (s *Service) firstCommunity(ctx context.Context) (community, error) {
	cs, err := s.d.Conns.List(ctx, Type)
	if err != nil {
		return community{}, err
	}
	if len(cs) == 0 {
		return community{}, ErrNoChat
	}
	first := cs[0]
	for _, c := range cs[1:] {
		if c.ID < first.ID {
			first = c
		}
	}
	return s.open(ctx, first.ID)
}

// Deliver sends a queued message. It is marked sending in its own write
// before VK is asked, and sent (with VK's message id) or failed after.
// A second Deliver of the same message — a job retried, two instances —
// finds it no longer queued and sends nothing. Every attempt carries the
// same random_id, so one whose answer was lost (a timeout, VK's error
// 10) is put back in the queue and repeated safely within resendWindow;
// error 6 (too many requests) too, with a pause.
func (s *Service) Deliver(ctx context.Context, id int64) error {
	ctx = store.Unscoped(ctx)
	m, claimed, err := s.outbox().Claim(ctx, id)
	if err != nil || !claimed {
		return err
	}
	cm, err := s.open(ctx, m.ConnectionID)
	var sentID int64
	if err == nil {
		var peer int64
		peer, err = strconv.ParseInt(m.ChatID, 10, 64)
		if err != nil {
			err = fmt.Errorf("vk: message %d: %w: %q", m.ID, errBadPeer, m.ChatID)
		} else {
			c := s.sender(cm.set)
			docs, links, failed := s.uploadDocs(ctx, c, peer, m)
			if len(failed) > 0 && strings.TrimSpace(m.Text) == "" && len(docs) == 0 && len(links) == 0 {
				// Nothing left to send: the file is the message.
				err = fmt.Errorf("vk: message %d: %w", m.ID, errNoFile)
			} else {
				sentID, err = c.Send(ctx, peer, RandomID(m.ID), textWith(m.Text, links), docs)
			}
		}
	}
	broken := false
	uerr := s.outbox().Record(ctx, id, func(cur *crm.Message) error {
		if err == nil {
			at := s.d.Now().UTC()
			cur.Status, cur.ExternalID, cur.SentAt = crm.MessageSent, strconv.FormatInt(sentID, 10), &at
			return nil
		}
		cur.Error, cur.ErrorCode = s.Explain(err)
		var ae *APIError
		inWindow := s.d.Now().Sub(cur.CreatedAt) < resendWindow
		switch {
		case errors.Is(err, store.ErrNotFound):
			cur.Status, cur.Error, cur.ErrorCode = crm.MessageFailed, s.t("vk.error.no_connection"), "no_connection"
		case errors.As(err, &ae) && ae.Code == ErrTooMany && inWindow:
			retry := s.d.Now().Add(10 * time.Second)
			cur.Status, cur.RetryAt = crm.MessageQueued, &retry
		case errors.As(err, &ae) && (ae.Code == ErrInternal || ae.Code == ErrUnknown) && inWindow:
			retry := s.d.Now().Add(30 * time.Second)
			cur.Status, cur.RetryAt = crm.MessageQueued, &retry
		case errors.As(err, &ae):
			// A refusal: captcha, flood control, the client's privacy,
			// a token gone bad. Never repeated by itself.
			cur.Status = crm.MessageFailed
			broken = ae.Code == ErrAuth
		case errors.Is(err, errNoFile):
			cur.Status, cur.Error, cur.ErrorCode = crm.MessageFailed, s.t("vk.error.file"), "file"
		case errors.As(err, new(*connector.Refused)), errors.Is(err, errBadPeer):
			cur.Status = crm.MessageFailed
		case errors.As(err, new(*connector.NotSent)):
			retry := s.d.Now().Add(30 * time.Second)
			cur.Status, cur.RetryAt = crm.MessageQueued, &retry
		case inWindow:
			// The request may have reached VK: the repeat carries the
			// same random_id, which VK does not send twice.
			retry := s.d.Now().Add(30 * time.Second)
			cur.Status, cur.RetryAt = crm.MessageQueued, &retry
			cur.Error, cur.ErrorCode = s.t("vk.error.retry"), "timeout"
		default:
			cur.Status = crm.MessageUnknown
		}
		return nil
	})
	if broken {
		if berr := s.d.Conns.MarkBroken(context.WithoutCancel(ctx), m.ConnectionID, s.t("vk.error.5")); berr != nil {
			s.d.Log.Warn("vk: mark the connection broken", "connection", m.ConnectionID, "err", berr)
		}
	}
	if uerr != nil {
		return uerr
	}
	return err
}

var (
	errBadPeer = errors.New("the chat id is not a VK peer id")
	errNoFile  = errors.New("the file could not be uploaded to VK")
)

// textWith is what messages.send carries: the text, then the links of
// the attachments that could not be sent as VK documents.
func textWith(text string, links []crm.Attachment) string {
	var b strings.Builder
	b.WriteString(text)
	for _, a := range links {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		if a.Name != "" {
			b.WriteString(a.Name + ": ")
		}
		b.WriteString(a.URL)
	}
	return b.String()
}

// uploadDocs sends a message's files to VK as documents
// (docs.getMessagesUploadServer, the upload, docs.save) and returns them
// as messages.send attachments; a file that cannot be fetched or
// uploaded goes as its link instead — the message is not held back for
// it. The files are fetched through the SSRF-guarded client.
func (s *Service) uploadDocs(ctx context.Context, c *Client, peer int64, m crm.Message) (docs []string, links []crm.Attachment, failed []string) {
	server := ""
	for _, a := range m.Attachments {
		if a.URL == "" && a.LocalID == 0 {
			continue
		}
		doc, err := func() (string, error) {
			var data []byte
			var err error
			if a.LocalID != 0 {
				// A file the user attached, kept by us.
				var f store.MessageFile
				if f, err = s.d.Store.GetMessageFile(ctx, a.LocalID); err != nil {
					return "", err
				}
				data = f.Data
			} else if data, err = s.download(ctx, a.URL, maxDoc); err != nil {
				return "", err
			}
			if server == "" {
				if server, err = c.DocUploadServer(ctx, peer); err != nil {
					return "", err
				}
			}
			name := a.Name
			if name == "" {
				name = path.Base(a.URL)
			}
			file, err := c.UploadDoc(ctx, server, name, data)
			if err != nil {
				return "", err
			}
			return c.SaveDoc(ctx, file, name)
		}()
		if err != nil {
			s.d.Log.Warn("vk: a file as a document, sent as a link", "message", m.ID, "file", a.Name, "err", err)
			if a.URL != "" {
				links = append(links, a)
			} else {
				failed = append(failed, a.Name)
			}
			continue
		}
		docs = append(docs, doc)
	}
	return docs, links, failed
}

// Sweep puts back in the queue the sends left "sending" longer than
// stuckAfter (their process died between asking VK and recording the
// answer; the repeat carries the same random_id) — or marks them unknown
// past resendWindow — and delivers the queued messages whose time has
// come. It returns how many it delivered or tried.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	o := s.outbox()
	if err := o.SettleStuck(ctx, stuckAfter, func(cur *crm.Message) error {
		if s.d.Now().Sub(cur.CreatedAt) < resendWindow {
			cur.Status, cur.RetryAt = crm.MessageQueued, nil
			return nil
		}
		cur.Status, cur.Error, cur.ErrorCode = crm.MessageUnknown, s.t("vk.error.unknown"), "unknown"
		return nil
	}); err != nil {
		return 0, err
	}
	return o.DeliverDue(ctx, s.Deliver)
}

// outbox is the at-most-once course of the messages.
func (s *Service) outbox() connector.Outbox {
	return connector.Outbox{Store: s.d.Store, Channel: crm.ChannelVK, Actor: crm.Actor{Integration: Integration}, Now: s.d.Now, Log: s.d.Log}
}
