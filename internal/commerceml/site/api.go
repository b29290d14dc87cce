package site

import (
	"errors"
	"net/http"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
)

// HandleFunc is internal/api's registration for administrators' routes
// (authentication, the role check, OpenAPI, error mapping).
type HandleFunc func(mux *http.ServeMux, pattern, summary string, req, resp any, h func(w http.ResponseWriter, r *http.Request) error)

// List is the list envelope.
type List struct {
	Items []Settings `json:"items"`
}

func decode(r *http.Request, maxBody int64) (Settings, error) {
	var in Settings
	b, e := httpx.ReadBody(r, maxBody)
	if e != nil {
		return in, e
	}
	if e := httpx.DecodeJSON(b, &in); e != nil {
		return in, e
	}
	return in, nil
}

// RegisterAPI adds /api/v1/site-exchanges.
func RegisterAPI(mux *http.ServeMux, handle HandleFunc, s *Service, maxBody int64) {
	handle(mux, "GET /api/v1/site-exchanges", "Exchanges with web shops over CommerceML (Obmen plays 1C)", nil, List{},
		func(w http.ResponseWriter, r *http.Request) error {
			items, err := s.Store.List(r.Context())
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, List{Items: items})
			return nil
		})
	handle(mux, "POST /api/v1/site-exchanges", "Add the exchange with a web shop; the password is write-only", Settings{}, Settings{},
		func(w http.ResponseWriter, r *http.Request) error {
			in, err := decode(r, maxBody)
			if err != nil {
				return err
			}
			out, err := s.Store.Create(r.Context(), crm.Actor{}, in)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusCreated, out)
			return nil
		})
	handle(mux, "GET /api/v1/site-exchanges/{id}", "One exchange with a web shop (its password is never shown)", nil, Settings{},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := httpx.PathID(r, "id", "web shop")
			if err != nil {
				return err
			}
			out, err := s.Store.Get(r.Context(), id)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, out)
			return nil
		})
	handle(mux, "PUT /api/v1/site-exchanges/{id}", "Replace the settings of an exchange with a web shop; an empty password keeps the stored one", Settings{}, Settings{},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := httpx.PathID(r, "id", "web shop")
			if err != nil {
				return err
			}
			in, err := decode(r, maxBody)
			if err != nil {
				return err
			}
			out, err := s.Store.Update(r.Context(), crm.Actor{}, id, in)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, out)
			return nil
		})
	handle(mux, "DELETE /api/v1/site-exchanges/{id}", "Remove an exchange with a web shop (its journal stays)", nil, nil,
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := httpx.PathID(r, "id", "web shop")
			if err != nil {
				return err
			}
			if err := s.Store.Delete(r.Context(), id); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		})
	handle(mux, "POST /api/v1/site-exchanges/{id}/check", "Check the connection: checkauth and init; answers the site's zip and file_limit", nil, CheckResult{},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := httpx.PathID(r, "id", "web shop")
			if err != nil {
				return err
			}
			set, err := s.Store.Open(r.Context(), id)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, s.Check(r.Context(), set))
			return nil
		})
	handle(mux, "POST /api/v1/site-exchanges/{id}/run", "Run now (?kind=catalog|orders); answers when the run has finished, with its journal entry, or after 90 s with 202 and the entry of the run still going (GET /api/v1/exchanges/{entry_id} follows it)", nil, RunResult{},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := httpx.PathID(r, "id", "web shop")
			if err != nil {
				return err
			}
			kind := r.URL.Query().Get("kind")
			if kind != KindCatalog && kind != KindOrders {
				return httpx.Errorf(http.StatusBadRequest, "bad_request", "kind", "must be %q or %q, got %q", KindCatalog, KindOrders, kind)
			}
			res, err := s.RunNow(r.Context(), id, kind)
			if err == nil && res.Status == StatusRunning {
				httpx.WriteJSON(w, http.StatusAccepted, res)
				return nil
			}
			if errors.Is(err, errBusy) {
				// A run of another instance, or one killed whose lease
				// has not run out yet.
				return httpx.Errorf(http.StatusConflict, "conflict", "kind", "%s: another run of this kind is under way for this site; try again later", kind)
			}
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, res)
			return nil
		})
}
