package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// maxPrefValue bounds one preference (a list's query string, a saved
// filter).
const maxPrefValue = 4000

// Pref is one of a user's preferences.
type Pref struct {
	Key, Value string
}

// GetPref returns a user's preference, ErrNotFound when unset.
func (s *Store) GetPref(ctx context.Context, userID int64, key string) (string, error) {
	var v string
	err := s.db.Read.QueryRowContext(ctx, "SELECT value FROM user_prefs WHERE user_id = $1 AND key = $2", userID, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", NotFound("preference", key)
	}
	if err != nil {
		return "", fmt.Errorf("store: preference %s of user %d: %w", key, userID, err)
	}
	return v, nil
}

// Prefs lists a user's preferences whose keys start with prefix, by key.
func (s *Store) Prefs(ctx context.Context, userID int64, prefix string) ([]Pref, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT key, value FROM user_prefs WHERE user_id = $1 AND key >= $2 AND key < $3 ORDER BY key",
		userID, prefix, prefix+"\U0010FFFF")
	if err != nil {
		return nil, fmt.Errorf("store: preferences %s* of user %d: %w", prefix, userID, err)
	}
	defer rows.Close()
	var out []Pref
	for rows.Next() {
		var p Pref
		if err := rows.Scan(&p.Key, &p.Value); err != nil {
			return nil, fmt.Errorf("store: preferences of user %d: %w", userID, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// SetPref creates or replaces a user's preference.
func (s *Store) SetPref(ctx context.Context, userID int64, key, value string) error {
	key = strings.TrimSpace(key)
	if key == "" || len(key) > 200 {
		return crm.Invalid("key", "must have 1 to 200 characters")
	}
	if len(value) > maxPrefValue {
		return crm.Invalid("value", "longer than %d bytes", maxPrefValue)
	}
	return s.Write(ctx, crm.Actor{UserID: userID}, func(t *Tx) error {
		if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO user_prefs (user_id, key, value, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			userID, key, value, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("store: set preference %s of user %d: %w", key, userID, err)
		}
		return nil
	})
}

// DeletePref removes a user's preference; a missing one is no error.
func (s *Store) DeletePref(ctx context.Context, userID int64, key string) error {
	return s.Write(ctx, crm.Actor{UserID: userID}, func(t *Tx) error {
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM user_prefs WHERE user_id = $1 AND key = $2", userID, key); err != nil {
			return fmt.Errorf("store: delete preference %s of user %d: %w", key, userID, err)
		}
		return nil
	})
}
