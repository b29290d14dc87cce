package web

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/totp"
)

// SetTOTP turns on the optional second sign-in step (and, with
// RequireAdmins, its enrolment for administrators).
func (u *UI) SetTOTP(g *totp.Guard) { u.totp = g }

// totpCookie holds the signed ticket between the password and the code;
// no session exists until the code is right.
const totpCookie = "obmen_totp_ticket"

type loginTOTPData struct {
	Next, Error, CSRF string
}

// askTOTP answers a right password of a user with two-factor sign-in on:
// the code form, and the ticket that names the user to it.
func (u *UI) askTOTP(w http.ResponseWriter, r *http.Request, rq *request, userID int64, next, csrf string) {
	http.SetCookie(w, &http.Cookie{Name: totpCookie, Value: u.totp.Ticket(userID), Path: "/login", MaxAge: 300, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	u.render(w, r, rq, http.StatusOK, "login_totp", rq.T("login.title"), "", loginTOTPData{Next: next, CSRF: csrf})
}

// loginTOTPSubmit is the second step: the code of the user named by the
// ticket. Wrong codes count against the same per-address and per-login
// limits as wrong passwords (shared with the API); a code works once.
func (u *UI) loginTOTPSubmit(w http.ResponseWriter, r *http.Request) {
	rq := &request{Lang: langOf(r)}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	code := r.PostFormValue("code")
	valid := loginCSRFValid(r)
	d := loginTOTPData{Next: safeNext(r.PostFormValue("next")), CSRF: loginToken(w, r)}
	again := func(status int, msg string) {
		d.Error = msg
		u.render(w, r, rq, status, "login_totp", rq.T("login.title"), "", d)
	}
	if u.totp == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	c, err := r.Cookie(totpCookie)
	var uid int64
	ok := err == nil
	if ok {
		uid, ok = u.totp.TicketUser(c.Value)
	}
	if !ok {
		// Expired or forged: start again with the password.
		http.Redirect(w, r, "/login?next="+urlQueryEscape(d.Next), http.StatusSeeOther)
		return
	}
	usr, err := u.store.GetUser(r.Context(), uid)
	if err != nil || !usr.Active {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if ok, wait := u.loginByIP.Allow(r.Context(), httpx.ClientIP(r)); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		again(http.StatusTooManyRequests, rq.T("login.limited"))
		return
	}
	if ok, wait := u.loginByName.Allow(r.Context(), strings.ToLower(usr.Login)); !ok {
		u.log.Warn("web: TOTP sign-in rate limited", "login", usr.Login, "remote", r.RemoteAddr)
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		again(http.StatusTooManyRequests, rq.T("login.limited"))
		return
	}
	if !valid {
		again(http.StatusForbidden, rq.T("login.csrf_refused"))
		return
	}
	switch err := u.totp.Check(r.Context(), uid, code); {
	case errors.Is(err, totp.ErrWrongCode):
		u.log.Warn("web: wrong TOTP code", "login", usr.Login, "remote", r.RemoteAddr)
		again(http.StatusUnauthorized, rq.T("totp.wrong"))
		return
	case errors.Is(err, totp.ErrReplay):
		u.log.Warn("web: TOTP code replayed", "login", usr.Login, "remote", r.RemoteAddr)
		again(http.StatusUnauthorized, rq.T("totp.replay"))
		return
	case err != nil:
		u.failErr(w, r, rq, err)
		return
	}
	u.startSession(w, r, rq, uid, d.Next)
}

// totpGate sends an administrator who must enrol (RequireAdmins) and has
// not to the enrolment page; it reports whether the request may go on.
func (u *UI) totpGate(w http.ResponseWriter, r *http.Request, rq *request) bool {
	if u.totp == nil || !u.totp.Required(rq.User) {
		return true
	}
	if p := r.URL.Path; p == "/account/totp" || strings.HasPrefix(p, "/account/totp/") || p == "/logout" {
		return true
	}
	on, err := u.totp.Enabled(r.Context(), rq.User.ID)
	if err != nil {
		u.failErr(w, r, rq, err)
		return false
	}
	if on {
		return true
	}
	if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
		http.Redirect(w, r, "/account/totp", http.StatusSeeOther)
		return false
	}
	u.fail(w, r, rq, http.StatusForbidden, rq.T("totp.required"))
	return false
}

type totpData struct {
	Available, Enabled, Required bool
	Secret, URI                  string
	RecoveryLeft                 int
	// Recovery are the new recovery codes, shown once after confirming.
	Recovery []string
	Error    string
}

// accountTOTP is the user's own two-factor page: the key to add to an
// authenticator app while off, its state while on.
func (u *UI) accountTOTP(w http.ResponseWriter, r *http.Request, rq *request) {
	u.showTOTP(w, r, rq, http.StatusOK, totpData{})
}

func (u *UI) showTOTP(w http.ResponseWriter, r *http.Request, rq *request, status int, d totpData) {
	d.Available = u.totp != nil
	if u.totp == nil {
		u.render(w, r, rq, status, "totp", rq.T("totp.title"), "", d)
		return
	}
	d.Required = u.totp.Required(rq.User)
	t, err := u.store.GetTOTP(r.Context(), rq.User.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		u.failErr(w, r, rq, err)
		return
	}
	d.Enabled, d.RecoveryLeft = t.Enabled, t.RecoveryLeft
	if !d.Enabled {
		e, err := u.totp.Pending(r.Context(), rq.User)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		d.Secret, d.URI = e.Secret, e.URI
	}
	u.render(w, r, rq, status, "totp", rq.T("totp.title"), "", d)
}

// accountTOTPQR is the pending key's otpauth:// address as a QR code.
func (u *UI) accountTOTPQR(w http.ResponseWriter, r *http.Request, rq *request) {
	if u.totp == nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	e, err := u.totp.Pending(r.Context(), rq.User)
	if errors.Is(err, store.ErrTOTPEnabled) {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(e.QR)
}

// accountTOTPConfirm switches the factor on with a first code and shows
// the recovery codes once.
func (u *UI) accountTOTPConfirm(w http.ResponseWriter, r *http.Request, rq *request) {
	if u.totp == nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	if ok, wait := u.loginByName.Allow(r.Context(), strings.ToLower(rq.User.Login)); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		u.showTOTP(w, r, rq, http.StatusTooManyRequests, totpData{Error: rq.T("login.limited")})
		return
	}
	codes, err := u.totp.Confirm(r.Context(), rq.User.ID, r.PostFormValue("code"))
	if errors.Is(err, totp.ErrWrongCode) {
		u.showTOTP(w, r, rq, http.StatusUnprocessableEntity, totpData{Error: rq.T("totp.wrong")})
		return
	}
	if err != nil && !errors.Is(err, store.ErrTOTPEnabled) {
		u.failErr(w, r, rq, err)
		return
	}
	u.log.Info("web: two-factor sign-in switched on", "user", rq.User.Login)
	u.showTOTP(w, r, rq, http.StatusOK, totpData{Recovery: codes})
}

// accountTOTPOff switches the user's own factor off; it asks for a current
// code (or a recovery code), so that an unattended session cannot.
func (u *UI) accountTOTPOff(w http.ResponseWriter, r *http.Request, rq *request) {
	if u.totp == nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	if u.totp.Required(rq.User) {
		u.showTOTP(w, r, rq, http.StatusForbidden, totpData{Error: rq.T("totp.required")})
		return
	}
	if ok, wait := u.loginByName.Allow(r.Context(), strings.ToLower(rq.User.Login)); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		u.showTOTP(w, r, rq, http.StatusTooManyRequests, totpData{Error: rq.T("login.limited")})
		return
	}
	switch err := u.totp.Check(r.Context(), rq.User.ID, r.PostFormValue("code")); {
	case errors.Is(err, totp.ErrWrongCode):
		u.showTOTP(w, r, rq, http.StatusUnprocessableEntity, totpData{Error: rq.T("totp.wrong")})
		return
	case errors.Is(err, totp.ErrReplay):
		u.showTOTP(w, r, rq, http.StatusUnprocessableEntity, totpData{Error: rq.T("totp.replay")})
		return
	case err != nil:
		u.failErr(w, r, rq, err)
		return
	}
	if err := u.totp.Reset(r.Context(), rq.User.ID); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	u.log.Info("web: two-factor sign-in switched off", "user", rq.User.Login)
	back(w, r, "/account/totp?flash=totp.off_done")
}

// adminTOTPReset removes another user's factor (a lost phone): the user
// signs in with the password alone and may enrol again.
func (u *UI) adminTOTPReset(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allowAs(w, r, rq, authz.Users, authz.Write, 0) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	if u.totp == nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	target, err := u.store.GetUser(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if err := u.totp.Reset(r.Context(), id); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	u.log.Warn("web: two-factor sign-in reset by an administrator", "user", target.Login, "by", rq.User.Login)
	back(w, r, "/admin/users?flash=totp.reset_done")
}
