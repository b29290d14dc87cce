package mail

import (
	"context"
	"net/http"
	"strconv"

	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/intake"
)

// CollectorList is the list envelope.
type CollectorList struct {
	Items []Collector `json:"items"`
}

// RegisterAPI adds the collectors' routes (admin): CRUD under
// /api/v1/intake/collectors and POST …/{id}/run to run one now.
func RegisterAPI(mux *http.ServeMux, admin intake.AdminHandler, s *Service, maxBody int64) {
	read := func(r *http.Request, dst *Collector) error { return httpx.ReadJSON(r, maxBody, dst) }
	id := func(r *http.Request) (int64, error) { return httpx.PathID(r, "id", "collector") }
	admin(mux, "GET /api/v1/intake/collectors", "Mail collectors", nil, CollectorList{}, func(w http.ResponseWriter, r *http.Request) error {
		cs, err := s.List(r.Context())
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, CollectorList{Items: cs})
		return nil
	})
	admin(mux, "POST /api/v1/intake/collectors", "Add a mail collector (the password is write-only, stored encrypted)", Collector{}, Collector{},
		func(w http.ResponseWriter, r *http.Request) error {
			c := Collector{Enabled: true}
			if err := read(r, &c); err != nil {
				return err
			}
			out, err := s.Create(r.Context(), c)
			if err != nil {
				return err
			}
			w.Header().Set("Location", "/api/v1/intake/collectors/"+strconv.FormatInt(out.ID, 10))
			httpx.WriteJSON(w, http.StatusCreated, out)
			return nil
		})
	admin(mux, "GET /api/v1/intake/collectors/{id}", "A mail collector", nil, Collector{}, func(w http.ResponseWriter, r *http.Request) error {
		n, err := id(r)
		if err != nil {
			return err
		}
		c, err := s.Get(r.Context(), n)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, c)
		return nil
	})
	admin(mux, "PUT /api/v1/intake/collectors/{id}", "Replace a mail collector's settings (an empty password keeps the stored one)", Collector{}, Collector{},
		func(w http.ResponseWriter, r *http.Request) error {
			n, err := id(r)
			if err != nil {
				return err
			}
			var c Collector
			if err := read(r, &c); err != nil {
				return err
			}
			out, err := s.Update(r.Context(), n, c)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, out)
			return nil
		})
	admin(mux, "DELETE /api/v1/intake/collectors/{id}", "Delete a mail collector", nil, nil, func(w http.ResponseWriter, r *http.Request) error {
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
	admin(mux, "POST /api/v1/intake/collectors/{id}/run", "Run a mail collector now; answers what it did", nil, Stats{},
		func(w http.ResponseWriter, r *http.Request) error {
			n, err := id(r)
			if err != nil {
				return err
			}
			if _, err := s.Get(r.Context(), n); err != nil {
				return err
			}
			// A run that has started finishes even if the caller goes.
			st, err := s.Run(context.WithoutCancel(r.Context()), n)
			if err != nil && st.Error == "" {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, st)
			return nil
		})
}
