package intake

import (
	"context"
	"fmt"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
)

// Entry is one journaled request: where it came from, what it became or
// why it was refused.
type Entry struct {
	ID        int64     `json:"id"`
	Source    string    `json:"source"`
	SourceID  int64     `json:"source_id"`
	Ref       string    `json:"ref"`
	Outcome   string    `json:"outcome"`
	Entity    string    `json:"entity"`
	RecordID  int64     `json:"record_id"`
	Field     string    `json:"field"`
	Error     string    `json:"error"`
	CreatedAt time.Time `json:"created_at"`
}

func journal(ctx context.Context, q db.Querier, now time.Time, e Entry) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `INSERT INTO intake_journal (source, source_id, ref, outcome, entity, record_id, field, error, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		e.Source, e.SourceID, crm.ClipText(e.Ref, 500), e.Outcome, e.Entity, e.RecordID, crm.ClipText(e.Field, 200), crm.ClipText(e.Error, 2000), now.UnixMicro()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("intake: journal: %w", err)
	}
	return id, nil
}

// JournalQuery selects journal entries, newest first.
type JournalQuery struct {
	Source   string // http, mail, form; all when empty
	SourceID int64  // a collector's or form's id; all when 0
	Outcome  string
	Before   int64 // ids below this one, when set
	Limit    int   // 1..500, default 50
}

// ListJournal reads the journal.
func (s *Service) ListJournal(ctx context.Context, q JournalQuery) ([]Entry, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 500)
	if q.Before <= 0 {
		q.Before = 1 << 62
	}
	rows, err := s.store.DB().Reader().QueryContext(ctx, `SELECT id, source, source_id, ref, outcome, entity, record_id, field, error, created_at
		FROM intake_journal WHERE id < $1 AND ($2 = '' OR source = $2) AND ($3 = 0 OR source_id = $3) AND ($4 = '' OR outcome = $4)
		ORDER BY id DESC LIMIT $5`, q.Before, q.Source, q.SourceID, q.Outcome, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("intake: read journal: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		var e Entry
		var at int64
		if err := rows.Scan(&e.ID, &e.Source, &e.SourceID, &e.Ref, &e.Outcome, &e.Entity, &e.RecordID, &e.Field, &e.Error, &at); err != nil {
			return nil, fmt.Errorf("intake: read journal: %w", err)
		}
		e.CreatedAt = time.UnixMicro(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
