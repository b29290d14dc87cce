package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// List returns a user's notifications, newest first.
func (s *Service) List(ctx context.Context, userID int64, limit int) ([]Notification, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT id, user_id, kind, entity, record_id, title, body, read_at, created_at
		FROM notifications WHERE user_id = $1 ORDER BY id DESC LIMIT $2`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("notify: list: %w", err)
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		var n Notification
		var read, created int64
		if err := rows.Scan(&n.ID, &n.UserID, &n.Kind, &n.Entity, &n.RecordID, &n.Title, &n.Body, &read, &created); err != nil {
			return nil, fmt.Errorf("notify: list: %w", err)
		}
		n.Read, n.CreatedAt = read != 0, time.UnixMicro(created).UTC()
		out = append(out, n)
	}
	return out, rows.Err()
}

// Unread counts a user's unread notifications.
func (s *Service) Unread(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := s.db.Reader().QueryRowContext(ctx, "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at = 0", userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("notify: unread: %w", err)
	}
	return n, nil
}

// MarkRead marks one of a user's notifications read, or all with id 0.
func (s *Service) MarkRead(ctx context.Context, userID, id int64) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		q, args := "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at = 0", []any{s.now().UnixMicro(), userID}
		if id != 0 {
			q, args = q+" AND id = $3", append(args, id)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("notify: mark read: %w", err)
		}
		return nil
	})
}

// GetPrefs returns a user's channels.
func (s *Service) GetPrefs(ctx context.Context, userID int64) (Prefs, error) {
	var p Prefs
	err := s.db.Reader().QueryRowContext(ctx, "SELECT email, telegram_chat_id FROM notify_prefs WHERE user_id = $1", userID).Scan(&p.Email, &p.TelegramChatID)
	if errors.Is(err, sql.ErrNoRows) {
		return Prefs{}, nil
	}
	if err != nil {
		return p, fmt.Errorf("notify: preferences: %w", err)
	}
	return p, nil
}

// SavePrefs sets a user's channels.
func (s *Service) SavePrefs(ctx context.Context, userID int64, p Prefs) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO notify_prefs (user_id, email, telegram_chat_id, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, telegram_chat_id = excluded.telegram_chat_id, updated_at = excluded.updated_at`,
			userID, p.Email, p.TelegramChatID, s.now().UnixMicro()); err != nil {
			return fmt.Errorf("notify: save preferences: %w", err)
		}
		return nil
	})
}
