package connection

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/store"
)

// HookPath is where a connection's hook URL lives: the remote system
// pushes there (internal/automation serves it).
const HookPath = "/hooks/c/"

// Hook is a connection's hook URL, as made: its token is shown only now.
type Hook struct {
	URL   string `json:"url"`
	Token string `json:"token"`
}

// SetBaseURL sets how others reach this server, for the hook URLs.
func (s *Store) SetBaseURL(base string) { s.base = strings.TrimRight(base, "/") }

// NewHook makes connection id's hook URL anew, with a random token: the
// URL made before stops working. Only the token's hash is kept, so the URL
// is shown once.
func (s *Store) NewHook(ctx context.Context, id int64) (Hook, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return Hook{}, fmt.Errorf("connection: hook token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE connections SET hook_hash = $2, hook_at = $3 WHERE id = $1", id, hookHash(token), s.now().UnixMicro())
		if err != nil {
			return fmt.Errorf("connection: hook of %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.NotFound("connection", id)
		}
		return nil
	})
	if err != nil {
		return Hook{}, err
	}
	return Hook{URL: s.base + HookPath + token, Token: token}, nil
}

// HookConnection finds the connection whose hook URL has token, with its
// settings open (a kind's signing key). The token's hash is looked up by
// an index: the time taken tells nothing of how much of a guess was
// right.
func (s *Store) HookConnection(ctx context.Context, token string) (int64, string, map[string]any, error) {
	if token == "" {
		return 0, "", nil, store.NotFound("connection hook", "")
	}
	c, err := scan(s.db.Read.QueryRowContext(ctx, "SELECT "+columns+" FROM connections WHERE hook_hash = $1", hookHash(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil, store.NotFound("connection hook", "")
	}
	if err != nil {
		return 0, "", nil, fmt.Errorf("connection: find by hook: %w", err)
	}
	set, err := s.opened(c)
	if err != nil {
		return 0, "", nil, err
	}
	return c.ID, c.Type, set, nil
}

func hookHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
