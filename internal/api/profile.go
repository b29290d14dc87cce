package api

import (
	"net/http"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
)

// profileRoutes serve a user's profile (seed 003's "user info" fields):
// anyone signed in reads it, as the user list; an administrator changes
// it, and the user his own contact details.
func (a *API) profileRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /api/v1/users/{id}/profile", "A user's profile: gender, birthday, phones, address, messengers, company, user type", nil, crm.UserProfile{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			prof, err := a.store.GetUserProfile(r.Context(), id)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, prof)
			return nil
		})
	a.handle(mux, "PUT /api/v1/users/{id}/profile", "Replace a user's profile (admin; a user his own, less company, profession and user type)", crm.UserProfile{}, crm.UserProfile{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if err := authorize(p, authz.Users, authz.Write, id); err != nil {
				return err
			}
			var in crm.UserProfile
			if err := a.body(r, &in); err != nil {
				return err
			}
			if !p.IsAdmin() {
				prev, err := a.store.GetUserProfile(r.Context(), id)
				if err != nil {
					return err
				}
				in.KeepAdminFields(prev)
			}
			out, err := a.store.SetUserProfile(r.Context(), p.Actor, id, in)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, out)
			return nil
		})
}
