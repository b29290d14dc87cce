package api

import (
	"net/http"
	"strconv"

	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// searchRoutes: the global search across the CRM's main entities.
func (a *API) searchRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /api/v1/search", "Search leads, contacts, accounts, deals, orders, invoices and products at once (q: a name, the last 7 digits of a phone, an e-mail or its domain, an INN, a number; limit per entity, 1..50, default 5)",
		nil, store.SearchResult{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			q := r.URL.Query().Get("q")
			if q == "" {
				return httpx.Errorf(http.StatusBadRequest, "bad_request", "q", "required")
			}
			limit := 5
			if v := r.URL.Query().Get("limit"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 50 {
					return httpx.Errorf(http.StatusBadRequest, "bad_request", "limit", "must be a number from 1 to 50")
				}
				limit = n
			}
			res, err := a.store.Search(r.Context(), q, limit)
			return writeOne(w, http.StatusOK, res, err)
		})
}
