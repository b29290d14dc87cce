package bitrix_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/bitrix"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// clock is a settable time for token expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// oauthEnv is the API and its token endpoint over loopback, with an OAuth
// application on the admin's webhook.
func oauthEnv(t *testing.T, d *db.DB, clk *clock) (*env, bitrix.App, string, bitrix.Tokens) {
	t.Helper()
	ctx := context.Background()
	s := store.New(d)
	admin := storetest.Admin(t, s)
	h := bitrix.New(d, s, slog.New(slog.NewTextHandler(io.Discard, nil)), bitrix.Options{Location: msk, Now: clk.now, MemberID: "51e2c566"})
	hook, _, err := h.Webhooks().CreateWebhook(ctx, admin.UserID, "app", []string{"crm", "user"})
	if err != nil {
		t.Fatal(err)
	}
	app, secret, err := h.Webhooks().CreateApp(ctx, hook.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Webhooks().CreateApp(ctx, hook.ID); err == nil {
		t.Error("a second application on one webhook was registered")
	}
	tok, err := h.Webhooks().IssueTokens(ctx, hook.ID)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/rest/", h)
	mux.Handle("/oauth/token/", h.OAuthHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e := &env{t: t, d: d, s: s, h: h, srv: srv, admin: admin, hook: hook, client: srv.Client(), base: srv.URL + "/rest/"}
	return e, app, secret, tok
}

// withToken calls /rest/{method}?auth=token with a JSON body, as an
// OAuth application does (settings/oauth/index.md).
func (e *env) withToken(token, method string, body any) answer {
	e.t.Helper()
	c := *e
	c.base = e.srv.URL + "/rest/"
	return c.json(method+".json?auth="+url.QueryEscape(token), body)
}

// token posts a grant to the token endpoint.
func (e *env) token(v url.Values) answer {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/oauth/token/", strings.NewReader(v.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req)
}

func oauthFails(t *testing.T, a answer, status int, code string) {
	t.Helper()
	got, _ := a.Doc.Get("error")
	if a.Status != status || got != code {
		t.Fatalf("status %d error %v, want %d %s: %s", a.Status, got, status, code, a.Body)
	}
}

func TestOAuthApplication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		clk := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
		e, app, secret, tok := oauthEnv(t, d, clk)
		e = e.with(t)

		// The application works as its webhook: its user, its scopes.
		me := e.ok(e.withToken(tok.AccessToken, "user.current", map[string]any{}))
		if got := me.str(t, "result", "ID"); got != fmt.Sprint(e.admin.UserID) {
			t.Errorf("user.current ID %s, want %d", got, e.admin.UserID)
		}
		deal := e.ok(e.withToken(tok.AccessToken, "crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Заказ OAuth"}})).str(t, "result")
		got := e.ok(e.withToken(tok.AccessToken, "crm.deal.get", map[string]any{"id": deal}))
		if got.str(t, "result", "TITLE") != "Заказ OAuth" {
			t.Errorf("deal made with a token: %s", got.Body)
		}
		// A GET query carries the token as well, and so does a JSON body
		// (crm-duplicate-find-by-comm.md's example), here of a batch.
		e.ok(e.raw(http.MethodGet, "/rest/crm.deal.get?id="+deal+"&auth="+tok.AccessToken))
		inBody := e.with(t)
		inBody.base = e.srv.URL + "/rest/"
		b := inBody.ok(inBody.json("batch", map[string]any{"auth": tok.AccessToken, "halt": 1,
			"cmd": map[string]any{"d": "crm.deal.get?id=" + deal}}))
		if got := b.str(t, "result", "result", "d", "TITLE"); got != "Заказ OAuth" {
			t.Errorf("batch with auth in a JSON body: %s", b.Body)
		}

		// No token, an unknown one, a webhook-style path without a code.
		e.fails(e.raw(http.MethodGet, "/rest/crm.deal.get?id="+deal), http.StatusUnauthorized, "NO_AUTH_FOUND", "Wrong authorization data")
		e.fails(e.raw(http.MethodGet, "/rest/crm.deal.get?id="+deal+"&auth=nosuchtoken"), http.StatusUnauthorized, "NO_AUTH_FOUND", "Wrong authorization data")
		e.fails(e.withToken(tok.RefreshToken, "crm.deal.get", map[string]any{"id": deal}), http.StatusUnauthorized, "NO_AUTH_FOUND", "Wrong authorization data")

		// After an hour the access token has expired (_includes/system-errors.md).
		clk.add(time.Hour + time.Second)
		e.fails(e.withToken(tok.AccessToken, "crm.deal.get", map[string]any{"id": deal}), http.StatusUnauthorized, "expired_token", "The access token provided has expired")

		// Renewal (settings/oauth/auto-renewal.md, error-codes.md).
		grant := func(secret, refresh string) url.Values {
			return url.Values{"grant_type": {"refresh_token"}, "client_id": {app.ClientID}, "client_secret": {secret}, "refresh_token": {refresh}}
		}
		oauthFails(t, e.token(grant("wrong-secret", tok.RefreshToken)), http.StatusUnauthorized, "invalid_client")
		oauthFails(t, e.token(grant(secret, "nosuchtoken")), http.StatusBadRequest, "invalid_grant")
		oauthFails(t, e.token(grant(secret, tok.AccessToken)), http.StatusBadRequest, "invalid_grant")
		oauthFails(t, e.token(url.Values{"grant_type": {"password"}, "client_id": {app.ClientID}}), http.StatusBadRequest, "invalid_request")
		oauthFails(t, e.token(url.Values{"grant_type": {"refresh_token"}, "client_id": {app.ClientID}, "client_secret": {secret}}), http.StatusBadRequest, "invalid_request")
		renewed := e.token(grant(secret, tok.RefreshToken))
		if renewed.Status != http.StatusOK {
			t.Fatalf("refresh: %d %s", renewed.Status, renewed.Body)
		}
		conform(t, "oauth.token", renewed)
		for k, want := range map[string]string{
			"expires_in": "3600", "expires": fmt.Sprint(clk.now().Add(time.Hour).Unix()), "client_endpoint": e.srv.URL + "/rest/",
			"member_id": "51e2c566", "scope": "crm,user", "user_id": fmt.Sprint(e.admin.UserID), "status": "L",
		} {
			if got := renewed.str(t, k); got != want {
				t.Errorf("refresh answer %s = %q, want %q", k, got, want)
			}
		}
		access, refresh := renewed.str(t, "access_token"), renewed.str(t, "refresh_token")
		if access == tok.AccessToken || refresh == tok.RefreshToken || access == refresh {
			t.Fatalf("renewal answered old tokens: %s", renewed.Body)
		}
		e.ok(e.withToken(access, "crm.deal.get", map[string]any{"id": deal}))
		// Rotation: the used refresh token is refused from now on.
		oauthFails(t, e.token(grant(secret, tok.RefreshToken)), http.StatusBadRequest, "invalid_grant")
		// A GET with the query, as documented, renews too.
		q := grant(secret, refresh)
		again := e.raw(http.MethodGet, "/oauth/token/?"+q.Encode())
		if again.Status != http.StatusOK {
			t.Fatalf("GET refresh: %d %s", again.Status, again.Body)
		}
		refresh = again.str(t, "refresh_token")

		// A refresh token lives 180 days.
		clk.add(bitrix.RefreshTokenTTL + time.Minute)
		oauthFails(t, e.token(grant(secret, refresh)), http.StatusBadRequest, "invalid_grant")

		// The authorization code: once, within 30 seconds.
		ctx := context.Background()
		code, err := e.h.Webhooks().IssueCode(ctx, e.hook.ID)
		if err != nil {
			t.Fatal(err)
		}
		byCode := url.Values{"grant_type": {"authorization_code"}, "client_id": {app.ClientID}, "client_secret": {secret}, "code": {code}}
		first := e.token(byCode)
		if first.Status != http.StatusOK {
			t.Fatalf("code grant: %d %s", first.Status, first.Body)
		}
		oauthFails(t, e.token(byCode), http.StatusBadRequest, "invalid_grant")
		late, err := e.h.Webhooks().IssueCode(ctx, e.hook.ID)
		if err != nil {
			t.Fatal(err)
		}
		clk.add(bitrix.AuthCodeTTL + time.Second)
		byCode.Set("code", late)
		oauthFails(t, e.token(byCode), http.StatusBadRequest, "invalid_grant")

		// Only hashes are kept.
		for _, plain := range []string{secret, access, refresh, code, first.str(t, "access_token")} {
			var n int
			err := d.Read.QueryRowContext(ctx, `SELECT
				(SELECT COUNT(*) FROM bitrix_oauth_tokens WHERE token_hash = $1) +
				(SELECT COUNT(*) FROM bitrix_oauth_apps WHERE secret_hash = $1)`, plain).Scan(&n)
			if err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("a token or secret is stored in the clear")
			}
		}

		// A disabled webhook stops its application: calls and renewal.
		live := first.str(t, "access_token")
		e.ok(e.withToken(live, "crm.deal.get", map[string]any{"id": deal}))
		if err := e.h.Webhooks().SetWebhookActive(ctx, e.hook.ID, false); err != nil {
			t.Fatal(err)
		}
		e.fails(e.withToken(live, "crm.deal.get", map[string]any{"id": deal}), http.StatusUnauthorized, "NO_AUTH_FOUND", "Wrong authorization data")
		oauthFails(t, e.token(grant(secret, first.str(t, "refresh_token"))), http.StatusUnauthorized, "invalid_client")

		// Deleting the webhook removes the application and its tokens.
		if err := e.h.Webhooks().DeleteWebhook(ctx, e.hook.ID); err != nil {
			t.Fatal(err)
		}
		var left int
		if err := d.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM bitrix_oauth_tokens").Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Errorf("%d tokens outlived their webhook", left)
		}
	})
}

// TestRateLimitOfApplication: an application's calls come out of its
// webhook's leaky bucket (b24restdocs limits.md: 503 QUERY_LIMIT_EXCEEDED
// "Too many requests" past the bucket, which drains at the rate), a batch
// is one call, and the bucket drains with the clock.
func TestRateLimitOfApplication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
		s := store.New(d)
		admin := storetest.Admin(t, s)
		h := bitrix.New(d, s, slog.New(slog.NewTextHandler(io.Discard, nil)), bitrix.Options{Location: msk, Now: clk.now, RateLimit: 2, Burst: 3})
		hook, code, err := h.Webhooks().CreateWebhook(ctx, admin.UserID, "limited", []string{"crm"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := h.Webhooks().CreateApp(ctx, hook.ID); err != nil {
			t.Fatal(err)
		}
		tok, err := h.Webhooks().IssueTokens(ctx, hook.ID)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		e := &env{t: t, d: d, s: s, h: h, srv: srv, admin: admin, client: srv.Client(), base: fmt.Sprintf("%s/rest/%d/%s/", srv.URL, admin.UserID, code)}
		var cmds []string
		for i := range 10 {
			cmds = append(cmds, fmt.Sprintf("cmd[c%d]", i), "server.time")
		}
		e.ok(e.form("batch", q(cmds...))) // ten commands, one call
		e.ok(e.get("server.time", ""))
		e.ok(e.withToken(tok.AccessToken, "server.time", map[string]any{}))
		e.fails(e.withToken(tok.AccessToken, "server.time", map[string]any{}), http.StatusServiceUnavailable, "QUERY_LIMIT_EXCEEDED", "Too many requests")
		e.fails(e.get("server.time", ""), http.StatusServiceUnavailable, "QUERY_LIMIT_EXCEEDED", "Too many requests")
		clk.add(time.Second) // two calls drained
		e.ok(e.withToken(tok.AccessToken, "server.time", map[string]any{}))
		e.ok(e.get("server.time", ""))
		e.fails(e.get("server.time", ""), http.StatusServiceUnavailable, "QUERY_LIMIT_EXCEEDED", "Too many requests")
	})
}

// TestOAuthApplicationOfManager: an application acts as its webhook's
// user, so a manager's application sees only the manager's records, as
// the manager's webhook does (TestCrawlBitrixAccess).
func TestOAuthApplicationOfManager(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d).with(t)
		adminDeal := e.ok(e.json("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Чужая сделка"}})).str(t, "result")
		u, err := e.s.CreateUser(ctx, e.admin, crm.User{Login: "oleg", Role: crm.RoleManager, Active: true}, "oleg-password-1")
		if err != nil {
			t.Fatal(err)
		}
		hook, _, err := e.h.Webhooks().CreateWebhook(ctx, u.ID, "oleg", []string{"crm"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.h.Webhooks().CreateApp(ctx, hook.ID); err != nil {
			t.Fatal(err)
		}
		tok, err := e.h.Webhooks().IssueTokens(ctx, hook.ID)
		if err != nil {
			t.Fatal(err)
		}
		e.base = e.srv.URL + "/rest/"
		got := e.withToken(tok.AccessToken, "crm.deal.get", map[string]any{"id": adminDeal})
		if got.Status == http.StatusOK || !accessRefusal.Match(got.Body) {
			t.Errorf("a manager's application read the administrator's deal: %d %s", got.Status, got.Body)
		}
		list := e.ok(e.withToken(tok.AccessToken, "crm.deal.list", map[string]any{}))
		if list.str(t, "total") != "0" {
			t.Errorf("a manager's application lists others' deals: %s", list.Body)
		}
		// Its scopes are the webhook's: no user scope, no user.get.
		e.fails(e.withToken(tok.AccessToken, "user.get", map[string]any{}), http.StatusForbidden, "insufficient_scope", "")
	})
}
