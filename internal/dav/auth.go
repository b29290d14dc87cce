package dav

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// credTTL is how long a checked login and password stay trusted in
// memory. DAV clients send the password with every request, and bcrypt
// costs tens of milliseconds each time: a first sync makes hundreds. A
// disabled user is still refused at once (the user is loaded on every
// request); a changed password stops working within credTTL.
const credTTL = time.Minute

type credCache struct {
	mu sync.Mutex
	m  map[[32]byte]credEntry
}

type credEntry struct {
	userID int64
	until  time.Time
}

func credKey(login, password string) [32]byte {
	return sha256.Sum256([]byte(login + "\x00" + password))
}

func (c *credCache) get(k [32]byte, now time.Time) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || now.After(e.until) {
		return 0, false
	}
	return e.userID, true
}

func (c *credCache) put(k [32]byte, userID int64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[[32]byte]credEntry{}
	}
	if len(c.m) > 10000 {
		for k, e := range c.m {
			if now.After(e.until) {
				delete(c.m, k)
			}
		}
	}
	c.m[k] = credEntry{userID: userID, until: now.Add(credTTL)}
}

// authenticate reads HTTP Basic credentials: a login with its password,
// or a login with an API key as an app password. A session cookie is
// never looked at: a DAV client is not a browser, and a cookie sent by a
// browser on its own must not open the address book to another site.
// Guessing counts against the sign-in limits every surface shares.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (User, bool) {
	ctx := r.Context()
	login, password, ok := r.BasicAuth()
	login = strings.TrimSpace(login)
	if !ok || login == "" || password == "" {
		h.challenge(w, "authentication required: your Obmen login and password, or an API key as the password / нужны логин и пароль Obmen или API-ключ вместо пароля")
		return User{}, false
	}
	limited := func() bool {
		if ok, wait := h.byIP.Allow(ctx, httpx.ClientIP(r)); !ok {
			h.log.Warn("dav: sign-in rate limited", "remote", r.RemoteAddr)
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			http.Error(w, "too many failed sign-ins; wait / слишком много неудачных попыток входа, подождите", http.StatusTooManyRequests)
			return true
		}
		if ok, wait := h.byLogin.Allow(ctx, strings.ToLower(login)); !ok {
			h.log.Warn("dav: sign-in rate limited", "login", login, "remote", r.RemoteAddr)
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			http.Error(w, "too many failed sign-ins; wait / слишком много неудачных попыток входа, подождите", http.StatusTooManyRequests)
			return true
		}
		return false
	}
	bad := func(why string) (User, bool) {
		h.log.Warn("dav: failed sign-in", "login", login, "remote", r.RemoteAddr, "why", why)
		if limited() {
			return User{}, false
		}
		h.challenge(w, "wrong login or password / неверный логин или пароль")
		return User{}, false
	}
	if strings.HasPrefix(password, store.KeyPrefix) {
		// An API key is checked in constant time by the store and costs
		// no bcrypt, so only failures are charged.
		ko, err := h.store.CheckAPIKey(ctx, password)
		if errors.Is(err, store.ErrBadCredentials) {
			return bad("API key")
		}
		if err != nil {
			h.fail(w, r, err)
			return User{}, false
		}
		if !strings.EqualFold(ko.User.Login, login) {
			return bad("API key of another user")
		}
		return User{User: ko.User, Actor: crm.Actor{UserID: ko.User.ID, KeyID: ko.KeyID}}, true
	}
	now := time.Now()
	k := credKey(login, password)
	if id, hit := h.cache.get(k, now); hit {
		u, err := h.store.GetUser(ctx, id)
		if err == nil && u.Active {
			return User{User: u, Actor: crm.Actor{UserID: u.ID}}, true
		}
	}
	// A password check that is not in the cache takes a token, as the
	// sign-in form does, before bcrypt runs.
	if limited() {
		return User{}, false
	}
	u, err := h.store.Authenticate(ctx, login, password)
	if errors.Is(err, store.ErrBadCredentials) {
		h.log.Warn("dav: failed sign-in", "login", login, "remote", r.RemoteAddr)
		h.challenge(w, "wrong login or password / неверный логин или пароль")
		return User{}, false
	}
	if err != nil {
		h.fail(w, r, err)
		return User{}, false
	}
	if h.totp != nil {
		on, err := h.totp.Enabled(ctx, u.ID)
		if err != nil {
			h.fail(w, r, err)
			return User{}, false
		}
		if on {
			h.log.Warn("dav: password sign-in of a two-factor user refused", "login", login, "remote", r.RemoteAddr)
			h.challenge(w, "two-factor sign-in is on: use an API key as the app password / включён двухфакторный вход: вместо пароля укажите API-ключ (пароль приложения)")
			return User{}, false
		}
	}
	h.cache.put(k, u.ID, now)
	return User{User: u, Actor: crm.Actor{UserID: u.ID}}, true
}

func (h *Handler) challenge(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="Obmen", charset="UTF-8"`)
	http.Error(w, msg, http.StatusUnauthorized)
}
