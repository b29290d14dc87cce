package bitrix24

import (
	"context"
	"crypto/sha256"
	"database/sql"
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
)

// tokenLocks serialise the refreshes of one line of tokens in the
// process: Bitrix24's refresh token works once, so two refreshes at the
// same time would lose the line.
var tokenLocks sync.Map // seed → *sync.Mutex

// seedOf names the line of tokens a connection's settings start.
func seedOf(p Portal) string {
	h := sha256.Sum256([]byte(p.URL + "\x00" + p.ClientID + "\x00" + p.RefreshToken))
	return hex.EncodeToString(h[:])
}

// tokens gives the portal's OAuth access token: the stored one while it
// lasts, else a new pair from the authorization server
// (grant_type=refresh_token, settings/oauth/index.md), stored sealed
// before it is used.
func (d Deps) tokens(p Portal) func(ctx context.Context, fresh bool) (string, error) {
	seed := seedOf(p)
	now := d.Now
	if now == nil {
		now = time.Now
	}
	return func(ctx context.Context, fresh bool) (string, error) {
		mu, _ := tokenLocks.LoadOrStore(seed, &sync.Mutex{})
		mu.(*sync.Mutex).Lock()
		defer mu.(*sync.Mutex).Unlock()
		var access, refresh string
		var expires int64
		err := d.DB.Reader().QueryRowContext(ctx, "SELECT access_token, refresh_token, expires_at FROM bitrix24_tokens WHERE seed = $1", seed).
			Scan(&access, &refresh, &expires)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			refresh = p.RefreshToken
		case err != nil:
			return "", fmt.Errorf("bitrix24: read the OAuth tokens: %w", err)
		default:
			if access, err = d.Box.Open(access); err != nil {
				return "", fmt.Errorf("bitrix24: open the access token: %w", err)
			}
			if refresh, err = d.Box.Open(refresh); err != nil {
				return "", fmt.Errorf("bitrix24: open the refresh token: %w", err)
			}
			// A minute's margin: the token must outlive the request.
			if !fresh && access != "" && now().Add(time.Minute).UnixMicro() < expires {
				return access, nil
			}
		}
		tok, err := d.refresh(ctx, p, refresh)
		if err != nil {
			return "", err
		}
		sa, err := d.Box.Seal(tok.Access)
		if err != nil {
			return "", fmt.Errorf("bitrix24: seal the access token: %w", err)
		}
		sr, err := d.Box.Seal(tok.Refresh)
		if err != nil {
			return "", fmt.Errorf("bitrix24: seal the refresh token: %w", err)
		}
		at := now()
		exp := at.Add(time.Duration(tok.ExpiresIn) * time.Second).UnixMicro()
		err = d.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO bitrix24_tokens (seed, access_token, refresh_token, expires_at, updated_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (seed) DO UPDATE SET access_token = excluded.access_token, refresh_token = excluded.refresh_token,
				expires_at = excluded.expires_at, updated_at = excluded.updated_at`, seed, sa, sr, exp, at.UnixMicro())
			return err
		})
		if err != nil {
			// The old refresh token is spent: the new pair is lost
			// unless kept, so say so plainly.
			return "", fmt.Errorf("bitrix24: store the refreshed OAuth tokens (the application must be authorised again if this persists): %w", err)
		}
		return tok.Access, nil
	}
}

type tokenAnswer struct {
	Access    string `json:"access_token"`
	Refresh   string `json:"refresh_token"`
	ExpiresIn int64  `json:"expires_in"`
	Error     string `json:"error"`
	Desc      string `json:"error_description"`
}

// refresh asks the authorization server for a new pair.
func (d Deps) refresh(ctx context.Context, p Portal, refresh string) (tokenAnswer, error) {
	q := url.Values{"grant_type": {"refresh_token"}, "client_id": {p.ClientID}, "client_secret": {p.ClientSecret}, "refresh_token": {refresh}}
	u := p.OAuthURL
	if strings.Contains(u, "?") {
		u += "&" + q.Encode()
	} else {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return tokenAnswer{}, fmt.Errorf("bitrix24: oauth: %w", err)
	}
	res, err := d.HTTP.Do(req)
	if err != nil {
		// The address holds the secrets: only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return tokenAnswer{}, fmt.Errorf("bitrix24: oauth: refresh the token: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return tokenAnswer{}, fmt.Errorf("bitrix24: oauth: read the answer: %w", err)
	}
	var t tokenAnswer
	if err := json.Unmarshal(b, &t); err != nil || t.Error != "" || res.StatusCode >= 300 || t.Access == "" || t.Refresh == "" {
		e := &Error{Method: "oauth", Status: res.StatusCode, Code: t.Error, Description: t.Desc}
		if e.Code == "" && e.Description == "" {
			e.Description = "not a token answer: " + snippet(b)
		}
		return t, e
	}
	if t.ExpiresIn <= 0 {
		t.ExpiresIn = 3600
	}
	return t, nil
}
