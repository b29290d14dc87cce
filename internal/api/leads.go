package api

import (
	"net/http"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

func (a *API) leadRoutes(mux *http.ServeMux) {
	a.handle(mux, "POST /api/v1/leads/{id}/convert", "Convert a lead into any of a deal, a contact and an account, in one transaction",
		store.ConvertOptions{}, store.ConvertResult{}, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			var o store.ConvertOptions
			if err := a.body(r, &o); err != nil {
				return err
			}
			res, err := a.store.ConvertLead(r.Context(), p.Actor, id, o)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, res)
			return nil
		})
}

// RequisiteList is the body of a requisites list.
type RequisiteList = ListResponse[crm.Requisite]

func (a *API) requisiteRoutes(mux *http.ServeMux) {
	// Accounts and contacts have requisites (Bitrix24's companies and
	// contacts); the first by sort and id is the default.
	for _, o := range []struct{ path, entity, what string }{
		{"accounts", store.EntityAccount, "an account"},
		{"contacts", store.EntityContact, "a contact"},
	} {
		a.handle(mux, "GET /api/v1/"+o.path+"/{id}/requisites", "Requisites of "+o.what+"; the first is the default", nil, RequisiteList{},
			func(w http.ResponseWriter, r *http.Request, p *Principal) error {
				id, err := pathID(r, "id")
				if err != nil {
					return err
				}
				rs, err := a.store.RequisitesOf(r.Context(), o.entity, id)
				if err != nil {
					return err
				}
				httpx.WriteJSON(w, http.StatusOK, RequisiteList{Items: rs})
				return nil
			})
		a.handle(mux, "POST /api/v1/"+o.path+"/{id}/requisites", "Add requisites (with bank details) to "+o.what, crm.Requisite{}, crm.Requisite{},
			func(w http.ResponseWriter, r *http.Request, p *Principal) error {
				id, err := pathID(r, "id")
				if err != nil {
					return err
				}
				var in crm.Requisite
				if err := a.body(r, &in); err != nil {
					return err
				}
				in.AccountID, in.ContactID = 0, 0
				if o.entity == store.EntityContact {
					in.ContactID = id
				} else {
					in.AccountID = id
				}
				out, err := a.store.AddRequisite(r.Context(), p.Actor, in)
				if err != nil {
					return err
				}
				httpx.WriteJSON(w, http.StatusCreated, out)
				return nil
			})
	}
	a.handle(mux, "PUT /api/v1/requisites/{id}", "Replace requisites and their bank details", crm.Requisite{}, crm.Requisite{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			var in crm.Requisite
			if err := a.body(r, &in); err != nil {
				return err
			}
			out, err := a.store.UpdateRequisite(r.Context(), p.Actor, id, in)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, out)
			return nil
		})
	a.handle(mux, "DELETE /api/v1/requisites/{id}", "Delete requisites", nil, nil,
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if err := a.store.DeleteRequisite(r.Context(), p.Actor, id); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		})
}
