package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/totp"
)

// UserInput is the body that creates or changes a user.
type UserInput struct {
	Login      *string   `json:"login"`
	FirstName  *string   `json:"first_name"`
	MiddleName *string   `json:"middle_name"`
	LastName   *string   `json:"last_name"`
	Email      *string   `json:"email"`
	Phones     *[]string `json:"phones"`
	Position   *string   `json:"position"`
	Department *string   `json:"department"`
	Role       *string   `json:"role"`
	Active     *bool     `json:"active"`
	Password   *string   `json:"password"`
	// WorkHours are the days and hours on duty (lead distribution).
	WorkHours *crm.WorkHours `json:"work_hours"`
}

func (in UserInput) apply(u *crm.User) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&u.Login, in.Login)
	set(&u.FirstName, in.FirstName)
	set(&u.MiddleName, in.MiddleName)
	set(&u.LastName, in.LastName)
	set(&u.Email, in.Email)
	set(&u.Position, in.Position)
	set(&u.Department, in.Department)
	set(&u.Role, in.Role)
	if in.Phones != nil {
		u.Phones = *in.Phones
	}
	if in.Active != nil {
		u.Active = *in.Active
	}
	if in.WorkHours != nil {
		u.WorkHours = *in.WorkHours
	}
}

// KeyInput names a new API key.
type KeyInput struct {
	Name string `json:"name"`
}

// NewKeyResponse carries a new key; Key is shown only here.
type NewKeyResponse struct {
	crm.APIKey
	Key string `json:"key"`
}

// GrantsBody is what an administrator grants a manager beyond their own
// records: the records of other users (owner_id), or of every user
// (owner_id 0), to read, or to change too (edit).
type GrantsBody struct {
	Grants []store.Grant `json:"grants"`
}

// PermissionsBody is what an administrator permits a user on the
// integration surfaces: "1c_exchange" (the 1C exchange of orders, within
// the user's record access) and "1c_catalog" (also the catalog import,
// which needs 1c_exchange). Administrators hold every permission.
type PermissionsBody struct {
	Permissions []string `json:"permissions"`
}

// SessionInput signs in.
type SessionInput struct {
	Login    string `json:"login"`
	Password string `json:"password"`
	// TOTPCode is the user's current authenticator code or one of their
	// recovery codes, required when the user has two-factor sign-in on
	// (without it the answer is 401 with code "totp_required"). API keys
	// do not need it.
	TOTPCode string `json:"totp_code,omitempty"`
}

// SessionResponse is the signed-in user and the CSRF token to send as
// X-CSRF-Token with every state-changing request made with the cookie.
type SessionResponse struct {
	User      crm.User  `json:"user"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// SessionTTL is how long a session lasts.
const SessionTTL = 12 * time.Hour

func (a *API) userRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /api/v1/me", "The authenticated user", nil, crm.User{}, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		httpx.WriteJSON(w, http.StatusOK, p.User)
		return nil
	})
	a.handle(mux, "GET /api/v1/users", "List users", nil, ListResponse[crm.User]{}, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		us, err := a.store.ListUsers(r.Context())
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, ListResponse[crm.User]{Items: us})
		return nil
	})
	a.handle(mux, "GET /api/v1/users/{id}", "Get a user", nil, crm.User{}, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		u, err := a.store.GetUser(r.Context(), id)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, u)
		return nil
	})
	a.handle(mux, "POST /api/v1/users", "Create a user (admin)", UserInput{}, crm.User{}, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		if err := authorize(p, authz.Users, authz.Write, 0); err != nil {
			return err
		}
		var in UserInput
		if err := a.body(r, &in); err != nil {
			return err
		}
		var u crm.User
		in.apply(&u)
		pw := ""
		if in.Password != nil {
			pw = *in.Password
		}
		u, err := a.store.CreateUser(r.Context(), p.Actor, u, pw)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusCreated, u)
		return nil
	})
	a.handle(mux, "PATCH /api/v1/users/{id}", "Change a user (admin; users may change their own name, contacts and password)", UserInput{}, crm.User{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			var in UserInput
			if err := a.body(r, &in); err != nil {
				return err
			}
			if err := authorize(p, authz.Users, authz.Write, id); err != nil {
				return err
			}
			if !p.IsAdmin() {
				if in.Role != nil || in.Active != nil || in.Login != nil {
					return httpx.Errorf(http.StatusForbidden, "forbidden", "role", "only an administrator may change login, role or active")
				}
			}
			u, err := a.store.GetUser(r.Context(), id)
			if err != nil {
				return err
			}
			in.apply(&u)
			if u, err = a.store.UpdateUser(r.Context(), p.Actor, u); err != nil {
				return err
			}
			if in.Password != nil {
				if err := a.store.SetPassword(r.Context(), p.Actor, id, *in.Password); err != nil {
					return err
				}
			}
			httpx.WriteJSON(w, http.StatusOK, u)
			return nil
		})
	handleUserPart(a, mux, "grants", "What a manager may see and change beyond their own records (admin)",
		"Replace what a manager may see and change beyond their own records: other users' records (owner_id) or everyone's (owner_id 0), to read or, with edit, to change (admin)",
		a.store.Grants, a.store.SetGrants, func(gs []store.Grant) GrantsBody { return GrantsBody{Grants: gs} }, func(b GrantsBody) []store.Grant { return b.Grants })
	handleUserPart(a, mux, "permissions", "A user's integration permissions: 1c_exchange, 1c_catalog, actions (admin)",
		"Replace a user's integration permissions, and so their API keys': 1c_exchange (the 1C exchange of orders within the user's record access), 1c_catalog (also the catalog import; needs 1c_exchange), actions (POST /api/v1/actions/{name} as the user); administrators hold them all (admin)",
		a.store.UserPermissions, a.store.SetUserPermissions, func(ps []string) PermissionsBody { return PermissionsBody{Permissions: ps} }, func(b PermissionsBody) []string { return b.Permissions })
	a.handle(mux, "GET /api/v1/users/{id}/keys", "List a user's API keys (admin or self)", nil, ListResponse[crm.APIKey]{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if err := authorize(p, authz.APIKeys, authz.Read, id); err != nil {
				return err
			}
			ks, err := a.store.ListAPIKeys(r.Context(), id)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, ListResponse[crm.APIKey]{Items: ks})
			return nil
		})
	a.handle(mux, "POST /api/v1/users/{id}/keys", "Create an API key; the key is in this answer only (admin or self)", KeyInput{}, NewKeyResponse{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if err := authorize(p, authz.APIKeys, authz.Write, id); err != nil {
				return err
			}
			var in KeyInput
			if err := a.body(r, &in); err != nil {
				return err
			}
			k, full, err := a.store.CreateAPIKey(r.Context(), p.Actor, id, in.Name)
			if err != nil {
				return err
			}
			w.Header().Set("Cache-Control", "no-store")
			httpx.WriteJSON(w, http.StatusCreated, NewKeyResponse{APIKey: k, Key: full})
			return nil
		})
	a.handle(mux, "DELETE /api/v1/keys/{id}", "Revoke an API key (admin or its owner)", nil, nil, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if !p.IsAdmin() {
			ks, err := a.store.ListAPIKeys(r.Context(), p.User.ID)
			if err != nil {
				return err
			}
			mine := false
			for _, k := range ks {
				mine = mine || k.ID == id
			}
			if !mine {
				return store.NotFound("API key", id)
			}
		}
		if err := a.store.RevokeAPIKey(r.Context(), p.Actor, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})

	a.handlePublic(mux, "POST /api/v1/session", "Sign in with login and password; sets the session cookie", SessionInput{}, SessionResponse{},
		func(w http.ResponseWriter, r *http.Request) {
			// Password guessing is limited per client address and per
			// login, so that neither many logins from one address nor one
			// login from many addresses gets more than a few tries.
			if ok, wait := a.loginByIP.Allow(r.Context(), httpx.ClientIP(r)); !ok {
				a.log.Warn("api: sign-in rate limited", "remote", r.RemoteAddr)
				httpx.TooManyRequests(w, wait)
				return
			}
			var in SessionInput
			if err := a.body(r, &in); err != nil {
				a.fail(w, r, toHTTPError(err))
				return
			}
			if ok, wait := a.loginByName.Allow(r.Context(), strings.ToLower(in.Login)); !ok {
				a.log.Warn("api: sign-in rate limited", "login", in.Login, "remote", r.RemoteAddr)
				httpx.TooManyRequests(w, wait)
				return
			}
			u, err := a.store.Authenticate(r.Context(), in.Login, in.Password)
			if errors.Is(err, store.ErrBadCredentials) {
				a.log.Warn("api: failed sign-in", "login", in.Login, "remote", r.RemoteAddr)
				a.fail(w, r, httpx.Errorf(http.StatusUnauthorized, "unauthorized", "", "wrong login or password"))
				return
			}
			if err != nil {
				a.fail(w, r, toHTTPError(err))
				return
			}
			// The second step: a wrong code has already counted against
			// the shared per-login limit above, as a wrong password does.
			if a.totp != nil {
				on, err := a.totp.Enabled(r.Context(), u.ID)
				if err != nil {
					a.fail(w, r, toHTTPError(err))
					return
				}
				if on && in.TOTPCode == "" {
					a.fail(w, r, httpx.Errorf(http.StatusUnauthorized, "totp_required", "totp_code", "two-factor sign-in is on: send totp_code"))
					return
				}
				if on {
					switch err := a.totp.Check(r.Context(), u.ID, in.TOTPCode); {
					case errors.Is(err, totp.ErrWrongCode):
						a.log.Warn("api: wrong TOTP code", "login", in.Login, "remote", r.RemoteAddr)
						a.fail(w, r, httpx.Errorf(http.StatusUnauthorized, "totp_invalid", "totp_code", "wrong code"))
						return
					case errors.Is(err, totp.ErrReplay):
						a.log.Warn("api: TOTP code replayed", "login", in.Login, "remote", r.RemoteAddr)
						a.fail(w, r, httpx.Errorf(http.StatusUnauthorized, "totp_replay", "totp_code", "this code was used already; wait for the next one"))
						return
					case err != nil:
						a.fail(w, r, toHTTPError(err))
						return
					}
				}
			}
			sess, err := a.store.CreateSession(r.Context(), u.ID, SessionTTL)
			if err != nil {
				a.fail(w, r, toHTTPError(err))
				return
			}
			http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sess.ID, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
				Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https", Expires: sess.ExpiresAt})
			httpx.WriteJSON(w, http.StatusOK, SessionResponse{User: u, CSRFToken: sess.CSRF, ExpiresAt: sess.ExpiresAt})
		})
	a.handle(mux, "DELETE /api/v1/session", "Sign out", nil, nil, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		if p.Session != nil {
			if err := a.store.DeleteSession(r.Context(), p.Session.ID); err != nil {
				return err
			}
		}
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// handleUserPart registers GET and PUT /api/v1/users/{id}/{part}: a part
// of a user that administrators set (authz.Grants), read by get and
// replaced by set, carried in a body B (wrap, unwrap); the PUT answers
// what is stored after it.
func handleUserPart[B, T any](a *API, mux *http.ServeMux, part, getSummary, putSummary string,
	get func(ctx context.Context, userID int64) (T, error), set func(ctx context.Context, actor crm.Actor, userID int64, v T) error,
	wrap func(T) B, unwrap func(B) T) {
	// One handler for both: a PUT first replaces, a GET first checks that
	// the user exists; both answer what is stored.
	h := func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		if err := authorize(p, authz.Grants, authz.ActionOf(r.Method), 0); err != nil {
			return err
		}
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if r.Method == http.MethodPut {
			var in B
			if err := a.body(r, &in); err != nil {
				return err
			}
			if err := set(r.Context(), p.Actor, id, unwrap(in)); err != nil {
				return err
			}
		} else if _, err := a.store.GetUser(r.Context(), id); err != nil {
			return err
		}
		v, err := get(r.Context(), id)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, wrap(v))
		return nil
	}
	var doc B
	a.handle(mux, "GET /api/v1/users/{id}/"+part, getSummary, nil, doc, h)
	a.handle(mux, "PUT /api/v1/users/{id}/"+part, putSummary, doc, doc, h)
}
