package x

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// stuckAfter is how long a post may stay "sending" before the sweep
// decides its process died mid-request and looks for it on X.
const stuckAfter = 2 * time.Minute

// codeCheck is the error code of a post whose answer was lost and that
// the sweep has yet to look for among the account's posts.
const codeCheck = "check"

// Name is the channel's name: the Service is a connector.Channel.
func (s *Service) Name() string { return crm.ChannelTwitter }

var _ connector.Channel = (*Service)(nil)

// handleRe is an X username: 1–15 letters, digits and underscores.
var handleRe = regexp.MustCompile(`^[A-Za-z0-9_]{1,15}$`)

// Handle reads a username from what a record's Twitter field holds:
// "https://x.com/name", "twitter.com/name", "@name" or "name" ("" when
// it is none).
func Handle(v string) string {
	v = strings.TrimSpace(v)
	if h, ok := strings.CutPrefix(v, "@"); ok {
		v = h
	} else if strings.Contains(v, "/") {
		if !strings.Contains(v, "://") {
			v = "https://" + v
		}
		u, err := url.Parse(v)
		if err != nil {
			return ""
		}
		host := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
		host = strings.TrimPrefix(host, "mobile.")
		if host != "x.com" && host != "twitter.com" {
			return ""
		}
		path := strings.Trim(u.Path, "/")
		if path == "" && strings.HasPrefix(u.Fragment, "!/") { // twitter.com/#!/name
			path = strings.Trim(strings.TrimPrefix(u.Fragment, "!"), "/")
		}
		v, _, _ = strings.Cut(path, "/")
	}
	if !handleRe.MatchString(v) {
		return ""
	}
	return v
}

// handleOf is the username of a record's client: its first Twitter web
// address that is one. The read is the caller's: ctx's scope decides
// whether it may see the record.
func (s *Service) handleOf(ctx context.Context, ownerType string, ownerID int64) (string, error) {
	var webs []crm.Comm
	switch ownerType {
	case store.EntityLead:
		r, err := s.d.Store.GetLead(ctx, ownerID)
		if err != nil {
			return "", err
		}
		webs = r.Webs
	case store.EntityContact:
		r, err := s.d.Store.GetContact(ctx, ownerID)
		if err != nil {
			return "", err
		}
		webs = r.Webs
	case store.EntityAccount:
		r, err := s.d.Store.GetAccount(ctx, ownerID)
		if err != nil {
			return "", err
		}
		webs = r.Webs
	default:
		return "", crm.Invalid("owner_id", "owner_type and owner_id go together")
	}
	for _, w := range webs {
		if strings.EqualFold(w.ValueType, "TWITTER") {
			if h := Handle(w.Value); h != "" {
				return h, nil
			}
		}
	}
	return "", nil
}

// accountID is the connection posts go from: the oldest "x" connection.
func (s *Service) accountID(ctx context.Context) (int64, error) {
	cs, err := s.d.Conns.List(ctx, Type)
	if err != nil {
		return 0, err
	}
	var id int64
	for _, c := range cs {
		if id == 0 || c.ID < id {
			id = c.ID
		}
	}
	return id, nil
}

// Text is the post a reply makes: "@handle text", the seed's form (the
// text as it is when it already starts with the mention), with the
// links of its files after it.
func Text(handle, text string, files []crm.Attachment) string {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(strings.ToLower(text), "@"+strings.ToLower(handle)) {
		text = "@" + handle + " " + text
	}
	for _, a := range files {
		if a.URL != "" {
			text += " " + a.URL
		}
	}
	return text
}

// Send publishes a reply as a post "@handle text", the handle from the
// record's Twitter field: stored queued first, then delivered; what X
// answered is on the returned message (status, error in Russian).
// ErrNoChat when the record has no Twitter handle or no X account is
// connected.
func (s *Service) Send(ctx context.Context, actor crm.Actor, r connector.Reply) (crm.Message, error) {
	handle, err := s.handleOf(ctx, r.OwnerType, r.OwnerID)
	if err != nil {
		return crm.Message{}, err
	}
	connID, err := s.accountID(ctx)
	if err != nil {
		return crm.Message{}, err
	}
	if handle == "" || connID == 0 {
		return crm.Message{}, connector.ErrNoChat
	}
	m := crm.Message{Channel: crm.ChannelTwitter, Direction: crm.DirectionOut, ConnectionID: connID, Handle: "@" + handle,
		ChatID: strings.ToLower(handle), Text: Text(handle, r.Text, r.Attachments), OwnerType: r.OwnerType, OwnerID: r.OwnerID,
		Status: crm.MessageQueued}
	return s.outbox().Queue(ctx, actor, m, r.Key, s.Deliver)
}

// local is a post refused before X was asked.
type local struct{ text, code string }

func (e *local) Error() string { return "x: " + e.code + ": " + e.text }

// Deliver publishes a queued message, at most once. X takes no
// idempotency key, so the message is marked sending in its own write
// before X is asked, and sent (with the post's id) or failed after; a
// second Deliver finds it no longer queued and posts nothing. A post
// whose answer was lost is never posted again blindly: the sweep looks
// for it among the account's recent posts first (Reconcile).
func (s *Service) Deliver(ctx context.Context, id int64) error {
	ctx = store.Unscoped(ctx)
	m, claimed, err := s.outbox().Claim(ctx, id)
	if err != nil || !claimed {
		return err
	}
	var posted Tweet
	if w := Weight(m.Text); w > MaxWeight {
		err = &local{s.t("x.error.too_long", w, MaxWeight), "too_long"}
	} else {
		var a account
		if a, err = s.open(ctx, m.ConnectionID); err == nil {
			posted, err = a.c.Post(ctx, m.Text)
		}
	}
	uerr := s.outbox().Record(ctx, id, func(cur *crm.Message) error {
		s.settle(cur, posted, err)
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

// settle writes what became of a post on its message.
func (s *Service) settle(cur *crm.Message, posted Tweet, err error) {
	if err == nil {
		at := s.d.Now()
		cur.Status, cur.ExternalID, cur.SentAt, cur.Error, cur.ErrorCode, cur.RetryAt = crm.MessageSent, posted.ID, &at, "", "", nil
		return
	}
	var ae *APIError
	var lc *local
	switch {
	case errors.As(err, &lc):
		cur.Status, cur.Error, cur.ErrorCode = crm.MessageFailed, lc.text, lc.code
		return
	case errors.Is(err, store.ErrNotFound):
		cur.Status, cur.Error, cur.ErrorCode = crm.MessageFailed, s.t("x.error.no_connection"), "no_connection"
		return
	}
	cur.Error, cur.ErrorCode = s.explain(err)
	switch {
	case errors.As(err, &ae) && ae.Status == 429:
		retry := ae.Reset
		if retry.IsZero() || retry.Before(s.d.Now()) {
			retry = s.d.Now().Add(15 * time.Minute)
		}
		cur.Status, cur.RetryAt = crm.MessageQueued, &retry
	case errors.As(err, &ae), errors.As(err, new(*connector.Refused)):
		cur.Status = crm.MessageFailed
	case errors.As(err, new(*connector.NotSent)):
		retry := s.d.Now().Add(30 * time.Second)
		cur.Status, cur.RetryAt = crm.MessageQueued, &retry
	default:
		// The request may have reached X: the sweep looks for the post
		// before anything is posted again.
		cur.Status, cur.Error, cur.ErrorCode = crm.MessageUnknown, s.t("x.error.checking"), codeCheck
	}
}

// outbox is the at-most-once course of the posts.
func (s *Service) outbox() connector.Outbox {
	return connector.Outbox{Store: s.d.Store, Channel: crm.ChannelTwitter, Actor: crm.Actor{Integration: Integration}, Now: s.d.Now, Log: s.d.Log}
}

// same says a post's text as X shows it is the text that was sent: X
// escapes &, < and > and replaces links by t.co ones.
func same(shown, sent string) bool {
	norm := func(s string) string {
		return strings.Join(strings.Fields(linkRe.ReplaceAllString(html.UnescapeString(s), " ")), " ")
	}
	return norm(shown) == norm(sent)
}

// Reconcile settles a post whose answer was lost (unknown, to be
// checked): found among the account's posts since it was made, it is
// sent; not found, it is queued again (it was not published); when X
// cannot be asked (the free tier reads almost nothing), it stays unknown
// for a person to look at the account and decide — never posted twice.
func (s *Service) Reconcile(ctx context.Context, id int64) error {
	ctx = store.Unscoped(ctx)
	m, err := s.d.Store.GetMessage(ctx, id)
	if err != nil {
		return err
	}
	if m.Channel != crm.ChannelTwitter || m.Status != crm.MessageUnknown || m.ErrorCode != codeCheck {
		return nil
	}
	if m.RetryAt != nil && m.RetryAt.After(s.d.Now()) {
		return nil
	}
	var found *Tweet
	a, err := s.open(ctx, m.ConnectionID)
	if err == nil {
		var me User
		if me, err = a.c.Me(ctx); err == nil {
			var ts []Tweet
			if ts, err = a.c.Recent(ctx, me.ID, m.CreatedAt.Add(-time.Minute)); err == nil {
				for i := range ts {
					if same(ts[i].Text, m.Text) {
						found = &ts[i]
						break
					}
				}
			}
		}
	}
	_, uerr := s.d.Store.UpdateMessage(context.WithoutCancel(ctx), crm.Actor{Integration: Integration}, id, func(cur *crm.Message) error {
		if cur.Status != crm.MessageUnknown || cur.ErrorCode != codeCheck {
			return connector.ErrNotDue
		}
		var ae *APIError
		switch {
		case found != nil:
			at := s.d.Now()
			cur.Status, cur.ExternalID, cur.SentAt, cur.Error, cur.ErrorCode, cur.RetryAt = crm.MessageSent, found.ID, &at, "", "", nil
		case err == nil:
			cur.Status, cur.Error, cur.ErrorCode, cur.RetryAt = crm.MessageQueued, "", "", nil
		case errors.As(err, &ae) && ae.Status == 429 || errors.As(err, new(*connector.NotSent)):
			retry := lookAgainAt(err, s.d.Now())
			cur.RetryAt = &retry
		default:
			cur.Error, cur.ErrorCode = s.t("x.error.unknown"), "unknown"
		}
		return nil
	})
	if errors.Is(uerr, connector.ErrNotDue) {
		uerr = nil
	}
	if uerr != nil {
		return fmt.Errorf("x: message %d: %w", id, uerr)
	}
	return nil
}

// lookAgainAt is when to look again after a refusal that passes.
func lookAgainAt(err error, now time.Time) time.Time {
	var ae *APIError
	if errors.As(err, &ae) && ae.Reset.After(now) {
		return ae.Reset
	}
	return now.Add(15 * time.Minute)
}

// Sweep looks for the posts whose answer was lost (and those left
// "sending" by a process that died) and delivers the queued ones whose
// time has come. It returns how many it delivered or tried.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	ctx = store.Unscoped(ctx)
	o := s.outbox()
	if err := o.SettleStuck(ctx, stuckAfter, func(cur *crm.Message) error {
		cur.Status, cur.Error, cur.ErrorCode = crm.MessageUnknown, s.t("x.error.checking"), codeCheck
		return nil
	}); err != nil {
		return 0, err
	}
	check, _, err := s.d.Store.ListMessages(ctx, store.ListParams{Limit: 20, Filters: []store.Filter{
		{Field: "channel", Op: "eq", Value: crm.ChannelTwitter}, {Field: "status", Op: "eq", Value: crm.MessageUnknown},
		{Field: "error_code", Op: "eq", Value: codeCheck}}})
	if err != nil {
		return 0, err
	}
	for _, m := range check {
		if err := s.Reconcile(ctx, m.ID); err != nil {
			s.d.Log.Warn("x: reconcile", "message", m.ID, "err", err)
		}
	}
	return o.DeliverDue(ctx, s.Deliver)
}

// Run sweeps the outbox every few seconds until ctx ends.
func (s *Service) Run(ctx context.Context) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.d.Log.Error("x: outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
