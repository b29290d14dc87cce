package connection

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/obmen/obmen/internal/store"
)

// Broken is a connection the remote side refuses: since when, and what
// it said.
type Broken struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// maxReason bounds the remote side's words kept.
const maxReason = 1000

// MarkBroken marks connection id broken with the remote side's words.
// The time is the first refusal's: a connection failing on every run
// keeps it (and so makes one notification), its words are the latest.
func (s *Store) MarkBroken(ctx context.Context, id int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > maxReason {
		reason = string([]rune(reason)[:maxReason])
	}
	if reason == "" {
		reason = "refused"
	}
	now := s.now().UnixMicro()
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE connections SET broken_reason = $2,
			broken_at = CASE WHEN broken_at = 0 THEN $3 ELSE broken_at END WHERE id = $1`, id, reason, now)
		if err != nil {
			return fmt.Errorf("connection: mark %d broken: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.NotFound("connection", id)
		}
		return nil
	})
}

// MarkWorking clears connection id's broken mark (a check or a call
// succeeded). A connection not marked is not written.
func (s *Store) MarkWorking(ctx context.Context, id int64) error {
	var at int64
	err := s.db.Read.QueryRowContext(ctx, "SELECT broken_at FROM connections WHERE id = $1", id).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return store.NotFound("connection", id)
	}
	if err != nil {
		return fmt.Errorf("connection: is %d broken: %w", id, err)
	}
	if at == 0 {
		return nil
	}
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE connections SET broken_at = 0, broken_reason = '' WHERE id = $1", id); err != nil {
			return fmt.Errorf("connection: clear %d's broken mark: %w", id, err)
		}
		return nil
	})
}
