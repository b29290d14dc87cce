package google

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/obmen/obmen/internal/connection"
)

// stateTTL is how long a consent may take.
const stateTTL = 15 * time.Minute

// Errors of the connection flow, each with its message in the UI.
var (
	ErrNoClient   = errors.New("google: no Google OAuth client is set up: an administrator adds a connection of type google")
	ErrBadState   = errors.New("google: the answer from Google does not belong to this session or came too late: connect again")
	ErrNoRefresh  = errors.New("google: Google gave no refresh token: remove Obmen's access in the Google account's settings and connect again")
	ErrNotConnect = errors.New("google: the Google account is not connected")
)

// client returns the OAuth client of the installation: the connection
// the sync names, else the first of type google.
func (sv *Service) client(ctx context.Context, connID int64) (*oauth2.Config, int64, error) {
	if connID == 0 {
		cs, err := sv.d.Conns.List(ctx, Type)
		if err != nil {
			return nil, 0, fmt.Errorf("google: %w", err)
		}
		if len(cs) == 0 {
			return nil, 0, ErrNoClient
		}
		connID = cs[0].ID
	}
	c, s, err := sv.d.Conns.Open(ctx, connID)
	if err != nil {
		return nil, 0, fmt.Errorf("google: the OAuth client (connection %d): %w", connID, err)
	}
	if c.Type != Type {
		return nil, 0, fmt.Errorf("google: connection %d is of type %s, not google", connID, c.Type)
	}
	e := sv.d.endpoints()
	return &oauth2.Config{
		ClientID: s.String("client_id"), ClientSecret: s.String("client_secret"),
		Endpoint:    oauth2.Endpoint{AuthURL: e.Auth, TokenURL: e.Token, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: sv.RedirectURI(), Scopes: Scopes,
	}, connID, nil
}

// HasClient says an admin has set up the OAuth client.
func (sv *Service) HasClient(ctx context.Context) bool {
	cs, err := sv.d.Conns.List(ctx, Type)
	return err == nil && len(cs) > 0
}

// RedirectURI is the address to enter among the OAuth client's
// authorized redirect URIs in Google's console.
func (sv *Service) RedirectURI() string {
	return strings.TrimRight(sv.d.BaseURL, "/") + CallbackPath
}

func hashState(state string) string {
	h := sha256.Sum256([]byte(state))
	return hex.EncodeToString(h[:])
}

// ConnectURL starts connecting a user's Google account: a one-time state
// is kept (hashed) with the user's sync and the consent page's address
// returned. offline access and prompt=consent make Google hand out a
// refresh token even to an account that consented before.
func (sv *Service) ConnectURL(ctx context.Context, userID int64) (string, error) {
	s, err := sv.ensure(ctx, userID)
	if err != nil {
		return "", err
	}
	cfg, connID, err := sv.client(ctx, s.ConnectionID)
	if err != nil {
		return "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("google: state: %w", err)
	}
	state := base64.RawURLEncoding.EncodeToString(b)
	until := sv.d.now().Add(stateTTL).UnixMicro()
	err = sv.d.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE google_syncs SET oauth_state = $1, oauth_state_until = $2, connection_id = $3 WHERE user_id = $4",
			hashState(state), until, connID, userID)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("google: keep the OAuth state: %w", err)
	}
	return cfg.AuthCodeURL(state, oauth2.AccessTypeOffline, oauth2.SetAuthURLParam("prompt", "consent"),
		oauth2.SetAuthURLParam("include_granted_scopes", "true")), nil
}

// Complete finishes the flow with what Google sent back: the state must
// be the user's pending one (compared in constant time, used once), the
// code is exchanged for tokens, and the refresh token kept sealed.
func (sv *Service) Complete(ctx context.Context, userID int64, state, code string) error {
	var stored string
	var until, connID int64
	err := sv.d.DB.Reader().QueryRowContext(ctx, "SELECT oauth_state, oauth_state_until, connection_id FROM google_syncs WHERE user_id = $1", userID).
		Scan(&stored, &until, &connID)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrBadState
	}
	if err != nil {
		return fmt.Errorf("google: read the OAuth state: %w", err)
	}
	if stored == "" || state == "" || subtle.ConstantTimeCompare([]byte(stored), []byte(hashState(state))) != 1 || sv.d.now().UnixMicro() > until {
		return ErrBadState
	}
	// The state is spent whatever follows.
	err = sv.d.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE google_syncs SET oauth_state = '', oauth_state_until = 0 WHERE user_id = $1", userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("google: spend the OAuth state: %w", err)
	}
	cfg, connID, err := sv.client(ctx, connID)
	if err != nil {
		return err
	}
	tok, err := cfg.Exchange(context.WithValue(ctx, oauth2.HTTPClient, sv.d.HTTP), code)
	if err != nil {
		return fmt.Errorf("google: exchange the authorization code: %w", err)
	}
	if tok.RefreshToken == "" {
		return ErrNoRefresh
	}
	account := sv.userEmail(ctx, tok.AccessToken)
	sr, err := sv.d.Box.Seal(tok.RefreshToken)
	if err != nil {
		return fmt.Errorf("google: seal the refresh token: %w", err)
	}
	sa, err := sv.d.Box.Seal(tok.AccessToken)
	if err != nil {
		return fmt.Errorf("google: seal the access token: %w", err)
	}
	now := sv.d.now().UnixMicro()
	err = sv.d.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// Another account's sync tokens and links mean nothing here (an
		// account not told, when userinfo failed, is taken for the same).
		var prev string
		if err := tx.QueryRowContext(ctx, "SELECT account FROM google_syncs WHERE user_id = $1", userID).Scan(&prev); err != nil {
			return err
		}
		if prev != "" && account != "" && prev != account {
			if _, err := tx.ExecContext(ctx, "DELETE FROM google_links WHERE sync_id IN (SELECT id FROM google_syncs WHERE user_id = $1)", userID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE google_syncs SET people_token = '', calendar_token = '', contacts_cursor = -1, calendar_cursor = -1 WHERE user_id = $1", userID); err != nil {
				return err
			}
		}
		if account == "" {
			account = prev
		}
		_, err := tx.ExecContext(ctx, `UPDATE google_syncs SET refresh_token = $1, access_token = $2, token_expiry = $3, account = $4,
			connection_id = $5, due_at = $6, updated_at = $6 WHERE user_id = $7`, sr, sa, tok.Expiry.UnixMicro(), account, connID, now, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("google: keep the tokens: %w", err)
	}
	return nil
}

// userEmail asks who the token belongs to ("" when the answer says not).
func (sv *Service) userEmail(ctx context.Context, access string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sv.d.endpoints().UserInfo, nil)
	if err != nil {
		return ""
	}
	req.Header.Set("Authorization", "Bearer "+access)
	res, err := sv.d.HTTP.Do(req)
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	var u struct {
		Email string `json:"email"`
	}
	if res.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&u) != nil {
		return ""
	}
	return u.Email
}

// storedSource gives the sync's access token, refreshing it when it is
// about to expire and keeping the new one sealed.
type storedSource struct {
	sv   *Service
	id   int64
	mu   sync.Mutex
	src  oauth2.TokenSource
	last string
}

func (sv *Service) tokenSource(ctx context.Context, s Sync) (oauth2.TokenSource, error) {
	if s.refresh == "" {
		return nil, ErrNotConnect
	}
	cfg, _, err := sv.client(ctx, s.ConnectionID)
	if err != nil {
		return nil, err
	}
	refresh, err := sv.d.Box.Open(s.refresh)
	if err != nil {
		return nil, fmt.Errorf("google: open the refresh token: %w", err)
	}
	access := ""
	if s.access != "" {
		if access, err = sv.d.Box.Open(s.access); err != nil {
			return nil, fmt.Errorf("google: open the access token: %w", err)
		}
	}
	tok := &oauth2.Token{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer", Expiry: time.UnixMicro(s.expiry)}
	// The token endpoint is reached by the guarded client too; the
	// context carries it to the refreshes of the whole run.
	octx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, sv.d.HTTP)
	return &storedSource{sv: sv, id: s.ID, src: cfg.TokenSource(octx, tok), last: access}, nil
}

func (t *storedSource) Token() (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tok, err := t.src.Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			return nil, fmt.Errorf("%w: Google refused the refresh token (access revoked or expired): connect again", ErrNotConnect)
		}
		return nil, fmt.Errorf("google: refresh the access token: %w", err)
	}
	if tok.AccessToken != t.last {
		t.last = tok.AccessToken
		sa, err := t.sv.d.Box.Seal(tok.AccessToken)
		if err != nil {
			return nil, fmt.Errorf("google: seal the access token: %w", err)
		}
		ctx := context.Background()
		err = t.sv.d.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if tok.RefreshToken != "" {
				sr, err := t.sv.d.Box.Seal(tok.RefreshToken)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, "UPDATE google_syncs SET refresh_token = $1 WHERE id = $2", sr, t.id); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, "UPDATE google_syncs SET access_token = $1, token_expiry = $2 WHERE id = $3", sa, tok.Expiry.UnixMicro(), t.id)
			return err
		})
		if err != nil {
			t.sv.d.log().Warn("google: keep the refreshed access token", "sync", t.id, "err", err)
		}
	}
	return tok, nil
}

// checkClient presents the OAuth client to the token endpoint with a code
// that cannot be good: invalid_client means the id or secret is wrong,
// invalid_grant that Google knows the client.
func checkClient(ctx context.Context, d Deps, id, secret string) error {
	q := url.Values{"grant_type": {"authorization_code"}, "code": {"obmen-connection-check"}, "client_id": {id},
		"client_secret": {secret}, "redirect_uri": {strings.TrimRight(d.BaseURL, "/") + CallbackPath}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.endpoints().Token, strings.NewReader(q.Encode()))
	if err != nil {
		return fmt.Errorf("google: check: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := d.HTTP.Do(req)
	if err != nil {
		return connection.Fail(connection.ClassNetwork, fmt.Errorf("google: check: %w", err))
	}
	defer res.Body.Close()
	var e struct {
		Error string `json:"error"`
		Desc  string `json:"error_description"`
	}
	_ = json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&e)
	switch e.Error {
	case "invalid_grant":
		return nil
	case "invalid_client", "unauthorized_client":
		return connection.Fail(connection.ClassCredentials, fmt.Errorf("google: %s: %s", e.Error, e.Desc))
	}
	return connection.Fail(connection.ClassOther, fmt.Errorf("google: token endpoint answered %d %s %s", res.StatusCode, e.Error, e.Desc))
}
