package connection

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
)

// JournalEntry is one thing a connection received from its service — a
// webhook call, a polled update, a telephony notification — with what
// became of it, refused ones included (a wrong secret), so an admin sees
// why a message or a call is missing.
type JournalEntry struct {
	ID int64 `json:"id"`
	// Event is the service's kind of it ("message_new", "NOTIFY_START"),
	// "" where the service has one kind.
	Event string `json:"event,omitempty"`
	// Ref is the service's id of it (Telegram's update_id, VK's event_id,
	// a Messenger mid, a call id): a retried delivery repeats it.
	Ref     string `json:"ref,omitempty"`
	Outcome string `json:"outcome"`
	// RecordID is what it made or touched (a message, an activity).
	RecordID  int64     `json:"record_id,omitempty"`
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// maxJournalError bounds an entry's error text (cut at a character).
const maxJournalError = 1000

// journalKeep is how many entries a connection's journal keeps: every
// hundredth entry written drops the older ones beyond it, so a busy bot's
// journal does not grow without end.
var journalKeep = 10000

// WriteJournal journals e for connection connID at its own commit, even
// when ctx is cancelled (a refused request still leaves its trace).
func WriteJournal(ctx context.Context, d *db.DB, connID int64, at time.Time, e JournalEntry) error {
	err := d.Write(context.WithoutCancel(ctx), func(ctx context.Context, tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO connection_journal (connection_id, event, ref, outcome, record_id, error, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, connID, crm.ClipText(e.Event, 100), crm.ClipText(e.Ref, 200), e.Outcome, e.RecordID,
			crm.ClipText(e.Error, maxJournalError), at.UnixMicro()).Scan(&id)
		if err != nil || id%100 != 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM connection_journal WHERE connection_id = $1 AND id < (
			SELECT MIN(id) FROM (SELECT id FROM connection_journal WHERE connection_id = $1 ORDER BY id DESC LIMIT $2) AS kept)`, connID, journalKeep)
		return err
	})
	if err != nil {
		return fmt.Errorf("connection: journal of connection %d: %w", connID, err)
	}
	return nil
}

// ReadJournal lists connection connID's last entries, newest first (at
// most limit; 100 when limit is out of 1..500).
func ReadJournal(ctx context.Context, d *db.DB, connID int64, limit int) ([]JournalEntry, error) {
	return ReadJournalBefore(ctx, d, connID, 0, limit)
}

// ReadJournalBefore is ReadJournal's page of the entries older than entry
// before (0: from the newest), for paging back through a journal.
func ReadJournalBefore(ctx context.Context, d *db.DB, connID, before int64, limit int) ([]JournalEntry, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := d.Read.QueryContext(ctx, `SELECT id, event, ref, outcome, record_id, error, created_at FROM connection_journal
		WHERE connection_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, connID, before, limit)
	if err != nil {
		return nil, fmt.Errorf("connection: journal of connection %d: %w", connID, err)
	}
	defer rows.Close()
	out := []JournalEntry{}
	for rows.Next() {
		var e JournalEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.Event, &e.Ref, &e.Outcome, &e.RecordID, &e.Error, &at); err != nil {
			return nil, fmt.Errorf("connection: journal of connection %d: %w", connID, err)
		}
		e.CreatedAt = time.UnixMicro(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Journal is ReadJournalBefore of the store's database: a connection's
// journal for its page.
func (s *Store) Journal(ctx context.Context, connID, before int64, limit int) ([]JournalEntry, error) {
	return ReadJournalBefore(ctx, s.db, connID, before, limit)
}
