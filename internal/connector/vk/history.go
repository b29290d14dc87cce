package vk

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// HistoryLimit is how many messages one import loads at most (seed 000:
// "За один раз загружается не более 20 сообщений").
const HistoryLimit = 20

// historyDepth is how far back an import looks for messages not yet
// stored: getHistory's largest page.
const historyDepth = 200

// UserError is a refusal the user can act on, in Russian.
type UserError struct {
	Key  string
	Text string
}

func (e *UserError) Error() string { return e.Text }

// UserText is the refusal's words for the card.
func (e *UserError) UserText() string { return e.Text }

func (s *Service) refuse(key string, args ...any) error {
	return &UserError{Key: key, Text: s.t(key, args...)}
}

// ImportHistory loads the newest messages of the conversation with a
// record's client that are not stored yet, at most HistoryLimit of them,
// onto the record; a second import of the same conversation adds
// nothing. Access is the caller's: ctx's scope decides whether it may see
// the record.
func (s *Service) ImportHistory(ctx context.Context, actor crm.Actor, ownerType string, ownerID int64) (int, error) {
	if ownerID == 0 {
		return 0, s.refuse("vk.error.new_record")
	}
	c, err := s.clientOf(ctx, ownerType, ownerID)
	if err != nil {
		return 0, err
	}
	connID, peer, err := s.chatOf(ctx, ownerType, ownerID)
	if errors.Is(err, ErrNoChat) {
		if c.ID == 0 && c.Ref == "" {
			return 0, s.refuse("vk.error.no_client")
		}
		return 0, s.refuse("vk.error.no_community")
	}
	if err != nil {
		return 0, err
	}
	cm, err := s.open(ctx, connID)
	if err != nil {
		return 0, err
	}
	h, err := s.sender(cm.set).GetHistory(ctx, peer, historyDepth)
	if err != nil {
		text, _ := s.Explain(err)
		return 0, &UserError{Key: "vk.error", Text: text}
	}
	n := 0
	err = s.d.Store.Write(ctx, actor, func(t *store.Tx) error {
		n = 0
		chatID := strconv.FormatInt(peer, 10)
		var fresh []Message
		for _, m := range h.Items { // newest first
			if len(fresh) == HistoryLimit {
				break
			}
			if m.PeerID != peer || m.ID <= 0 {
				continue
			}
			_, err := t.MessageByExternal(crm.ChannelVK, connID, chatID, strconv.FormatInt(m.ID, 10))
			if err == nil {
				continue
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			fresh = append(fresh, m)
		}
		// Oldest first, so that the list's order is the conversation's.
		for i := len(fresh) - 1; i >= 0; i-- {
			m := fresh[i]
			dir := crm.DirectionIn
			if m.Out == 1 {
				dir = crm.DirectionOut
			}
			msg := messageOf(connID, m, dir, "")
			if msg.Text == "" && len(msg.Attachments) == 0 {
				continue
			}
			msg.OwnerType, msg.OwnerID, msg.AssignedByID = ownerType, ownerID, c.Assigned
			if _, err := t.CreateMessage(msg); err != nil {
				return fmt.Errorf("vk: message %d of user %d: %w", m.ID, peer, err)
			}
			n++
		}
		return nil
	})
	return n, err
}
