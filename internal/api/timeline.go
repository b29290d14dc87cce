package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// CommentInput is a new timeline comment.
type CommentInput struct {
	Body string `json:"body"`
}

func commentable(entity string) bool {
	for _, o := range crm.OwnerTypes {
		if o == entity {
			return true
		}
	}
	return false
}

// timelineRoutes adds …/{id}/timeline and, where the entity takes them,
// …/{id}/comments.
func (a *API) timelineRoutes(mux *http.ServeMux, base, entity string) {
	a.handle(mux, "GET "+base+"/{id}/timeline", "Comments, activities and changes of a "+entity+", newest first (limit)", nil, ListResponse[store.TimelineItem]{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			limit := 100
			if v := r.URL.Query().Get("limit"); v != "" {
				if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
					return httpx.Errorf(http.StatusBadRequest, "bad_request", "limit", "must be a number from 1 to 1000")
				}
			}
			items, err := a.store.Timeline(r.Context(), entity, id, limit)
			return writeList(w, items, err)
		})
	if !commentable(entity) {
		return
	}
	a.handle(mux, "GET "+base+"/{id}/comments", "Timeline comments of a "+entity, nil, ListResponse[crm.Comment]{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			cs, err := a.store.ListComments(r.Context(), entity, id)
			return writeList(w, cs, err)
		})
	a.handle(mux, "POST "+base+"/{id}/comments", "Add a timeline comment to a "+entity, CommentInput{}, crm.Comment{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			var in CommentInput
			if err := a.body(r, &in); err != nil {
				return err
			}
			c, err := a.store.AddComment(r.Context(), p.Actor, entity, id, in.Body)
			return writeOne(w, http.StatusCreated, c, err)
		})
}

// CatalogItems lists the members of a catalog.
type CatalogItems struct {
	ProductIDs []int64 `json:"product_ids"`
	ServiceIDs []int64 `json:"service_ids"`
}

func (a *API) catalogRoutes(mux *http.ServeMux) {
	a.imageRoutes(mux)
	a.handle(mux, "GET /api/v1/products/{id}/offers", "A product's variants (1C characteristics), prices per price type and stock per warehouse", nil, crm.ProductOffers{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			out, err := a.store.ProductOffers(r.Context(), id)
			return writeOne(w, http.StatusOK, out, err)
		})
	a.handle(mux, "GET /api/v1/catalogs/{id}/items", "Products and services in a catalog", nil, CatalogItems{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			ps, ss, err := a.store.CatalogItems(r.Context(), id)
			return writeOne(w, http.StatusOK, CatalogItems{ProductIDs: nonNil(ps), ServiceIDs: nonNil(ss)}, err)
		})
	a.handle(mux, "PUT /api/v1/catalogs/{id}/items", "Replace the products and services in a catalog", CatalogItems{}, CatalogItems{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			var in CatalogItems
			if err := a.body(r, &in); err != nil {
				return err
			}
			if err := a.store.SetCatalogItems(r.Context(), p.Actor, id, in.ProductIDs, in.ServiceIDs); err != nil {
				return err
			}
			ps, ss, err := a.store.CatalogItems(r.Context(), id)
			return writeOne(w, http.StatusOK, CatalogItems{ProductIDs: nonNil(ps), ServiceIDs: nonNil(ss)}, err)
		})
}

func nonNil(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

func (a *API) calendarRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /api/v1/calendar", "Activities overlapping [from, to) (RFC 3339 or YYYY-MM-DD) of user_id (default: me; 0: everyone)", nil, ListResponse[crm.Activity]{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			q := r.URL.Query()
			parse := func(name string, def time.Time) (time.Time, error) {
				v := q.Get(name)
				if v == "" {
					return def, nil
				}
				if t, err := time.Parse(time.RFC3339, v); err == nil {
					return t, nil
				}
				if t, err := time.Parse(time.DateOnly, v); err == nil {
					return t, nil
				}
				return time.Time{}, httpx.Errorf(http.StatusBadRequest, "bad_request", name, "%q is not a time (RFC 3339) or a date (YYYY-MM-DD)", v)
			}
			today := time.Now().UTC().Truncate(24 * time.Hour)
			from, err := parse("from", today)
			if err != nil {
				return err
			}
			to, err := parse("to", from.Add(7*24*time.Hour))
			if err != nil {
				return err
			}
			if !to.After(from) {
				return httpx.Errorf(http.StatusBadRequest, "bad_request", "to", "must be after from")
			}
			user := p.User.ID
			if v := q.Get("user_id"); v != "" {
				if user, err = strconv.ParseInt(v, 10, 64); err != nil || user < 0 {
					return httpx.Errorf(http.StatusBadRequest, "bad_request", "user_id", "%q is not a user id", v)
				}
			}
			acts, err := a.store.Calendar(r.Context(), user, from, to)
			return writeList(w, acts, err)
		})
}
