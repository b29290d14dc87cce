package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Files attached to a lead (an e-mail's attachments, migration 0030) are
// kept in the database with it, bounded: a file over MaxLeadFile, or past
// MaxLeadFiles on one lead, is refused and the caller says so on the lead.
const (
	MaxLeadFile  = 8 << 20
	MaxLeadFiles = 20
)

// LeadFile is a file of a lead; Data is read only by LeadFile.
type LeadFile struct {
	ID          int64     `json:"id"`
	LeadID      int64     `json:"lead_id"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	CreatedAt   time.Time `json:"created_at"`
	Data        []byte    `json:"-"`
}

// ErrFileRefused is a file over the bounds.
var ErrFileRefused = errors.New("store: file refused")

// AddLeadFile attaches a file to a lead in the write.
func (t *Tx) AddLeadFile(leadID int64, name, contentType string, data []byte) (int64, error) {
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
	if len(data) > MaxLeadFile {
		return 0, fmt.Errorf("%w: %q is over %d MB", ErrFileRefused, name, MaxLeadFile>>20)
	}
	var n int
	if err := t.tx.QueryRowContext(t.ctx, "SELECT COUNT(*) FROM lead_files WHERE lead_id = $1", leadID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: files of lead %d: %w", leadID, err)
	}
	if n >= MaxLeadFiles {
		return 0, fmt.Errorf("%w: lead %d has %d files already", ErrFileRefused, leadID, n)
	}
	var id int64
	err := t.tx.QueryRowContext(t.ctx, `INSERT INTO lead_files (lead_id, name, content_type, size, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, leadID, name, contentType, int64(len(data)), data, micro(t.now)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: attach %q to lead %d: %w", name, leadID, err)
	}
	return id, nil
}

// LeadFiles lists a lead's files (without their data), oldest first; the
// lead must be one the user may see.
func (s *Store) LeadFiles(ctx context.Context, leadID int64) ([]LeadFile, error) {
	if _, err := s.GetLead(ctx, leadID); err != nil {
		return nil, err
	}
	rows, err := s.db.Read.QueryContext(ctx, "SELECT id, lead_id, name, content_type, size, created_at FROM lead_files WHERE lead_id = $1 ORDER BY id", leadID)
	if err != nil {
		return nil, fmt.Errorf("store: files of lead %d: %w", leadID, err)
	}
	defer rows.Close()
	out := []LeadFile{}
	for rows.Next() {
		var f LeadFile
		var created int64
		if err := rows.Scan(&f.ID, &f.LeadID, &f.Name, &f.ContentType, &f.Size, &created); err != nil {
			return nil, fmt.Errorf("store: files of lead %d: %w", leadID, err)
		}
		f.CreatedAt = fromMicro(created)
		out = append(out, f)
	}
	return out, rows.Err()
}

// GetLeadFile returns one file with its data; the lead must be one the
// user may see.
func (s *Store) GetLeadFile(ctx context.Context, leadID, fileID int64) (LeadFile, error) {
	if _, err := s.GetLead(ctx, leadID); err != nil {
		return LeadFile{}, err
	}
	var f LeadFile
	var created int64
	err := s.db.Read.QueryRowContext(ctx, "SELECT id, lead_id, name, content_type, size, created_at, data FROM lead_files WHERE id = $1 AND lead_id = $2",
		fileID, leadID).Scan(&f.ID, &f.LeadID, &f.Name, &f.ContentType, &f.Size, &created, &f.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return f, NotFound("lead file", fileID)
	}
	if err != nil {
		return f, fmt.Errorf("store: lead %d file %d: %w", leadID, fileID, err)
	}
	f.CreatedAt = fromMicro(created)
	return f, nil
}
