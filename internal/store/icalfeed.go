package store

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// NewICalFeed gives userID a new secret token for their read-only
// iCalendar feed, replacing the one they had (a leaked link stops working
// at once). Only its hash is stored: the token returned is the one time
// it can be seen.
func (s *Store) NewICalFeed(ctx context.Context, actor crm.Actor, userID int64) (string, error) {
	prefix, secret := randomHex(6), randomHex(32)
	err := s.Write(ctx, actor, func(t *Tx) error {
		_, err := t.tx.ExecContext(t.ctx, `INSERT INTO ical_feeds (user_id, prefix, hash, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id) DO UPDATE SET prefix = excluded.prefix, hash = excluded.hash, created_at = excluded.created_at`,
			userID, prefix, keyHash(secret), micro(t.now))
		if err != nil {
			return fmt.Errorf("store: new iCalendar feed of user %d: %w", userID, err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return prefix + "_" + secret, nil
}

// DropICalFeed switches userID's feed off.
func (s *Store) DropICalFeed(ctx context.Context, actor crm.Actor, userID int64) error {
	return s.Write(ctx, actor, func(t *Tx) error {
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM ical_feeds WHERE user_id = $1", userID); err != nil {
			return fmt.Errorf("store: drop iCalendar feed of user %d: %w", userID, err)
		}
		return nil
	})
}

// ICalFeedSince is when userID's feed token was made; zero when they have
// none.
func (s *Store) ICalFeedSince(ctx context.Context, userID int64) (time.Time, error) {
	var at int64
	err := s.db.Reader().QueryRowContext(ctx, "SELECT created_at FROM ical_feeds WHERE user_id = $1", userID).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("store: iCalendar feed of user %d: %w", userID, err)
	}
	return fromMicro(at), nil
}

// ICalFeedUser returns the active user whose feed token this is, or
// ErrBadCredentials; the secret is compared in constant time.
func (s *Store) ICalFeedUser(ctx context.Context, token string) (crm.User, error) {
	prefix, secret, ok := strings.Cut(token, "_")
	if !ok || len(prefix) != 12 || len(secret) != 64 {
		return crm.User{}, ErrBadCredentials
	}
	var userID int64
	var hash string
	err := s.db.Reader().QueryRowContext(ctx, "SELECT user_id, hash FROM ical_feeds WHERE prefix = $1", prefix).Scan(&userID, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		keyHash(secret) // same work as a hit
		return crm.User{}, ErrBadCredentials
	}
	if err != nil {
		return crm.User{}, fmt.Errorf("store: check iCalendar feed token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(keyHash(secret)), []byte(hash)) != 1 {
		return crm.User{}, ErrBadCredentials
	}
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return crm.User{}, err
	}
	if !u.Active {
		return crm.User{}, ErrBadCredentials
	}
	return u, nil
}
