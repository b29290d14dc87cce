package webform

import (
	"net/http"
	"strconv"

	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/intake"
)

// FormList is the list envelope.
type FormList struct {
	Items []Form `json:"items"`
}

// RegisterAPI adds the forms' CRUD under /api/v1/webforms (admin); every
// record carries its public id, submit URL and generated HTML.
func RegisterAPI(mux *http.ServeMux, admin intake.AdminHandler, s *Service, maxBody int64) {
	read := func(r *http.Request, dst *Form) error { return httpx.ReadJSON(r, maxBody, dst) }
	id := func(r *http.Request) (int64, error) { return httpx.PathID(r, "id", "form") }
	admin(mux, "GET /api/v1/webforms", "Web forms", nil, FormList{}, func(w http.ResponseWriter, r *http.Request) error {
		fs, err := s.List(r.Context())
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, FormList{Items: fs})
		return nil
	})
	admin(mux, "POST /api/v1/webforms", "Add a web form; the answer carries its public id and the HTML to paste into a site", Form{}, Form{},
		func(w http.ResponseWriter, r *http.Request) error {
			f := Form{Enabled: true}
			if err := read(r, &f); err != nil {
				return err
			}
			out, err := s.Create(r.Context(), f)
			if err != nil {
				return err
			}
			w.Header().Set("Location", "/api/v1/webforms/"+strconv.FormatInt(out.ID, 10))
			httpx.WriteJSON(w, http.StatusCreated, out)
			return nil
		})
	admin(mux, "GET /api/v1/webforms/{id}", "A web form with its HTML", nil, Form{}, func(w http.ResponseWriter, r *http.Request) error {
		n, err := id(r)
		if err != nil {
			return err
		}
		f, err := s.Get(r.Context(), n)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, f)
		return nil
	})
	admin(mux, "PUT /api/v1/webforms/{id}", "Replace a web form's settings (its public id stays)", Form{}, Form{}, func(w http.ResponseWriter, r *http.Request) error {
		n, err := id(r)
		if err != nil {
			return err
		}
		var f Form
		if err := read(r, &f); err != nil {
			return err
		}
		out, err := s.Update(r.Context(), n, f)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, out)
		return nil
	})
	admin(mux, "DELETE /api/v1/webforms/{id}", "Delete a web form", nil, nil, func(w http.ResponseWriter, r *http.Request) error {
		n, err := id(r)
		if err != nil {
			return err
		}
		if err := s.Delete(r.Context(), n); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
