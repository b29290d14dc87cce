package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// seenEvery is how often a user's last activity is written: "online now"
// needs minutes, not every request.
const seenEvery = time.Minute

// NoteSeen records that a user made a signed-in request (a session's or
// an API key's), at most once a minute per user. A failed write is let
// go: online status is a hint, and the next minute's request writes it.
func (s *Store) NoteSeen(ctx context.Context, userID int64) {
	now := s.now()
	if v, ok := s.seen.Load(userID); ok && now.Sub(v.(time.Time)) < seenEvery {
		return
	}
	s.seen.Store(userID, now)
	_ = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE users SET last_seen_at = $1 WHERE id = $2", micro(now), userID)
		return err
	})
}

// UserLastSeen is when a user last made a signed-in request (zero when
// never): the session's or API key's last recorded use.
func (s *Store) UserLastSeen(ctx context.Context, userID int64) (time.Time, error) {
	var seen, key int64
	err := s.db.Read.QueryRowContext(ctx, `SELECT u.last_seen_at, COALESCE((SELECT MAX(k.last_used_at) FROM api_keys k WHERE k.user_id = u.id), 0)
		FROM users u WHERE u.id = $1`, userID).Scan(&seen, &key)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, NotFound("user", userID)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("store: last seen of user %d: %w", userID, err)
	}
	seen = max(seen, key)
	if seen == 0 {
		return time.Time{}, nil
	}
	return fromMicro(seen), nil
}

// GetUserProfile returns a user's profile (empty fields when none was
// saved); store.ErrNotFound when there is no such user.
func (s *Store) GetUserProfile(ctx context.Context, userID int64) (crm.UserProfile, error) {
	var p crm.UserProfile
	var doc sql.NullString
	err := s.db.Read.QueryRowContext(ctx, `SELECT p.profile FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id WHERE u.id = $1`, userID).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return p, NotFound("user", userID)
	}
	if err != nil {
		return p, fmt.Errorf("store: profile of user %d: %w", userID, err)
	}
	if doc.Valid && doc.String != "" {
		if err := json.Unmarshal([]byte(doc.String), &p); err != nil {
			return p, fmt.Errorf("store: profile of user %d: %w", userID, err)
		}
	}
	if p.UserType == "" {
		p.UserType = crm.UserTypeEmployee
	}
	return p, nil
}

// SetUserProfile replaces a user's profile.
func (s *Store) SetUserProfile(ctx context.Context, actor crm.Actor, userID int64, p crm.UserProfile) (crm.UserProfile, error) {
	if err := p.Normalize(); err != nil {
		return p, err
	}
	doc, err := json.Marshal(p)
	if err != nil {
		return p, fmt.Errorf("store: profile of user %d: %w", userID, err)
	}
	err = s.Write(ctx, actor, func(t *Tx) error {
		var one int
		if err := t.tx.QueryRowContext(t.ctx, "SELECT 1 FROM users WHERE id = $1", userID).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return NotFound("user", userID)
			}
			return fmt.Errorf("store: profile of user %d: %w", userID, err)
		}
		_, err := t.tx.ExecContext(t.ctx, `INSERT INTO user_profiles (user_id, profile, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (user_id) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at`, userID, string(doc), micro(s.now()))
		if err != nil {
			return fmt.Errorf("store: profile of user %d: %w", userID, err)
		}
		return nil
	})
	return p, err
}
