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

// MaxMessageFile bounds a file attached to a message to a client: what
// the channels take as a document (Telegram's bots send up to 50 MB, VK
// far more) kept small enough to pass through memory.
const MaxMessageFile = 20 << 20

// MessageFile is a file a user attached to a message to a client.
type MessageFile struct {
	ID          int64
	MessageID   int64
	Name        string
	ContentType string
	Size        int64
	Data        []byte
}

// AddMessageFile keeps a file for a message about to be written; the
// message's attachment names it by LocalID. The name is cleaned of path
// separators and control characters.
func (s *Store) AddMessageFile(ctx context.Context, actor crm.Actor, name, contentType string, data []byte) (crm.Attachment, error) {
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r == '/' || r == '\\' || r == 0x7f {
			return '_'
		}
		return r
	}, name))
	if name == "" {
		name = "file"
	}
	if r := []rune(name); len(r) > 255 {
		name = string(r[:255])
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	if len(data) > MaxMessageFile {
		return crm.Attachment{}, fmt.Errorf("%w: %q is over %d MB", ErrFileRefused, name, MaxMessageFile>>20)
	}
	var id int64
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO message_files (name, content_type, size, data, created_by_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, name, contentType, int64(len(data)), data, actor.UserID, micro(s.now())).Scan(&id)
	})
	if err != nil {
		return crm.Attachment{}, fmt.Errorf("store: message file %q: %w", name, err)
	}
	return crm.Attachment{Name: name, MIME: contentType, Size: int64(len(data)), LocalID: id}, nil
}

// GetMessageFile returns a kept file. It checks no access: the caller has
// read the message that names it.
func (s *Store) GetMessageFile(ctx context.Context, id int64) (MessageFile, error) {
	var f MessageFile
	err := s.db.Read.QueryRowContext(ctx, "SELECT id, message_id, name, content_type, size, data FROM message_files WHERE id = $1", id).
		Scan(&f.ID, &f.MessageID, &f.Name, &f.ContentType, &f.Size, &f.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return f, NotFound("message file", id)
	}
	if err != nil {
		return f, fmt.Errorf("store: message file %d: %w", id, err)
	}
	return f, nil
}

// UnsentFileAge is how long a file kept for a message about to be
// written may wait for it: a reply box's upload whose message was never
// written (no conversation for it, the user went away) is removed after
// it by SweepMessageFiles.
const UnsentFileAge = time.Hour

// SweepMessageFiles removes the files no message took that were kept
// before olderThan, and says how many. It runs from a periodic job (one
// instance at a time); a second run finds nothing to remove.
func (s *Store) SweepMessageFiles(ctx context.Context, olderThan time.Time) (int64, error) {
	var n int64
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM message_files WHERE message_id = 0 AND created_at < $1", micro(olderThan))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: sweep message files: %w", err)
	}
	return n, nil
}
