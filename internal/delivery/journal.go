package delivery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// Delivery is one event's way to one webhook, with its attempts.
type Delivery struct {
	ID          int64      `json:"id"`
	WebhookID   int64      `json:"webhook_id"`
	EventID     int64      `json:"event_id"`
	Entity      string     `json:"entity"`
	RecordID    int64      `json:"record_id"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	LastStatus  int        `json:"last_status"`
	LastError   string     `json:"last_error"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
	Journal     []Attempt  `json:"journal"`
}

// Attempt is one journaled try: when, the HTTP status (0 when none came
// back), latency, error and the first KiB of the answer.
type Attempt struct {
	At              time.Time `json:"at"`
	StatusCode      int       `json:"status_code"`
	LatencyMS       int64     `json:"latency_ms"`
	Error           string    `json:"error"`
	ResponseExcerpt string    `json:"response_excerpt"`
}

// DeliveryQuery selects a page of a webhook's deliveries, newest first.
type DeliveryQuery struct {
	Status string // pending, delivered or failed; all when empty
	Before int64  // ids below this one, when set
	Limit  int    // 1..500, default 50
}

// Deliveries lists a webhook's deliveries with their attempts.
func (s *Service) Deliveries(ctx context.Context, webhookID int64, q DeliveryQuery) ([]Delivery, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 500)
	if q.Before <= 0 {
		q.Before = 1 << 62
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT id, webhook_id, event_id, entity, record_id, status, attempts, last_status, last_error,
		created_at, updated_at, delivered_at FROM deliveries WHERE webhook_id = $1 AND id < $2 AND ($3 = '' OR status = $3)
		ORDER BY id DESC LIMIT $4`, webhookID, q.Before, q.Status, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("delivery: list deliveries of %d: %w", webhookID, err)
	}
	defer rows.Close()
	var out []Delivery
	byID := map[int64]int{}
	for rows.Next() {
		var d Delivery
		var created, updated, delivered int64
		if err := rows.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.Entity, &d.RecordID, &d.Status, &d.Attempts, &d.LastStatus, &d.LastError,
			&created, &updated, &delivered); err != nil {
			return nil, fmt.Errorf("delivery: list deliveries of %d: %w", webhookID, err)
		}
		d.CreatedAt, d.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
		if delivered != 0 {
			t := time.UnixMicro(delivered).UTC()
			d.DeliveredAt = &t
		}
		d.Journal = []Attempt{}
		byID[d.ID] = len(out)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("delivery: list deliveries of %d: %w", webhookID, err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, nil
	}
	ar, err := s.db.Read.QueryContext(ctx, `SELECT delivery_id, at, status_code, latency_ms, error, response_excerpt FROM delivery_attempts
		WHERE delivery_id IN (SELECT id FROM deliveries WHERE webhook_id = $1 AND id <= $2 AND id >= $3) ORDER BY id`,
		webhookID, out[0].ID, out[len(out)-1].ID)
	if err != nil {
		return nil, fmt.Errorf("delivery: list attempts of %d: %w", webhookID, err)
	}
	defer ar.Close()
	for ar.Next() {
		var id, at int64
		var a Attempt
		if err := ar.Scan(&id, &at, &a.StatusCode, &a.LatencyMS, &a.Error, &a.ResponseExcerpt); err != nil {
			return nil, fmt.Errorf("delivery: list attempts of %d: %w", webhookID, err)
		}
		a.At = time.UnixMicro(at).UTC()
		if i, ok := byID[id]; ok {
			out[i].Journal = append(out[i].Journal, a)
		}
	}
	return out, ar.Err()
}

// Delivery returns one delivery with its attempts.
func (s *Service) Delivery(ctx context.Context, id int64) (Delivery, error) {
	var webhookID int64
	err := s.db.Read.QueryRowContext(ctx, "SELECT webhook_id FROM deliveries WHERE id = $1", id).Scan(&webhookID)
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, store.NotFound("delivery", id)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("delivery: get %d: %w", id, err)
	}
	ds, err := s.Deliveries(ctx, webhookID, DeliveryQuery{Before: id + 1, Limit: 1})
	if err != nil {
		return Delivery{}, err
	}
	if len(ds) == 0 || ds[0].ID != id {
		return Delivery{}, store.NotFound("delivery", id)
	}
	return ds[0], nil
}

// Retry sends a failed delivery again, with a fresh maximum age. Its
// webhook must be active (re-activate one that a 410 disabled first).
func (s *Service) Retry(ctx context.Context, id int64) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var status string
		var active bool
		err := tx.QueryRowContext(ctx, `SELECT d.status, w.active FROM deliveries d JOIN outbound_webhooks w ON w.id = d.webhook_id
			WHERE d.id = $1`, id).Scan(&status, &active)
		if errors.Is(err, sql.ErrNoRows) {
			return store.NotFound("delivery", id)
		}
		if err != nil {
			return fmt.Errorf("delivery: retry %d: %w", id, err)
		}
		if status != StatusFailed {
			return fmt.Errorf("delivery: delivery %d is %s, only a failed one can be retried: %w", id, status, store.ErrConflict)
		}
		if !active {
			return fmt.Errorf("delivery: the webhook of delivery %d is disabled; activate it first: %w", id, store.ErrConflict)
		}
		if s.runner == nil {
			return httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "delivery: the job queue is not running on this server")
		}
		if _, err := tx.ExecContext(ctx, "UPDATE deliveries SET status = 'pending', updated_at = $1 WHERE id = $2",
			s.now().UnixMicro(), id); err != nil {
			return fmt.Errorf("delivery: retry %d: %w", id, err)
		}
		return s.enqueue(ctx, tx, id)
	})
}
