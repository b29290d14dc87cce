package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// safeNext keeps a post-sign-in redirect on this site: only a path of
// this origin survives, rebuilt from its parsed form so that what the
// browser follows is exactly what was checked. Browsers drop tabs and
// line breaks from URLs and read a backslash as a slash, so "/\t/host"
// and "/\\host" would become "//host" — another site — after the check;
// any control character, backslash or encoded slash at the start refuses
// the value outright.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return "/"
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' || (c >= 0x80 && c <= 0x9f) || c == '\u2028' || c == '\u2029' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	p := u.EscapedPath()
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(strings.ToLower(p), "/%2f") || strings.HasPrefix(strings.ToLower(p), "/%5c") {
		return "/"
	}
	out := p
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		out += "#" + u.EscapedFragment()
	}
	// The rebuilt value must parse back to the same same-origin path.
	if back, err := url.Parse(out); err != nil || back.Host != "" || back.Scheme != "" {
		return "/"
	}
	return out
}

type loginData struct {
	Login, Next, Error string
	CSRF               string
}

// loginCSRFCookie carries the sign-in form's token before there is a
// session: a POST /login must send the same value in its csrf field
// (double submit), which a form on another site cannot read or set, so
// that no one can sign a victim's browser into the attacker's account.
const loginCSRFCookie = "obmen_login_csrf"

// loginToken is the request's sign-in token, a new one (set as a cookie)
// when it has none.
func loginToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCSRFCookie); err == nil && len(c.Value) == 64 {
		if _, err := hex.DecodeString(c.Value); err == nil {
			return c.Value
		}
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("web: no randomness: " + err.Error())
	}
	tok := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: tok, Path: "/login", MaxAge: 12 * 3600, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	return tok
}

// loginCSRFValid reports whether a POST /login carries the token of its
// cookie.
func loginCSRFValid(r *http.Request) bool {
	c, err := r.Cookie(loginCSRFCookie)
	form := r.PostFormValue("csrf")
	return err == nil && c.Value != "" && form != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) == 1
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	rq := &request{Lang: langOf(r)}
	u.render(w, r, rq, http.StatusOK, "login", rq.T("login.title"), "", loginData{Next: safeNext(r.URL.Query().Get("next")), CSRF: loginToken(w, r)})
}

// loginSubmit signs in with the form fields login and password. Guessing
// is limited per client address and per login, as in the API.
func (u *UI) loginSubmit(w http.ResponseWriter, r *http.Request) {
	rq := &request{Lang: langOf(r)}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	login, pw := strings.TrimSpace(r.PostFormValue("login")), r.PostFormValue("password")
	d := loginData{Login: login, Next: safeNext(r.PostFormValue("next"))}
	valid := loginCSRFValid(r)
	d.CSRF = loginToken(w, r)
	limited := func(wait float64) {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait))))
		d.Error = rq.T("login.limited")
		u.render(w, r, rq, http.StatusTooManyRequests, "login", rq.T("login.title"), "", d)
	}
	if ok, wait := u.loginByIP.Allow(r.Context(), httpx.ClientIP(r)); !ok {
		u.log.Warn("web: sign-in rate limited", "remote", r.RemoteAddr)
		limited(wait.Seconds())
		return
	}
	if ok, wait := u.loginByName.Allow(r.Context(), strings.ToLower(login)); !ok {
		u.log.Warn("web: sign-in rate limited", "login", login, "remote", r.RemoteAddr)
		limited(wait.Seconds())
		return
	}
	if !valid {
		u.log.Warn("web: sign-in without the form's CSRF token refused", "remote", r.RemoteAddr)
		d.Error = rq.T("login.csrf_refused")
		u.render(w, r, rq, http.StatusForbidden, "login", rq.T("login.title"), "", d)
		return
	}
	usr, err := u.store.Authenticate(r.Context(), login, pw)
	if errors.Is(err, store.ErrBadCredentials) {
		u.log.Warn("web: failed sign-in", "login", login, "remote", r.RemoteAddr)
		d.Error = rq.T("login.bad")
		u.render(w, r, rq, http.StatusUnauthorized, "login", rq.T("login.title"), "", d)
		return
	}
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if u.totp != nil {
		on, err := u.totp.Enabled(r.Context(), usr.ID)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		if on {
			u.askTOTP(w, r, rq, usr.ID, d.Next, d.CSRF)
			return
		}
	}
	u.startSession(w, r, rq, usr.ID, d.Next)
}

// startSession signs the browser in and sends it on to next.
func (u *UI) startSession(w http.ResponseWriter, r *http.Request, rq *request, userID int64, next string) {
	sess, err := u.store.CreateSession(r.Context(), userID, sessionTTL)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sess.ID, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: secure(r), Expires: sess.ExpiresAt})
	// The pre-session token and the second step's ticket have done their
	// work; the session has its own token.
	for _, name := range []string{loginCSRFCookie, totpCookie} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/login", MaxAge: -1, HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func secure(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request, rq *request) {
	if err := u.store.DeleteSession(r.Context(), rq.Sess.ID); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure(r)})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// setLang stores the language choice in a cookie. It changes nothing on
// the server, so it needs no session.
func (u *UI) setLang(w http.ResponseWriter, r *http.Request) {
	lang := r.PostFormValue("lang")
	if _, ok := catalogue[lang]; !ok {
		lang = defaultLang
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure(r)})
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

type passwordData struct {
	Error, Done string
}

func (u *UI) passwordPage(w http.ResponseWriter, r *http.Request, rq *request) {
	u.render(w, r, rq, http.StatusOK, "password", rq.T("pw.title"), "", passwordData{})
}

// passwordSubmit changes the user's own password after checking the
// current one.
func (u *UI) passwordSubmit(w http.ResponseWriter, r *http.Request, rq *request) {
	cur, next, again := r.PostFormValue("current"), r.PostFormValue("new"), r.PostFormValue("again")
	var d passwordData
	status := http.StatusUnprocessableEntity
	// Guessing the current password here counts against the sign-in limit
	// of the login, as a sign-in would.
	if ok, wait := u.loginByName.Allow(r.Context(), strings.ToLower(rq.User.Login)); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		d.Error = rq.T("login.limited")
		u.render(w, r, rq, http.StatusTooManyRequests, "password", rq.T("pw.title"), "", d)
		return
	}
	if _, err := u.store.Authenticate(r.Context(), rq.User.Login, cur); err != nil {
		d.Error = rq.T("pw.wrong")
	} else if next != again {
		d.Error = rq.T("pw.mismatch")
	} else if err := u.store.SetPassword(r.Context(), rq.Actor(), rq.User.ID, next); err != nil {
		if fe, ok := crm.AsFieldError(err); ok {
			d.Error = fieldMessage(rq, fe)
		} else {
			u.failErr(w, r, rq, err)
			return
		}
	} else {
		// SetPassword ends every session of the user, this one too:
		// start a new one so that the user stays signed in here.
		sess, err := u.store.CreateSession(r.Context(), rq.User.ID, sessionTTL)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sess.ID, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
			Secure: secure(r), Expires: sess.ExpiresAt})
		rq.Sess = sess
		d.Done, status = rq.T("pw.done"), http.StatusOK
	}
	u.render(w, r, rq, status, "password", rq.T("pw.title"), "", d)
}
