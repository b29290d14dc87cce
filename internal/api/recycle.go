package api

import (
	"net/http"
	"strconv"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

func (a *API) recycleRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /api/v1/recyclebin", "Deleted records, newest first (entity, limit)", nil, ListResponse[store.BinItem]{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			limit := 100
			if v := r.URL.Query().Get("limit"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 500 {
					return httpx.Errorf(http.StatusBadRequest, "bad_request", "limit", "must be a number from 1 to 500")
				}
				limit = n
			}
			items, err := a.store.RecycleBin(r.Context(), r.URL.Query().Get("entity"), limit)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, ListResponse[store.BinItem]{Items: items})
			return nil
		})
	a.handle(mux, "DELETE /api/v1/recyclebin/{entity}/{id}", "Purge a deleted record for good (admin)", nil, nil,
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Recycle, authz.Write, 0); err != nil {
				return err
			}
			entity := r.PathValue("entity")
			if !store.IsEntity(entity) {
				return crm.Invalid("entity", "%q is not a CRM entity", entity)
			}
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if err := a.store.Purge(r.Context(), p.Actor, entity, id); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		})
}

func (a *API) customFieldRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /api/v1/custom-fields", "Declared custom fields (entity)", nil, ListResponse[crm.CustomField]{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			fs, err := a.store.CustomFields(r.Context(), r.URL.Query().Get("entity"))
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, ListResponse[crm.CustomField]{Items: fs})
			return nil
		})
	a.handle(mux, "POST /api/v1/custom-fields", "Declare a custom field (admin)", crm.CustomField{}, crm.CustomField{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Dictionaries, authz.Write, 0); err != nil {
				return err
			}
			var f crm.CustomField
			if err := a.body(r, &f); err != nil {
				return err
			}
			f, err := a.store.CreateCustomField(r.Context(), p.Actor, f)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusCreated, f)
			return nil
		})
	a.handle(mux, "DELETE /api/v1/custom-fields/{id}", "Remove a custom field and its values (admin)", nil, nil,
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Dictionaries, authz.Write, 0); err != nil {
				return err
			}
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if err := a.store.DeleteCustomField(r.Context(), p.Actor, id); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		})
}

func notFoundRoute(r *http.Request) error {
	return httpx.Errorf(http.StatusNotFound, "not_found", "", "no such endpoint: %s %s", r.Method, r.URL.Path)
}
