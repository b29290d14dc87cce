// Package api serves Obmen's REST API under /api/v1: JSON in and out,
// authenticated by an API key (Authorization: Bearer) or a session cookie.
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/obmen/obmen/internal/address"
	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/bitrix"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/totp"
)

// SessionCookie names the session cookie shared with the web UI.
const SessionCookie = "obmen_session"

// API is the /api/v1 surface.
type API struct {
	store   *store.Store
	log     *slog.Logger
	maxBody int64
	routes  []Route

	// addr is where address suggestions come from (SetAddressSource).
	addr *address.Source

	touchMu sync.Mutex
	touched map[int64]time.Time // API key id → last recorded use

	openapiOnce sync.Once
	openapiJSON []byte

	loginByIP, loginByName *httpx.Limiter
	// totp is the second sign-in step (SetTOTP); nil: none.
	totp *totp.Guard

	bitrixHooks *bitrix.Webhooks
	baseURL     string
	extra       []func(*http.ServeMux)
}

// New returns the API over a store.
func New(s *store.Store, log *slog.Logger, maxBody int64) *API {
	if maxBody <= 0 {
		maxBody = 4 << 20
	}
	return &API{store: s, log: log, maxBody: maxBody, touched: map[int64]time.Time{},
		loginByIP:   DefaultSignInByIP(),
		loginByName: DefaultSignInByLogin(),
	}
}

// The default sign-in limits (each call a new limiter): 20 at once per address, then one every
// 3 s; 10 per login, then one every 6 s.
func DefaultSignInByIP() *httpx.Limiter    { return httpx.NewLimiter(3*time.Second, 20) }
func DefaultSignInByLogin() *httpx.Limiter { return httpx.NewLimiter(6*time.Second, 10) }

// SetTOTP makes POST /api/v1/session ask users with two-factor sign-in
// for their code.
func (a *API) SetTOTP(g *totp.Guard) { a.totp = g }

// SetSignInLimits replaces the sign-in rate limiters (per client address
// and per login); tests use it to make limits reachable quickly.
func (a *API) SetSignInLimits(perIP, perLogin *httpx.Limiter) {
	a.loginByIP, a.loginByName = perIP, perLogin
}

// Principal is who makes a request.
type Principal struct {
	User    crm.User
	KeyID   int64
	Session *store.Session
	Actor   crm.Actor
}

// IsAdmin reports whether the principal has the admin role.
func (p *Principal) IsAdmin() bool { return p.User.Role == crm.RoleAdmin }

type principalKey struct{}

// PrincipalFrom returns the authenticated principal of a request.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

var integrationName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,49}$`)

// authenticate finds the principal of a request or answers 401.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request) (*Principal, bool) {
	ctx := r.Context()
	var p *Principal
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			a.fail(w, r, httpx.Errorf(http.StatusUnauthorized, "unauthorized", "", "Authorization must be \"Bearer <API key>\""))
			return nil, false
		}
		ko, err := a.store.CheckAPIKey(ctx, strings.TrimSpace(token))
		if err != nil {
			if !errors.Is(err, store.ErrBadCredentials) {
				a.fail(w, r, httpx.Errorf(http.StatusInternalServerError, "internal", "", "check API key: %v", err))
				return nil, false
			}
			a.log.Warn("api: rejected API key", "remote", r.RemoteAddr, "path", r.URL.Path)
			a.fail(w, r, httpx.Errorf(http.StatusUnauthorized, "unauthorized", "", "invalid or revoked API key"))
			return nil, false
		}
		a.touchKey(ko.KeyID, ko.LastUsed)
		p = &Principal{User: ko.User, KeyID: ko.KeyID, Actor: crm.Actor{UserID: ko.User.ID, KeyID: ko.KeyID}}
	} else if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		sess, u, err := a.store.CheckSession(ctx, c.Value)
		if err != nil {
			a.fail(w, r, httpx.Errorf(http.StatusUnauthorized, "unauthorized", "", "session expired; sign in again"))
			return nil, false
		}
		// A cookie is sent by the browser on its own, so a state-changing
		// request must also prove it came from our pages.
		if !safeMethod(r.Method) && !tokensEqual(r.Header.Get("X-CSRF-Token"), sess.CSRF) {
			a.fail(w, r, httpx.Errorf(http.StatusForbidden, "csrf", "", "missing or wrong X-CSRF-Token header"))
			return nil, false
		}
		p = &Principal{User: u, Session: &sess, Actor: crm.Actor{UserID: u.ID}}
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer realm="obmen"`)
		a.fail(w, r, httpx.Errorf(http.StatusUnauthorized, "unauthorized", "", "authentication required: send Authorization: Bearer <API key>"))
		return nil, false
	}
	if name := r.Header.Get("X-Obmen-Integration"); name != "" {
		if !integrationName.MatchString(name) {
			a.fail(w, r, httpx.Errorf(http.StatusBadRequest, "bad_request", "X-Obmen-Integration", "integration name must be lower-case letters, digits, '.', '_' or '-'"))
			return nil, false
		}
		if crm.BuiltinIntegration(name) {
			// Changes made as "1c" are not sent to 1C; a client acting
			// under that name would hide its changes from the exchange.
			a.fail(w, r, httpx.Errorf(http.StatusBadRequest, "bad_request", "X-Obmen-Integration",
				"integration name %q is reserved for Obmen's built-in integration; choose another name", name))
			return nil, false
		}
		p.Actor.Integration = name
	}
	return p, true
}

func tokensEqual(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// touchKey records a key's use at most once a minute, off the request path.
func (a *API) touchKey(id int64, last time.Time) {
	now := time.Now()
	a.touchMu.Lock()
	prev, ok := a.touched[id]
	if !ok {
		prev = last
	}
	if now.Sub(prev) < time.Minute {
		a.touchMu.Unlock()
		return
	}
	a.touched[id] = now
	a.touchMu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.store.TouchAPIKey(ctx, id, now); err != nil {
			a.log.Warn("api: record key use", "key_id", id, "err", err)
		}
	}()
}

// handler is an API endpoint: it gets the principal and returns an error
// to be written as the envelope.
type handler func(w http.ResponseWriter, r *http.Request, p *Principal) error

// wrap authenticates and turns returned errors into responses.
func (a *API) wrap(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := a.authenticate(w, r)
		if !ok {
			return
		}
		ctx := context.WithValue(r.Context(), principalKey{}, p)
		// A manager sees and changes only the records they are
		// responsible for, unless an administrator granted more.
		ctx, err := a.store.ScopeFor(ctx, p.User)
		if err != nil {
			a.fail(w, r, toHTTPError(err))
			return
		}
		if err := h(w, r.WithContext(ctx), p); err != nil {
			a.fail(w, r, toHTTPError(err))
		}
	}
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, e *httpx.Error) {
	if e.Status >= 500 {
		a.log.Error("api: request failed", "method", r.Method, "path", r.URL.Path, "err", e.Message)
		e.Message = "internal error; see the server log"
	}
	httpx.WriteError(w, e)
}

// toHTTPError maps domain and store errors to statuses.
func toHTTPError(err error) *httpx.Error {
	var he *httpx.Error
	if errors.As(err, &he) {
		return he
	}
	if fe, ok := crm.AsFieldError(err); ok {
		return &httpx.Error{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Field: fe.Field, Message: fe.Message, Reason: fe.Code}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return httpx.Errorf(http.StatusNotFound, "not_found", "", "%s", strings.TrimPrefix(err.Error(), "store: "))
	case errors.Is(err, store.ErrForbidden):
		return httpx.Errorf(http.StatusForbidden, "forbidden", "", "%s", strings.TrimPrefix(err.Error(), "store: "))
	case errors.Is(err, store.ErrConflict):
		return httpx.Errorf(http.StatusConflict, "conflict", "", "%s", strings.TrimPrefix(err.Error(), "store: "))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "request cancelled")
	}
	return httpx.Errorf(http.StatusInternalServerError, "internal", "", "%v", err)
}

// pathID parses the {id} path value.
func pathID(r *http.Request, name string) (int64, error) { return httpx.PathID(r, name, "record") }

// pathIDZero parses an {id} that may be 0 (the default pipeline).
func pathIDZero(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 {
		return 0, httpx.Errorf(http.StatusBadRequest, "bad_request", name, "%q is not an id", v)
	}
	return id, nil
}

// body reads and strictly decodes a JSON body into dst.
func (a *API) body(r *http.Request, dst any) error { return httpx.ReadJSON(r, a.maxBody, dst) }

// authorize applies authz's rule for res to the principal: a 403 when it
// may not perform act (owner: the user the thing belongs to, 0 none).
func authorize(p *Principal, res authz.Resource, act authz.Action, owner int64) error {
	if err := authz.CheckOwn(p.User, res, act, owner); err != nil {
		return httpx.Errorf(http.StatusForbidden, "forbidden", "", "%s", strings.TrimPrefix(err.Error(), "authz: "))
	}
	return nil
}
