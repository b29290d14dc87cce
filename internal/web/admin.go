package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

type usersData struct {
	Users []crm.User
	// Access sums up, per manager, what they see beyond their own.
	Access map[int64]string
	// TOTP marks the users with two-factor sign-in on (nil: the
	// installation has no second factor).
	TOTP  map[int64]bool
	Error string
	Form  url.Values
	Days  []string // the weekdays' short names, Monday first
}

// allow applies authz's rule for res to the signed-in user, reading on GET
// and changing on any other method, and answers 403 when it refuses: the
// same function the REST API asks, so the two cannot disagree.
func (u *UI) allow(w http.ResponseWriter, r *http.Request, rq *request, res authz.Resource) bool {
	return u.allowAs(w, r, rq, res, authz.ActionOf(r.Method), 0)
}

// allowAs is allow for an explicit action on a thing owned by user owner
// (0: nobody's).
func (u *UI) allowAs(w http.ResponseWriter, r *http.Request, rq *request, res authz.Resource, act authz.Action, owner int64) bool {
	if !authz.CanOwn(rq.User, res, act, owner) {
		u.fail(w, r, rq, http.StatusForbidden, rq.T("err.admin_only"))
		return false
	}
	return true
}

// users lists the users and offers a form for a new one (admins only).
func (u *UI) users(w http.ResponseWriter, r *http.Request, rq *request) {
	// The page manages accounts and sums up their grants.
	if !u.allowAs(w, r, rq, authz.Users, authz.Write, 0) || !u.allow(w, r, rq, authz.Grants) {
		return
	}
	u.showUsers(w, r, rq, http.StatusOK, "", nil)
}

func (u *UI) showUsers(w http.ResponseWriter, r *http.Request, rq *request, status int, errMsg string, form url.Values) {
	us, err := u.store.ListUsers(r.Context())
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if form == nil {
		form = url.Values{}
	}
	access := map[int64]string{}
	for _, x := range us {
		if x.Role == crm.RoleAdmin {
			continue
		}
		gs, err := u.store.Grants(r.Context(), x.ID)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		access[x.ID] = accessSummary(rq, gs)
	}
	var twoFA map[int64]bool
	if u.totp != nil {
		twoFA = map[int64]bool{}
		for _, x := range us {
			on, err := u.totp.Enabled(r.Context(), x.ID)
			if err != nil {
				u.failErr(w, r, rq, err)
				return
			}
			twoFA[x.ID] = on
		}
	}
	u.render(w, r, rq, status, "users", rq.T("adm.users"), "admin", usersData{Users: us, Access: access, TOTP: twoFA, Error: errMsg, Form: form, Days: weekdayNames(rq)})
}

func (u *UI) createUser(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allowAs(w, r, rq, authz.Users, authz.Write, 0) {
		return
	}
	f := r.PostForm
	nu := crm.User{Login: strings.TrimSpace(f.Get("login")), FirstName: strings.TrimSpace(f.Get("first_name")),
		LastName: strings.TrimSpace(f.Get("last_name")), Email: strings.TrimSpace(f.Get("email")), Role: f.Get("role"), Active: true}
	if _, err := u.store.CreateUser(r.Context(), rq.Actor(), nu, f.Get("password")); err != nil {
		if fe, ok := crm.AsFieldError(err); ok {
			u.showUsers(w, r, rq, http.StatusUnprocessableEntity, rq.T("f."+fe.Field)+": "+fieldMessage(rq, fe), f)
			return
		}
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/admin/users?flash=card.created")
}

// updateUser changes a user's role and active flag, and sets a new
// password when one is given.
func (u *UI) updateUser(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allowAs(w, r, rq, authz.Users, authz.Write, 0) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	cur, err := u.store.GetUser(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	f := r.PostForm
	cur.Role, cur.Active = f.Get("role"), f.Get("active") == "on"
	if id == rq.User.ID && (cur.Role != crm.RoleAdmin || !cur.Active) {
		u.showUsers(w, r, rq, http.StatusUnprocessableEntity, rq.T("adm.not_self"), nil)
		return
	}
	if _, err := u.store.UpdateUser(r.Context(), rq.Actor(), cur); err != nil {
		if fe, ok := crm.AsFieldError(err); ok {
			u.showUsers(w, r, rq, http.StatusUnprocessableEntity, rq.T("f."+fe.Field)+": "+fieldMessage(rq, fe), nil)
			return
		}
		u.failErr(w, r, rq, err)
		return
	}
	if pw := f.Get("password"); pw != "" {
		if err := u.store.SetPassword(r.Context(), rq.Actor(), id, pw); err != nil {
			if fe, ok := crm.AsFieldError(err); ok {
				u.showUsers(w, r, rq, http.StatusUnprocessableEntity, fieldMessage(rq, fe), nil)
				return
			}
			u.failErr(w, r, rq, err)
			return
		}
	}
	back(w, r, "/admin/users?flash=card.saved")
}

// updateUserHours sets a user's working hours (the days ticked, from and
// to in the user's time zone), read by lead distribution rules.
func (u *UI) updateUserHours(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allowAs(w, r, rq, authz.Users, authz.Write, 0) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	cur, err := u.store.GetUser(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	wh, err := workHoursFromForm(r.PostForm)
	if err == nil {
		cur.WorkHours = wh
		_, err = u.store.UpdateUser(r.Context(), rq.Actor(), cur)
	}
	if err != nil {
		if fe, ok := crm.AsFieldError(err); ok {
			u.showUsers(w, r, rq, http.StatusUnprocessableEntity, rq.T("f."+fe.Field)+": "+fieldMessage(rq, fe), nil)
			return
		}
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/admin/users?flash=card.saved")
}

// workHoursFromForm reads the days (0 Monday … 6 Sunday) and the times.
func workHoursFromForm(f url.Values) (crm.WorkHours, error) {
	var wh crm.WorkHours
	var err error
	for _, v := range f["work_days"] {
		d, err := strconv.Atoi(v)
		if err != nil || d < 0 || d > 6 {
			return wh, crm.Invalid("work_days", "must be a set of days of the week")
		}
		wh.Days |= 1 << d
	}
	if wh.From, err = parseHHMM("work_from", f.Get("work_from")); err != nil {
		return wh, err
	}
	if wh.To, err = parseHHMM("work_to", f.Get("work_to")); err != nil {
		return wh, err
	}
	return wh, nil
}

type keysData struct {
	Owner crm.User
	Keys  []crm.APIKey
	New   string // a key just made: shown once
	Error string
}

// keyOwner is the user whose keys a request is about: the user's own, or
// any user's for an admin.
func (u *UI) keyOwner(w http.ResponseWriter, r *http.Request, rq *request) (crm.User, bool) {
	id := rq.User.ID
	if v := r.URL.Query().Get("user"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
			return crm.User{}, false
		}
		id = n
	}
	if !u.allowAs(w, r, rq, authz.APIKeys, authz.ActionOf(r.Method), id) {
		return crm.User{}, false
	}
	owner, err := u.store.GetUser(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return crm.User{}, false
	}
	return owner, true
}

func (u *UI) keys(w http.ResponseWriter, r *http.Request, rq *request) {
	owner, ok := u.keyOwner(w, r, rq)
	if !ok {
		return
	}
	u.showKeys(w, r, rq, http.StatusOK, keysData{Owner: owner})
}

func (u *UI) showKeys(w http.ResponseWriter, r *http.Request, rq *request, status int, d keysData) {
	ks, err := u.store.ListAPIKeys(r.Context(), d.Owner.ID)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d.Keys = ks
	u.render(w, r, rq, status, "keys", rq.T("adm.keys"), "admin", d)
}

// createKey makes an API key and shows it on this answer only; it is
// stored hashed.
func (u *UI) createKey(w http.ResponseWriter, r *http.Request, rq *request) {
	owner, ok := u.keyOwner(w, r, rq)
	if !ok {
		return
	}
	_, full, err := u.store.CreateAPIKey(r.Context(), rq.Actor(), owner.ID, strings.TrimSpace(r.PostFormValue("name")))
	if err != nil {
		if fe, ok := crm.AsFieldError(err); ok {
			u.showKeys(w, r, rq, http.StatusUnprocessableEntity, keysData{Owner: owner, Error: rq.T("f."+fe.Field) + ": " + fieldMessage(rq, fe)})
			return
		}
		u.failErr(w, r, rq, err)
		return
	}
	u.showKeys(w, r, rq, http.StatusCreated, keysData{Owner: owner, New: full})
}

func (u *UI) revokeKey(w http.ResponseWriter, r *http.Request, rq *request) {
	owner, ok := u.keyOwner(w, r, rq)
	if !ok {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	ks, err := u.store.ListAPIKeys(r.Context(), owner.ID)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	mine := false
	for _, k := range ks {
		mine = mine || k.ID == id
	}
	if !mine {
		u.failErr(w, r, rq, store.NotFound("API key", id))
		return
	}
	if err := u.store.RevokeAPIKey(r.Context(), rq.Actor(), id); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/keys?user="+strconv.FormatInt(owner.ID, 10)+"&flash=adm.revoked")
}
