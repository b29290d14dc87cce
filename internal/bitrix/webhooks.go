package bitrix

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/delivery"
	"github.com/obmen/obmen/internal/store"
)

// Webhook is an incoming webhook: a secret URL through which an outside
// system calls the Bitrix24-compatible API as one user, within scopes.
type Webhook struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	Active     bool       `json:"active"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// HasScope reports whether the webhook may call methods of scope s.
func (w Webhook) HasScope(s string) bool { return slices.Contains(w.Scopes, s) }

// Actor is who the webhook's writes are made as: its user, through the
// integration "bitrix-webhook:<id>" (so that outbound events can skip the
// echo of a change back to the system that made it).
func (w Webhook) Actor() crm.Actor {
	return crm.Actor{UserID: w.UserID, Integration: fmt.Sprintf("bitrix-webhook:%d", w.ID)}
}

// KnownScopes are the scope names a webhook may be given: the ones Obmen
// serves methods for and the common Bitrix24 ones, so that a webhook set
// up like its Bitrix24 original is accepted. "basic" methods (batch,
// server.time, profile …) need no scope.
var KnownScopes = []string{
	"crm", "user", "user_brief", "user_basic", "department", "catalog", "entity", "bizproc",
	"task", "telephony", "im", "imopenlines", "disk", "calendar", "lists", "sale",
}

// ErrInvalidCredentials is returned for an unknown or disabled webhook, a
// wrong code, or a disabled user; it never says which.
var ErrInvalidCredentials = errors.New("bitrix: invalid webhook credentials")

// Webhooks keeps incoming webhooks in the bitrix_webhooks table.
type Webhooks struct {
	db  *db.DB
	now func() time.Time
}

// NewWebhooks returns the webhook table of an open, migrated database.
func NewWebhooks(d *db.DB) *Webhooks {
	return &Webhooks{db: d, now: func() time.Time { return time.Now().UTC() }}
}

// codeAlphabet is what Bitrix24 webhook codes are made of.
const codeAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// CodeLength is the length of a webhook's secret code, as in Bitrix24.
const CodeLength = 16

// newCode returns CodeLength random characters of codeAlphabet (about 82
// bits), drawn without modulo bias.
func newCode() string {
	out := make([]byte, 0, CodeLength)
	buf := make([]byte, 32)
	for len(out) < CodeLength {
		if _, err := rand.Read(buf); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		for _, b := range buf {
			// 252 = 7 × 36: bytes above it would favour the first letters.
			if b < 252 && len(out) < CodeLength {
				out = append(out, codeAlphabet[int(b)%len(codeAlphabet)])
			}
		}
	}
	return string(out)
}

func codeHash(code string) string {
	h := sha256.Sum256([]byte(code))
	return hex.EncodeToString(h[:])
}

// NormalizeScopes trims, lower-cases, de-duplicates and sorts scope names
// and refuses unknown ones, naming the first.
func NormalizeScopes(scopes []string) ([]string, error) {
	out := []string{}
	for _, s := range scopes {
		for _, part := range strings.Split(s, ",") {
			part = strings.ToLower(strings.TrimSpace(part))
			if part == "" || slices.Contains(out, part) {
				continue
			}
			if !slices.Contains(KnownScopes, part) {
				return nil, crm.Invalid("scopes", "%q is not a scope; known: %s", part, strings.Join(KnownScopes, ", "))
			}
			out = append(out, part)
		}
	}
	slices.Sort(out)
	return out, nil
}

// CreateWebhook makes a webhook for an active user and returns it with its
// secret code, which is not stored and cannot be seen again. The URL is
// https://HOST/rest/{user_id}/{code}/.
func (w *Webhooks) CreateWebhook(ctx context.Context, userID int64, name string, scopes []string) (Webhook, string, error) {
	sc, err := NormalizeScopes(scopes)
	if err != nil {
		return Webhook{}, "", err
	}
	hook := Webhook{UserID: userID, Name: strings.TrimSpace(name), Scopes: sc, Active: true, CreatedAt: w.now().Truncate(time.Microsecond)}
	if len([]rune(hook.Name)) > 255 {
		return Webhook{}, "", crm.Invalid("name", "longer than 255 characters")
	}
	code := newCode()
	err = w.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var active bool
		err := tx.QueryRowContext(ctx, "SELECT active FROM users WHERE id = $1", userID).Scan(&active)
		if errors.Is(err, sql.ErrNoRows) {
			return crm.Invalid("user_id", "no user with id %d", userID)
		}
		if err != nil {
			return fmt.Errorf("bitrix: create webhook: %w", err)
		}
		if !active {
			return crm.Invalid("user_id", "user %d is disabled", userID)
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO bitrix_webhooks (user_id, name, code_hash, scopes, active, created_at)
			VALUES ($1, $2, $3, $4, TRUE, $5) RETURNING id`,
			userID, hook.Name, codeHash(code), strings.Join(sc, ","), hook.CreatedAt.UnixMicro()).Scan(&hook.ID)
		if err != nil {
			return fmt.Errorf("bitrix: create webhook: %w", err)
		}
		return nil
	})
	if err != nil {
		return Webhook{}, "", err
	}
	return hook, code, nil
}

const webhookColumns = "id, user_id, name, scopes, active, created_at, last_used_at"

func scanWebhook(sc interface{ Scan(...any) error }, extra ...any) (Webhook, error) {
	var h Webhook
	var scopes string
	var created, used int64
	if err := sc.Scan(append([]any{&h.ID, &h.UserID, &h.Name, &scopes, &h.Active, &created, &used}, extra...)...); err != nil {
		return h, err
	}
	h.Scopes = []string{}
	for _, s := range strings.Split(scopes, ",") {
		if s != "" {
			h.Scopes = append(h.Scopes, s)
		}
	}
	h.CreatedAt = time.UnixMicro(created).UTC()
	if used != 0 {
		t := time.UnixMicro(used).UTC()
		h.LastUsedAt = &t
	}
	return h, nil
}

// ListWebhooks lists a user's webhooks (0: everyone's) by id.
func (w *Webhooks) ListWebhooks(ctx context.Context, userID int64) ([]Webhook, error) {
	q := "SELECT " + webhookColumns + " FROM bitrix_webhooks"
	var args []any
	if userID != 0 {
		q += " WHERE user_id = $1"
		args = append(args, userID)
	}
	rows, err := w.db.Read.QueryContext(ctx, q+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("bitrix: list webhooks: %w", err)
	}
	defer rows.Close()
	out := []Webhook{}
	for rows.Next() {
		h, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("bitrix: list webhooks: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// GetWebhook returns one webhook.
func (w *Webhooks) GetWebhook(ctx context.Context, id int64) (Webhook, error) {
	h, err := scanWebhook(w.db.Read.QueryRowContext(ctx, "SELECT "+webhookColumns+" FROM bitrix_webhooks WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return h, store.NotFound("bitrix webhook", id)
	}
	if err != nil {
		return h, fmt.Errorf("bitrix: get webhook %d: %w", id, err)
	}
	return h, nil
}

// SetWebhookActive enables or disables a webhook, and with it the event
// handlers it bound (event.bind): a disabled application receives no
// events.
func (w *Webhooks) SetWebhookActive(ctx context.Context, id int64, active bool) error {
	return w.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE bitrix_webhooks SET active = $1 WHERE id = $2", active, id)
		if err != nil {
			return fmt.Errorf("bitrix: webhook %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.NotFound("bitrix webhook", id)
		}
		return delivery.SetBindingsActiveTx(ctx, tx, Webhook{ID: id}.Actor().Integration, active, time.Now())
	})
}

// DeleteWebhook removes a webhook for good, with the event handlers it
// bound (event.bind).
func (w *Webhooks) DeleteWebhook(ctx context.Context, id int64) error {
	return w.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM bitrix_webhooks WHERE id = $1", id)
		if err != nil {
			return fmt.Errorf("bitrix: webhook %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.NotFound("bitrix webhook", id)
		}
		return delivery.DeleteBindingsTx(ctx, tx, Webhook{ID: id}.Actor().Integration)
	})
}

// Authenticate finds the active webhook of an active user by the user id
// and code of its URL and returns it with the user. The code's hash is
// compared in constant time with each of the user's webhooks, rather than
// looked up, so that timing says nothing about stored hashes.
func (w *Webhooks) Authenticate(ctx context.Context, userID int64, code string) (Webhook, crm.User, error) {
	want := []byte(codeHash(code))
	rows, err := w.db.Reader().QueryContext(ctx, `SELECT h.id, h.user_id, h.name, h.scopes, h.active, h.created_at, h.last_used_at, h.code_hash,
		u.login, u.first_name, u.middle_name, u.last_name, u.email, u.phones, u.position, u.department, u.role, u.active, u.created_at, u.updated_at
		FROM bitrix_webhooks h JOIN users u ON u.id = h.user_id WHERE h.user_id = $1`, userID)
	if err != nil {
		return Webhook{}, crm.User{}, fmt.Errorf("bitrix: check webhook: %w", err)
	}
	defer rows.Close()
	var found *Webhook
	var user crm.User
	for rows.Next() {
		var hash, phones string
		var u crm.User
		var created, updated int64
		h, err := scanWebhook(rows, &hash, &u.Login, &u.FirstName, &u.MiddleName, &u.LastName, &u.Email, &phones,
			&u.Position, &u.Department, &u.Role, &u.Active, &created, &updated)
		if err != nil {
			return Webhook{}, crm.User{}, fmt.Errorf("bitrix: check webhook: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(hash), want) == 1 && found == nil {
			u.ID = h.UserID
			u.CreatedAt, u.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
			if err := json.Unmarshal([]byte(phones), &u.Phones); err != nil {
				u.Phones = []string{}
			}
			found, user = &h, u
		}
	}
	if err := rows.Err(); err != nil {
		return Webhook{}, crm.User{}, fmt.Errorf("bitrix: check webhook: %w", err)
	}
	if found == nil || !found.Active || !user.Active {
		return Webhook{}, crm.User{}, ErrInvalidCredentials
	}
	return *found, user, nil
}

// Touch records that a webhook was used. Callers throttle it.
func (w *Webhooks) Touch(ctx context.Context, id int64, at time.Time) error {
	return w.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE bitrix_webhooks SET last_used_at = $1 WHERE id = $2", at.UnixMicro(), id)
		return err
	})
}
