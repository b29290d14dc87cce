package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
)

// Idempotency describes a POST made with an Idempotency-Key header. Put on
// a context with WithIdempotency, it makes the write that creates a record
// also remember the key, in the same transaction: a retry then finds the
// key and gets the first result, and nothing is created twice.
type Idempotency struct {
	UserID      int64
	Key         string
	Method      string
	Path        string
	RequestHash string
}

// IdempotentResult is what a remembered key points at.
type IdempotentResult struct {
	RequestHash string
	Status      int
	Entity      string
	ID          int64
	// Result is what the source kept in the write (RememberIdempotentResult).
	Result json.RawMessage
	// Body is the first answer's body as sent, when it was stored.
	Body []byte
}

type idemKey struct{}

// WithIdempotency attaches an idempotency key to ctx for Store.Write.
func WithIdempotency(ctx context.Context, k Idempotency) context.Context {
	return context.WithValue(ctx, idemKey{}, k)
}

type madeRecord struct {
	entity string
	id     int64
}

// remember marks a record the write created that no create event
// announces — a comment, whose event is on the record it comments — so
// that an idempotency key on the write points at it.
func (t *Tx) remember(entity string, id int64) {
	t = t.root()
	if t.made == nil {
		t.made = &madeRecord{entity: entity, id: id}
	}
}

// saveIdempotency remembers the first record created by t under the key:
// the first create event's, else the one remember was told of.
func (t *Tx) saveIdempotency(k Idempotency) error {
	var made *madeRecord
	for _, e := range t.events {
		if e.Action == events.Create {
			made = &madeRecord{entity: e.Entity, id: e.RecordID}
			break
		}
	}
	if made == nil {
		made = t.made
	}
	if made == nil {
		return nil
	}
	resp, _ := json.Marshal(map[string]any{"entity": made.entity, "id": made.id})
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, status, response, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, k.UserID, k.Key, k.Method, k.Path, k.RequestHash, 201, string(resp), micro(t.now))
	if db.IsUniqueViolation(err) {
		// A concurrent request with the same key won: this write is
		// undone and the caller replays the winner's result.
		return fmt.Errorf("store: idempotency key %q: %w", k.Key, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: idempotency key %q: %w", k.Key, err)
	}
	return nil
}

// LookupIdempotency finds a remembered key.
func (s *Store) LookupIdempotency(ctx context.Context, userID int64, key string) (IdempotentResult, error) {
	var r IdempotentResult
	var resp string
	err := s.db.Reader().QueryRowContext(ctx, "SELECT request_hash, status, response FROM idempotency_keys WHERE user_id = $1 AND key = $2", userID, key).
		Scan(&r.RequestHash, &r.Status, &resp)
	if errors.Is(err, sql.ErrNoRows) {
		return r, NotFound("idempotency key", key)
	}
	if err != nil {
		return r, fmt.Errorf("store: idempotency key: %w", err)
	}
	var v idemResponse
	if err := json.Unmarshal([]byte(resp), &v); err != nil {
		return r, fmt.Errorf("store: idempotency key %q: %w", key, err)
	}
	r.Entity, r.ID, r.Result, r.Body = v.Entity, v.ID, v.Result, v.Body
	return r, nil
}

// idemResponse is the stored response column.
type idemResponse struct {
	Entity string          `json:"entity"`
	ID     int64           `json:"id"`
	Result json.RawMessage `json:"result,omitempty"`
	Body   []byte          `json:"body,omitempty"`
}

// SaveIdempotentBody keeps the body a remembered request was answered
// with, so that a retry gets exactly those bytes. It is written after the
// record's own commit (the body holds the record as read back); if it is
// never written, a replay rebuilds the answer from the kept result.
func (s *Store) SaveIdempotentBody(ctx context.Context, userID int64, key string, body []byte) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var resp string
		if err := tx.QueryRowContext(ctx, "SELECT response FROM idempotency_keys WHERE user_id = $1 AND key = $2", userID, key).Scan(&resp); err != nil {
			return fmt.Errorf("store: idempotency key %q: %w", key, err)
		}
		var v idemResponse
		if err := json.Unmarshal([]byte(resp), &v); err != nil {
			return fmt.Errorf("store: idempotency key %q: %w", key, err)
		}
		if len(v.Body) > 0 {
			return nil // the first answer's body stays
		}
		v.Body = body
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("store: idempotency key %q: %w", key, err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE idempotency_keys SET response = $1 WHERE user_id = $2 AND key = $3", string(b), userID, key); err != nil {
			return fmt.Errorf("store: idempotency key %q: %w", key, err)
		}
		return nil
	})
}
