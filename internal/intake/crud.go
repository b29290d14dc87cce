package intake

import (
	"context"
	"net/http"
	"strconv"

	"github.com/obmen/obmen/internal/httpx"
)

// Records is what an admin resource of intake keeps (mail collectors, web
// forms): list, create, read, replace and delete by id.
type Records[T any] interface {
	List(ctx context.Context) ([]T, error)
	Create(ctx context.Context, v T) (T, error)
	Get(ctx context.Context, id int64) (T, error)
	Update(ctx context.Context, id int64, v T) (T, error)
	Delete(ctx context.Context, id int64) error
}

// Resource describes one such resource to RegisterCRUD.
type Resource[T any] struct {
	Path string // "/api/v1/webforms"
	What string // "form": names the id in errors
	// Summaries of the list, create, get, replace and delete routes.
	Summaries [5]string
	// New is a record with the defaults a create starts from.
	New func() T
	// ID is a record's id, for the Location of a create.
	ID func(T) int64
	// List wraps a page in its envelope; Envelope is one, for the docs.
	List     func([]T) any
	Envelope any
}

// RegisterCRUD adds the admin routes of a resource: GET and POST on its
// path, GET, PUT and DELETE on path/{id}.
func RegisterCRUD[T any](mux *http.ServeMux, admin AdminHandler, maxBody int64, s Records[T], res Resource[T]) {
	var doc T
	read := func(r *http.Request, dst *T) error { return httpx.ReadJSON(r, maxBody, dst) }
	id := func(r *http.Request) (int64, error) { return httpx.PathID(r, "id", res.What) }
	admin(mux, "GET "+res.Path, res.Summaries[0], nil, res.Envelope, func(w http.ResponseWriter, r *http.Request) error {
		vs, err := s.List(r.Context())
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, res.List(vs))
		return nil
	})
	admin(mux, "POST "+res.Path, res.Summaries[1], doc, doc, func(w http.ResponseWriter, r *http.Request) error {
		v := res.New()
		if err := read(r, &v); err != nil {
			return err
		}
		out, err := s.Create(r.Context(), v)
		if err != nil {
			return err
		}
		w.Header().Set("Location", res.Path+"/"+strconv.FormatInt(res.ID(out), 10))
		httpx.WriteJSON(w, http.StatusCreated, out)
		return nil
	})
	admin(mux, "GET "+res.Path+"/{id}", res.Summaries[2], nil, doc, func(w http.ResponseWriter, r *http.Request) error {
		n, err := id(r)
		if err != nil {
			return err
		}
		v, err := s.Get(r.Context(), n)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, v)
		return nil
	})
	admin(mux, "PUT "+res.Path+"/{id}", res.Summaries[3], doc, doc, func(w http.ResponseWriter, r *http.Request) error {
		n, err := id(r)
		if err != nil {
			return err
		}
		var v T
		if err := read(r, &v); err != nil {
			return err
		}
		out, err := s.Update(r.Context(), n, v)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, out)
		return nil
	})
	admin(mux, "DELETE "+res.Path+"/{id}", res.Summaries[4], nil, nil, func(w http.ResponseWriter, r *http.Request) error {
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
