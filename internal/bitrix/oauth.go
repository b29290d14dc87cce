package bitrix

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// OAuth 2.0 as a Bitrix24 portal and its authorization server
// (b24restdocs settings/oauth/index.md, auto-renewal.md, error-codes.md):
// a local application, registered by an administrator on an incoming
// webhook, calls /rest/{method}?auth=ACCESS_TOKEN; the access token lives
// an hour and is renewed at /oauth/token/ with grant_type=refresh_token,
// which rotates the refresh token (the old one is refused afterwards).
// The application acts as its webhook: the same user, scopes, active
// state, rate-limit bucket and event bindings, so it is under the same
// access rules.

// Token lifetimes, as Bitrix24's (settings/oauth/index.md).
const (
	AccessTokenTTL  = time.Hour
	RefreshTokenTTL = 180 * 24 * time.Hour
	// AuthCodeTTL is the life of an authorization code.
	AuthCodeTTL = 30 * time.Second
)

// Token kinds in bitrix_oauth_tokens.
const (
	kindAccess  = "access"
	kindRefresh = "refresh"
	kindCode    = "code"
)

// App is a local OAuth application registered on a webhook.
type App struct {
	ID        int64     `json:"id"`
	WebhookID int64     `json:"webhook_id"`
	ClientID  string    `json:"client_id"`
	CreatedAt time.Time `json:"created_at"`
}

// Tokens is a pair the authorization server issues.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	Expires      time.Time // of the access token
	UserID       int64
	Scopes       []string
}

// OAuthError is an answer of the authorization server
// (settings/oauth/error-codes.md): invalid_request, invalid_client,
// invalid_grant.
type OAuthError struct {
	Status      int
	Code        string
	Description string
}

func (e *OAuthError) Error() string { return "bitrix: oauth: " + e.Code + ": " + e.Description }

var (
	errOAuthClient = &OAuthError{Status: 401, Code: "invalid_client", Description: "Invalid client credentials"}
	errOAuthGrant  = &OAuthError{Status: 400, Code: "invalid_grant", Description: "Invalid grant"}
)

// ErrExpiredToken is returned for an access token past its hour.
var ErrExpiredToken = errors.New("bitrix: the access token provided has expired")

// newSecret returns n random bytes in hex.
func newSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// CreateApp registers an OAuth application on a webhook and returns it
// with its client secret, which is not stored and cannot be seen again.
// A webhook has at most one application; a second registration is
// refused naming the webhook.
func (w *Webhooks) CreateApp(ctx context.Context, webhookID int64) (App, string, error) {
	if _, err := w.GetWebhook(ctx, webhookID); err != nil {
		return App{}, "", err
	}
	app := App{WebhookID: webhookID, CreatedAt: w.now().Truncate(time.Microsecond),
		// Bitrix24's local applications have ids like local.5f3e1b2c3d4e55.12345678.
		ClientID: "local." + newSecret(7) + "." + newSecret(4)}
	secret := newSecret(25)
	err := w.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM bitrix_oauth_apps WHERE webhook_id = $1", webhookID).Scan(&n); err != nil {
			return fmt.Errorf("bitrix: register application: %w", err)
		}
		if n > 0 {
			return crm.Invalid("webhook_id", "webhook %d already has an OAuth application", webhookID)
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO bitrix_oauth_apps (webhook_id, client_id, secret_hash, created_at)
			VALUES ($1, $2, $3, $4) RETURNING id`, webhookID, app.ClientID, codeHash(secret), app.CreatedAt.UnixMicro()).Scan(&app.ID)
		if err != nil {
			return fmt.Errorf("bitrix: register application: %w", err)
		}
		return nil
	})
	if err != nil {
		return App{}, "", err
	}
	return app, secret, nil
}

// AppOf returns the application of a webhook, store.ErrNotFound when it
// has none.
func (w *Webhooks) AppOf(ctx context.Context, webhookID int64) (App, error) {
	var a App
	var created int64
	err := w.db.Reader().QueryRowContext(ctx, "SELECT id, webhook_id, client_id, created_at FROM bitrix_oauth_apps WHERE webhook_id = $1",
		webhookID).Scan(&a.ID, &a.WebhookID, &a.ClientID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return a, store.NotFound("bitrix oauth application of webhook", webhookID)
	}
	if err != nil {
		return a, fmt.Errorf("bitrix: application of webhook %d: %w", webhookID, err)
	}
	a.CreatedAt = time.UnixMicro(created).UTC()
	return a, nil
}

// DeleteApp removes a webhook's application and every token it holds.
func (w *Webhooks) DeleteApp(ctx context.Context, webhookID int64) error {
	return w.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM bitrix_oauth_tokens WHERE app_id IN
			(SELECT id FROM bitrix_oauth_apps WHERE webhook_id = $1)`, webhookID); err != nil {
			return fmt.Errorf("bitrix: delete application of webhook %d: %w", webhookID, err)
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM bitrix_oauth_apps WHERE webhook_id = $1", webhookID)
		if err != nil {
			return fmt.Errorf("bitrix: delete application of webhook %d: %w", webhookID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.NotFound("bitrix oauth application of webhook", webhookID)
		}
		return nil
	})
}

// oauthApp is an application with what the token checks need.
type oauthApp struct {
	id, webhookID int64
	secretHash    string
}

func (w *Webhooks) appByClientID(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, clientID string) (oauthApp, error) {
	var a oauthApp
	err := q.QueryRowContext(ctx, "SELECT id, webhook_id, secret_hash FROM bitrix_oauth_apps WHERE client_id = $1",
		clientID).Scan(&a.id, &a.webhookID, &a.secretHash)
	if errors.Is(err, sql.ErrNoRows) {
		return a, errOAuthClient
	}
	if err != nil {
		return a, fmt.Errorf("bitrix: oauth client: %w", err)
	}
	return a, nil
}

// appOfWebhook is the id of a webhook's application, for what (the
// operation an error names).
func appOfWebhook(ctx context.Context, tx *sql.Tx, webhookID int64, what string) (int64, error) {
	var appID int64
	err := tx.QueryRowContext(ctx, "SELECT id FROM bitrix_oauth_apps WHERE webhook_id = $1", webhookID).Scan(&appID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, store.NotFound("bitrix oauth application of webhook", webhookID)
	}
	if err != nil {
		return 0, fmt.Errorf("bitrix: %s: %w", what, err)
	}
	return appID, nil
}

// IssueTokens gives an application its first pair, as the installation
// of a local application does (its callback receives the tokens).
func (w *Webhooks) IssueTokens(ctx context.Context, webhookID int64) (Tokens, error) {
	var t Tokens
	err := w.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		appID, err := appOfWebhook(ctx, tx, webhookID, "issue tokens")
		if err != nil {
			return err
		}
		t, err = w.issuePair(ctx, tx, appID)
		return err
	})
	if err != nil {
		return Tokens{}, err
	}
	return w.withHolder(ctx, webhookID, t)
}

// IssueCode returns a one-time authorization code of a webhook's
// application, valid AuthCodeTTL: what Bitrix24 appends to the
// application's redirect_uri after the user authorizes it.
func (w *Webhooks) IssueCode(ctx context.Context, webhookID int64) (string, error) {
	code := newSecret(16)
	err := w.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		appID, err := appOfWebhook(ctx, tx, webhookID, "issue code")
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO bitrix_oauth_tokens (token_hash, app_id, kind, expires_at) VALUES ($1, $2, $3, $4)",
			codeHash(code), appID, kindCode, w.now().Add(AuthCodeTTL).UnixMicro())
		if err != nil {
			return fmt.Errorf("bitrix: issue code: %w", err)
		}
		return nil
	})
	return code, err
}

// issuePair stores a new access and refresh token of an application and
// drops its expired ones.
func (w *Webhooks) issuePair(ctx context.Context, tx *sql.Tx, appID int64) (Tokens, error) {
	now := w.now()
	t := Tokens{AccessToken: newSecret(16), RefreshToken: newSecret(16), Expires: now.Add(AccessTokenTTL).Truncate(time.Second)}
	if _, err := tx.ExecContext(ctx, "DELETE FROM bitrix_oauth_tokens WHERE app_id = $1 AND expires_at <= $2", appID, now.UnixMicro()); err != nil {
		return t, fmt.Errorf("bitrix: issue tokens: %w", err)
	}
	for _, tok := range []struct {
		value, kind string
		until       time.Time
	}{{t.AccessToken, kindAccess, t.Expires}, {t.RefreshToken, kindRefresh, now.Add(RefreshTokenTTL)}} {
		_, err := tx.ExecContext(ctx, "INSERT INTO bitrix_oauth_tokens (token_hash, app_id, kind, expires_at) VALUES ($1, $2, $3, $4)",
			codeHash(tok.value), appID, tok.kind, tok.until.UnixMicro())
		if err != nil {
			return t, fmt.Errorf("bitrix: issue tokens: %w", err)
		}
	}
	return t, nil
}

// withHolder fills the user and scopes of the webhook the tokens act as.
func (w *Webhooks) withHolder(ctx context.Context, webhookID int64, t Tokens) (Tokens, error) {
	h, err := w.GetWebhook(ctx, webhookID)
	if err != nil {
		return Tokens{}, err
	}
	t.UserID, t.Scopes = h.UserID, h.Scopes
	return t, nil
}

// Grant answers a token request of the authorization server: grantType
// "refresh_token" (value: the refresh token) or "authorization_code"
// (value: the code). The client secret is compared with its hash in
// constant time; a refresh token or code is used up by the grant it
// serves (the rotation), so a copy of it is refused afterwards. Errors of
// the request are *OAuthError.
func (w *Webhooks) Grant(ctx context.Context, grantType, clientID, clientSecret, value string) (Tokens, error) {
	var kind string
	switch grantType {
	case "refresh_token":
		kind = kindRefresh
	case "authorization_code":
		kind = kindCode
	default:
		return Tokens{}, &OAuthError{Status: 400, Code: "invalid_request", Description: "grant_type must be refresh_token or authorization_code"}
	}
	if clientID == "" || clientSecret == "" || value == "" {
		return Tokens{}, &OAuthError{Status: 400, Code: "invalid_request", Description: "client_id, client_secret and " + grantParam(grantType) + " are required"}
	}
	var t Tokens
	var webhookID int64
	err := w.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		app, err := w.appByClientID(ctx, tx, clientID)
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare([]byte(codeHash(clientSecret)), []byte(app.secretHash)) != 1 {
			return errOAuthClient
		}
		var until int64
		err = tx.QueryRowContext(ctx, "DELETE FROM bitrix_oauth_tokens WHERE token_hash = $1 AND app_id = $2 AND kind = $3 RETURNING expires_at",
			codeHash(value), app.id, kind).Scan(&until)
		if errors.Is(err, sql.ErrNoRows) {
			return errOAuthGrant
		}
		if err != nil {
			return fmt.Errorf("bitrix: oauth grant: %w", err)
		}
		if until <= w.now().UnixMicro() {
			return errOAuthGrant
		}
		var active bool
		if err := tx.QueryRowContext(ctx, `SELECT h.active AND u.active FROM bitrix_webhooks h JOIN users u ON u.id = h.user_id
			WHERE h.id = $1`, app.webhookID).Scan(&active); err != nil {
			return fmt.Errorf("bitrix: oauth grant: %w", err)
		}
		if !active {
			// A disabled webhook or user: as an application removed from
			// the portal.
			return errOAuthClient
		}
		webhookID = app.webhookID
		t, err = w.issuePair(ctx, tx, app.id)
		return err
	})
	if err != nil {
		return Tokens{}, err
	}
	return w.withHolder(ctx, webhookID, t)
}

func grantParam(grantType string) string {
	if grantType == "authorization_code" {
		return "code"
	}
	return "refresh_token"
}

// AuthenticateToken finds the webhook and user an access token acts as.
// ErrExpiredToken for a token past its hour, ErrInvalidCredentials for an
// unknown one or a disabled webhook or user.
func (w *Webhooks) AuthenticateToken(ctx context.Context, token string) (Webhook, crm.User, error) {
	token = strings.TrimSpace(token)
	if token == "" || len(token) > 128 {
		return Webhook{}, crm.User{}, ErrInvalidCredentials
	}
	// One query: the token, its application's webhook and the user.
	var until int64
	var phones string
	var u crm.User
	var created, updated int64
	h, err := scanWebhook(w.db.Reader().QueryRowContext(ctx, `SELECT h.id, h.user_id, h.name, h.scopes, h.active, h.created_at, h.last_used_at,
		t.expires_at, u.login, u.first_name, u.middle_name, u.last_name, u.email, u.phones, u.position, u.department, u.role, u.active, u.created_at, u.updated_at
		FROM bitrix_oauth_tokens t JOIN bitrix_oauth_apps a ON a.id = t.app_id JOIN bitrix_webhooks h ON h.id = a.webhook_id
		JOIN users u ON u.id = h.user_id WHERE t.token_hash = $1 AND t.kind = $2`, codeHash(token), kindAccess),
		&until, &u.Login, &u.FirstName, &u.MiddleName, &u.LastName, &u.Email, &phones, &u.Position, &u.Department, &u.Role, &u.Active, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Webhook{}, crm.User{}, ErrInvalidCredentials
	}
	if err != nil {
		return Webhook{}, crm.User{}, fmt.Errorf("bitrix: check access token: %w", err)
	}
	if until <= w.now().UnixMicro() {
		return Webhook{}, crm.User{}, ErrExpiredToken
	}
	if !h.Active || !u.Active {
		return Webhook{}, crm.User{}, ErrInvalidCredentials
	}
	u.ID = h.UserID
	u.CreatedAt, u.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	if err := json.Unmarshal([]byte(phones), &u.Phones); err != nil {
		u.Phones = []string{}
	}
	return h, u, nil
}

// OAuthHandler is the authorization server's token endpoint; mount it at
// "/oauth/token/". It takes GET or POST grant_type, client_id,
// client_secret and refresh_token (or code) and answers the new pair as
// settings/oauth/auto-renewal.md documents, or {"error", "error_description"}.
func (h *Handler) OAuthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(e *OAuthError) {
			writeAnswer(w, e.Status, NewArray().Set("error", e.Code).Set("error_description", e.Description))
		}
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			fail(&OAuthError{Status: http.StatusMethodNotAllowed, Code: "invalid_request", Description: "Use GET or POST"})
			return
		}
		params, err := readParams(r, 64<<10)
		if err != nil {
			fail(&OAuthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "The request could not be read"})
			return
		}
		text := func(k string) string {
			v, _ := params.Get(k)
			s, _ := scalarText(v)
			return strings.TrimSpace(s)
		}
		grant := text("grant_type")
		t, err := h.hooks.Grant(r.Context(), grant, text("client_id"), text("client_secret"), text(grantParam(grant)))
		var oe *OAuthError
		if errors.As(err, &oe) {
			h.log.Warn("bitrix: refused oauth grant", "remote", r.RemoteAddr, "grant_type", grant, "error", oe.Code)
			fail(oe)
			return
		}
		if err != nil {
			h.log.Error("bitrix: oauth grant", "err", err)
			fail(&OAuthError{Status: http.StatusInternalServerError, Code: "server_error", Description: "Internal server error"})
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeAnswer(w, http.StatusOK, h.tokenAnswer(r, t))
	})
}

// tokenAnswer is the authorization server's answer with a pair. domain is
// the authorization server's, which is this server.
func (h *Handler) tokenAnswer(r *http.Request, t Tokens) *Array {
	base := h.baseURL
	if base == "" {
		scheme := "https"
		if r.TLS == nil {
			scheme = "http"
		}
		base = scheme + "://" + r.Host
	}
	domain := base
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		domain = u.Host
	}
	return NewArray().
		Set("access_token", t.AccessToken).
		Set("client_endpoint", base+"/rest/").
		Set("domain", domain).
		Set("expires", t.Expires.Unix()).
		Set("expires_in", int64(AccessTokenTTL/time.Second)).
		Set("member_id", h.memberID).
		Set("refresh_token", t.RefreshToken).
		Set("scope", strings.Join(t.Scopes, ",")).
		Set("server_endpoint", base+"/rest/").
		// L: a local application (_includes/auth-params-in-events.md).
		Set("status", "L").
		Set("user_id", t.UserID)
}
