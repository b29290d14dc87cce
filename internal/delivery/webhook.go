package delivery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
)

// Kinds of outbound webhook.
const (
	KindBitrix = "bitrix" // Bitrix24 outgoing-webhook form posts
	KindNative = "native" // Obmen's signed JSON
)

// Webhook is a subscription of a handler URL to change events.
type Webhook struct {
	ID     int64    `json:"id"`
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	// Token is the application token (bitrix) or the HMAC secret (native),
	// in clear. It is write-only: never encoded to JSON, sealed at rest.
	Token string `json:"-"`
	// Integration names the integration the handler belongs to: events
	// written by that integration are not sent back unless IncludeEcho.
	Integration    string `json:"integration"`
	IncludeEcho    bool   `json:"include_echo"`
	Active         bool   `json:"active"`
	DisabledReason string `json:"disabled_reason"`
	HasToken       bool   `json:"has_token"`
	// OwnerUserID is the user a handler belongs to (one bound through
	// event.bind: its webhook's user), 0 for the webhooks administrators
	// make. An owned handler is sent only the changes its owner may see,
	// and nothing while the owner is disabled (store.Audience).
	OwnerUserID int64     `json:"owner_user_id"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// SinceEvent is the log's end when the webhook was made or last
	// enabled: only later events are sent to it.
	SinceEvent int64 `json:"-"`
}

// nativePattern is "entity.action" where either part may be "*".
var nativePattern = regexp.MustCompile(`^([a-z_]+|\*)\.([a-z_]+|\*)$`)

// validate checks w and normalises its events list.
func (w *Webhook) validate() error {
	switch w.Kind {
	case KindBitrix, KindNative:
	default:
		return crm.Invalid("kind", "must be %q or %q", KindBitrix, KindNative)
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return crm.Invalid("url", "must be an absolute http or https URL")
	}
	if len(w.Events) == 0 {
		return crm.Invalid("events", "choose at least one event")
	}
	valid := BitrixEventNames()
	seen := map[string]bool{}
	var evs []string
	for i, e := range w.Events {
		e = strings.TrimSpace(e)
		if w.Kind == KindBitrix {
			e = strings.ToUpper(e)
			if !slices.Contains(valid, e) {
				return crm.Invalid(fmt.Sprintf("events[%d]", i), "%q is not a Bitrix24 event code (ONCRMLEADADD …)", e)
			}
		} else if !nativePattern.MatchString(e) {
			return crm.Invalid(fmt.Sprintf("events[%d]", i), "%q is not an entity.action pattern (lead.create, deal.*, *.*)", e)
		}
		if !seen[e] {
			seen[e] = true
			evs = append(evs, e)
		}
	}
	w.Events = evs
	if w.Kind == KindBitrix && w.Token == "" {
		return crm.Invalid("token", "the application token is required for a Bitrix24 handler")
	}
	if len(w.Name) > 200 {
		return crm.Invalid("name", "at most 200 characters")
	}
	return nil
}

// Matches reports whether ev is to be sent to w. An event written by the
// webhook's own integration is its echo, skipped unless IncludeEcho.
func Matches(w *Webhook, ev *events.Event) bool {
	if !w.Active || ev.ID <= w.SinceEvent {
		return false
	}
	if ev.Integration != "" && ev.Integration == w.Integration && !w.IncludeEcho {
		return false
	}
	if w.Kind == KindBitrix {
		return bitrixEventFor(w, ev) != ""
	}
	for _, p := range w.Events {
		ent, act, _ := strings.Cut(p, ".")
		if (ent == "*" || ent == ev.Entity) && (act == "*" || act == ev.Action) {
			return true
		}
	}
	return false
}

const webhookColumns = "id, kind, name, url, events, token, integration, include_echo, active, disabled_reason, created_at, updated_at, owner_user_id, since_event"

// webhookColumnsOf is webhookColumns of the table as alias.
func webhookColumnsOf(alias string) string {
	return alias + "." + strings.ReplaceAll(webhookColumns, ", ", ", "+alias+".")
}

type scanner interface{ Scan(dest ...any) error }

// logEnd is the change log's end, as a webhook's since_event.
const logEnd = "(SELECT COALESCE(MAX(id), 0) FROM events)"

// scanWebhook reads a row of webhookColumns, opening the token.
func (s *Service) scanWebhook(r scanner) (Webhook, error) {
	var w Webhook
	var evs, token string
	var created, updated int64
	if err := r.Scan(&w.ID, &w.Kind, &w.Name, &w.URL, &evs, &token, &w.Integration, &w.IncludeEcho, &w.Active,
		&w.DisabledReason, &created, &updated, &w.OwnerUserID, &w.SinceEvent); err != nil {
		return w, err
	}
	if evs != "" {
		w.Events = strings.Split(evs, ",")
	}
	if token != "" {
		plain, err := s.box.Open(token)
		if err != nil {
			return w, fmt.Errorf("delivery: webhook %d: open token: %w", w.ID, err)
		}
		w.Token, w.HasToken = plain, true
	}
	w.CreatedAt, w.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return w, nil
}

func (s *Service) seal(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	sealed, err := s.box.Seal(token)
	if err != nil {
		return "", fmt.Errorf("delivery: seal token: %w", err)
	}
	return sealed, nil
}

// Create adds a webhook, active; w.ID and the times are set on return.
func (s *Service) Create(ctx context.Context, w Webhook) (Webhook, error) {
	w.Active, w.DisabledReason = true, ""
	if err := w.validate(); err != nil {
		return Webhook{}, err
	}
	sealed, err := s.seal(w.Token)
	if err != nil {
		return Webhook{}, err
	}
	now := s.now().Truncate(time.Microsecond)
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO outbound_webhooks (kind, name, url, events, token, integration, include_echo, active, disabled_reason, created_at, updated_at, since_event)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', $9, $9, `+logEnd+`) RETURNING id, since_event`,
			w.Kind, w.Name, w.URL, strings.Join(w.Events, ","), sealed, w.Integration, w.IncludeEcho, true, now.UnixMicro()).Scan(&w.ID, &w.SinceEvent)
	})
	if err != nil {
		return Webhook{}, fmt.Errorf("delivery: create webhook: %w", err)
	}
	w.HasToken = w.Token != ""
	w.CreatedAt, w.UpdatedAt = now, now
	s.busy()
	return w, nil
}

// Get returns a webhook, its token opened.
func (s *Service) Get(ctx context.Context, id int64) (Webhook, error) {
	w, err := s.scanWebhook(s.db.Read.QueryRowContext(ctx, "SELECT "+webhookColumns+" FROM outbound_webhooks WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Webhook{}, store.NotFound("webhook", id)
	}
	if err != nil {
		return Webhook{}, fmt.Errorf("delivery: get webhook %d: %w", id, err)
	}
	return w, nil
}

// List returns every webhook by id.
func (s *Service) List(ctx context.Context) ([]Webhook, error) {
	return s.listWebhooks(ctx, s.db.Read, "SELECT "+webhookColumns+" FROM outbound_webhooks ORDER BY id")
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Service) listWebhooks(ctx context.Context, q queryer, query string) ([]Webhook, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("delivery: list webhooks: %w", err)
	}
	defer rows.Close()
	var out []Webhook
	for rows.Next() {
		w, err := s.scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("delivery: list webhooks: %w", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("delivery: list webhooks: %w", err)
	}
	return out, nil
}

// Update changes a webhook through mutate, which sees it with its token in
// clear. Re-activating a webhook clears its disabled reason.
func (s *Service) Update(ctx context.Context, id int64, mutate func(*Webhook) error) (Webhook, error) {
	var out Webhook
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		w, err := s.scanWebhook(tx.QueryRowContext(ctx, "SELECT "+webhookColumns+" FROM outbound_webhooks WHERE id = $1", id))
		if errors.Is(err, sql.ErrNoRows) {
			return store.NotFound("webhook", id)
		}
		if err != nil {
			return err
		}
		wasActive := w.Active
		if err := mutate(&w); err != nil {
			return err
		}
		w.ID = id
		if err := w.validate(); err != nil {
			return err
		}
		if w.Active && !wasActive {
			w.DisabledReason = ""
		}
		sealed, err := s.seal(w.Token)
		if err != nil {
			return err
		}
		w.UpdatedAt = s.now().Truncate(time.Microsecond)
		// Enabled again: sent only the changes logged from now on.
		_, err = tx.ExecContext(ctx, `UPDATE outbound_webhooks SET kind = $1, name = $2, url = $3, events = $4, token = $5, integration = $6,
			include_echo = $7, active = $8, disabled_reason = $9, updated_at = $10,
			since_event = CASE WHEN $8 AND NOT active THEN `+logEnd+` ELSE since_event END WHERE id = $11`,
			w.Kind, w.Name, w.URL, strings.Join(w.Events, ","), sealed, w.Integration, w.IncludeEcho, w.Active, w.DisabledReason,
			w.UpdatedAt.UnixMicro(), id)
		w.HasToken = w.Token != ""
		out = w
		return err
	})
	if err != nil {
		var fe *crm.FieldError
		if errors.As(err, &fe) || errors.Is(err, store.ErrNotFound) {
			return Webhook{}, err
		}
		return Webhook{}, fmt.Errorf("delivery: update webhook %d: %w", id, err)
	}
	s.busy()
	return out, nil
}

// Delete removes a webhook with its deliveries and their journal; jobs
// still queued for them find nothing and end.
func (s *Service) Delete(ctx context.Context, id int64) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// Deleted explicitly: SQLite enforces ON DELETE CASCADE only with
		// foreign keys on, which db sets, but being explicit costs nothing.
		if _, err := tx.ExecContext(ctx, "DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE webhook_id = $1)", id); err != nil {
			return fmt.Errorf("delivery: delete webhook %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM deliveries WHERE webhook_id = $1", id); err != nil {
			return fmt.Errorf("delivery: delete webhook %d: %w", id, err)
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM outbound_webhooks WHERE id = $1", id)
		if err != nil {
			return fmt.Errorf("delivery: delete webhook %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.NotFound("webhook", id)
		}
		return nil
	})
}
