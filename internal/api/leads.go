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
	a.handle(mux, "GET /api/v1/accounts/{id}/requisites", "Requisites of an account; the first is the default", nil, RequisiteList{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			rs, err := a.store.ListRequisites(r.Context(), id)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, RequisiteList{Items: rs})
			return nil
		})
	a.handle(mux, "POST /api/v1/accounts/{id}/requisites", "Add requisites (with bank details) to an account", crm.Requisite{}, crm.Requisite{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			var in crm.Requisite
			if err := a.body(r, &in); err != nil {
				return err
			}
			out, err := a.store.CreateRequisite(r.Context(), p.Actor, id, in)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusCreated, out)
			return nil
		})
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
