package delivery

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// worker sends one delivery per job.
type worker struct {
	river.WorkerDefaults[deliverArgs]
	s *Service
}

// NextRetry is the service's backoff, counted from now.
func (w *worker) NextRetry(job *river.Job[deliverArgs]) time.Time {
	return time.Now().Add(w.s.backoff(job.Attempt))
}

// Timeout leaves the HTTP client's own total timeout room to fire first.
func (w *worker) Timeout(*river.Job[deliverArgs]) time.Duration {
	t := w.s.client.Timeout
	if t <= 0 {
		t = httpx.DefaultTotalTimeout
	}
	return t + 30*time.Second
}

func (w *worker) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	return w.s.deliver(ctx, job.Args.DeliveryID, job.CreatedAt, job.Attempt >= job.MaxAttempts)
}

// joinScan scans a row whose columns are before's, the ones a scanner
// asks for, then after's.
type joinScan struct {
	row           scanner
	before, after []any
}

func (j joinScan) Scan(dest ...any) error {
	return j.row.Scan(slices.Concat(j.before, dest, j.after)...)
}

// deliveryRow is what the worker needs of a delivery.
type deliveryRow struct {
	id, webhookID, eventID, recordID int64
	entity, status                   string
}

// deliver makes one attempt at delivery id, enqueued at enqueued; last
// says River will not try again after a failure.
func (s *Service) deliver(ctx context.Context, id int64, enqueued time.Time, last bool) error {
	// One read: the delivery, whether an earlier delivery of the same
	// record to this webhook is still pending, the webhook and the event.
	var (
		d       deliveryRow
		earlier bool
		ev      events.Event
		evID    sql.NullInt64
		evRec   sql.NullInt64
		evUser  sql.NullInt64
		evAt    sql.NullInt64
		evText  [5]sql.NullString // entity, action, changes, actor, integration
	)
	row := s.db.Reader().QueryRowContext(ctx, `SELECT d.id, d.webhook_id, d.event_id, d.entity, d.record_id, d.status,
		EXISTS (SELECT 1 FROM deliveries p WHERE p.webhook_id = d.webhook_id AND p.entity = d.entity AND p.record_id = d.record_id
			AND p.event_id < d.event_id AND p.status = 'pending'), `+webhookColumnsOf("w")+`,
		ev.id, ev.entity, ev.record_id, ev.action, ev.changes, ev.actor, ev.actor_user_id, ev.integration, ev.created_at
		FROM deliveries d JOIN outbound_webhooks w ON w.id = d.webhook_id LEFT JOIN events ev ON ev.id = d.event_id
		WHERE d.id = $1`, id)
	hook, err := s.scanWebhook(joinScan{row: row,
		before: []any{&d.id, &d.webhookID, &d.eventID, &d.entity, &d.recordID, &d.status, &earlier},
		after:  []any{&evID, &evText[0], &evRec, &evText[1], &evText[2], &evText[3], &evUser, &evText[4], &evAt}})
	if errors.Is(err, sql.ErrNoRows) {
		return nil // its webhook was deleted
	}
	if err != nil {
		return fmt.Errorf("delivery: load delivery %d: %w", id, err)
	}
	if d.status != StatusPending {
		return nil // done already (a job repeated after a crash)
	}
	if !hook.Active {
		return s.finish(ctx, d.id, StatusFailed, 0, "webhook disabled: "+hook.DisabledReason)
	}
	// Per-record order: an UPDATE must not overtake its ADD. Wait while an
	// earlier delivery of the same record to this webhook is pending;
	// snoozing does not count as an attempt.
	if earlier {
		return river.JobSnooze(s.orderWait)
	}
	if !evID.Valid {
		return s.finish(ctx, d.id, StatusFailed, 0, fmt.Sprintf("event %d is no longer in the log", d.eventID))
	}
	// The changes stay as the log holds them (Encoded): the body carries
	// them on without decoding, as the dispatcher's first attempt does.
	ev = events.Event{ID: evID.Int64, Entity: evText[0].String, RecordID: evRec.Int64, Action: evText[1].String,
		Actor: evText[3].String, ActorUserID: evUser.Int64, Integration: evText[4].String, CreatedAt: time.UnixMicro(evAt.Int64).UTC(),
		Encoded: json.RawMessage(evText[2].String)}
	// Judged again when sent: the owner of a user's handler may have been
	// disabled, or lost sight of the record, since the dispatch.
	if hook.OwnerUserID != 0 {
		ok, err := store.New(s.db).Audience().Tells(ctx, hook.OwnerUserID, &ev)
		if err != nil {
			return fmt.Errorf("delivery: delivery %d: %w", d.id, err)
		}
		if !ok {
			return s.finish(ctx, d.id, StatusFailed, 0, fmt.Sprintf("not sent: user %d, whose handler this is, is disabled or may not see %s %d",
				hook.OwnerUserID, ev.Entity, ev.RecordID))
		}
	}
	return s.send(ctx, d.id, &hook, &ev, enqueued, last)
}

// send makes one attempt at delivery id of ev to hook and records it;
// deliver has checked that it is still to be sent (pending, the webhook
// active, nothing earlier of the record pending, the owner may see it) —
// or the dispatch that inserted it has, in its transaction, when it makes
// the first attempt at once.
func (s *Service) send(ctx context.Context, id int64, hook *Webhook, ev *events.Event, enqueued time.Time, last bool) error {
	req, err := s.request(ctx, hook, ev)
	if err != nil {
		return s.finish(ctx, id, StatusFailed, 0, err.Error())
	}

	start := time.Now()
	resp, sendErr := s.client.Do(req)
	a := attempt{at: s.now(), status: 0}
	if sendErr == nil {
		a.status = resp.StatusCode
		body, _ := io.ReadAll(io.LimitReader(resp.Body, excerptBytes))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		resp.Body.Close()
		a.excerpt = clean(string(body))
	}
	a.latency = time.Since(start)

	var blocked *httpx.BlockedError
	switch {
	case sendErr == nil && a.status >= 200 && a.status < 300:
		return s.record(ctx, id, a, StatusDelivered, nil)
	case sendErr == nil && a.status == http.StatusGone:
		a.err = "410 Gone: the handler unsubscribed"
		return s.record(ctx, id, a, StatusFailed, hook)
	case errors.As(sendErr, &blocked):
		// The SSRF guard's refusal will not change by retrying.
		a.err = blocked.Error()
		if err := s.record(ctx, id, a, StatusFailed, nil); err != nil {
			return err
		}
		return river.JobCancel(blocked)
	case sendErr != nil:
		a.err = clean(sendErr.Error())
	default:
		a.err = "HTTP " + strconv.Itoa(a.status)
	}
	final := last || time.Since(enqueued) >= s.maxAge
	status := StatusPending
	if final {
		status = StatusFailed
	}
	if err := s.record(ctx, id, a, status, nil); err != nil {
		return err
	}
	fail := fmt.Errorf("delivery %d: %s", id, a.err)
	if final && !last {
		return river.JobCancel(fail)
	}
	return fail
}

// request builds the POST for one event.
func (s *Service) request(ctx context.Context, hook *Webhook, ev *events.Event) (*http.Request, error) {
	var body []byte
	var ctype string
	if hook.Kind == KindBitrix {
		body = []byte(BitrixForm(*ev, bitrixEventFor(hook, ev), hook.ID, hook.Token, s.portal).Encode())
		ctype = "application/x-www-form-urlencoded"
	} else {
		var err error
		if body, err = NativeBody(*ev); err != nil {
			return nil, err
		}
		ctype = "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("delivery: request to %s: %w", hook.URL, err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("User-Agent", "Obmen-Webhook/1")
	req.Header.Set(HeaderEventID, strconv.FormatInt(ev.ID, 10))
	if hook.Kind == KindNative && hook.Token != "" {
		req.Header.Set(HeaderSignature, Sign([]byte(hook.Token), body, s.now()))
	}
	return req, nil
}

// attempt is one journal row.
type attempt struct {
	at      time.Time
	status  int
	latency time.Duration
	err     string
	excerpt string
}

// record journals an attempt and sets the delivery's status; with gone
// set the webhook answered 410 and is disabled too.
func (s *Service) record(ctx context.Context, id int64, a attempt, status string, gone *Webhook) error {
	now := s.now().UnixMicro()
	var delivered int64
	if status == StatusDelivered {
		delivered = now
	}
	if s.db.Dialect == db.Postgres && gone == nil {
		// One statement, atomic on its own: a round trip instead of the
		// four of a transaction (BEGIN, two writes, COMMIT) — the common
		// case of every delivery. SQLite's group committer batches the
		// transaction below anyway, and has no writable CTEs.
		_, err := s.db.Read.ExecContext(context.WithoutCancel(ctx), `WITH a AS (INSERT INTO delivery_attempts
			(delivery_id, at, status_code, latency_ms, error, response_excerpt) VALUES ($6, $7, $2, $8, $3, $9))
			UPDATE deliveries SET status = $1, attempts = attempts + 1, last_status = $2, last_error = $3,
			updated_at = $4, delivered_at = $5 WHERE id = $6`,
			status, a.status, a.err, now, delivered, id, a.at.UnixMicro(), a.latency.Milliseconds(), a.excerpt)
		if err != nil {
			return fmt.Errorf("delivery: record attempt of %d: %w", id, err)
		}
		return nil
	}
	err := s.db.Write(context.WithoutCancel(ctx), func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO delivery_attempts (delivery_id, at, status_code, latency_ms, error, response_excerpt)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, a.at.UnixMicro(), a.status, a.latency.Milliseconds(), a.err, a.excerpt); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = $1, attempts = attempts + 1, last_status = $2, last_error = $3,
			updated_at = $4, delivered_at = $5 WHERE id = $6`, status, a.status, a.err, now, delivered, id); err != nil {
			return err
		}
		if gone != nil {
			if _, err := tx.ExecContext(ctx, "UPDATE outbound_webhooks SET active = FALSE, disabled_reason = $1, updated_at = $2 WHERE id = $3",
				"the handler answered 410 Gone", now, gone.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delivery: record attempt of %d: %w", id, err)
	}
	return nil
}

// finish ends a delivery without an attempt.
func (s *Service) finish(ctx context.Context, id int64, status string, code int, msg string) error {
	now := s.now().UnixMicro()
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE deliveries SET status = $1, last_status = $2, last_error = $3, updated_at = $4 WHERE id = $5",
			status, code, msg, now, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delivery: finish %d: %w", id, err)
	}
	return nil
}

// clean makes text storable in a TEXT column on both engines: valid UTF-8
// without NUL bytes.
func clean(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}
