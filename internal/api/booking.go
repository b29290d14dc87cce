package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// bookingRoutes serve resource booking (seed 003): the resources
// (everyone reads, administrators change — authz.Bookable) and the
// bookings (record access, as activities: store/booking.go).
func (a *API) bookingRoutes(mux *http.ServeMux) {
	s := a.store
	a.handle(mux, "GET /api/v1/resources", "Bookable resources (rooms, equipment, people); all=1 with inactive ones", nil, ListResponse[crm.Resource]{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Bookable, authz.Read, 0); err != nil {
				return err
			}
			v, err := s.Resources(r.Context(), r.URL.Query().Get("all") == "1")
			return writeList(w, v, err)
		})
	a.handle(mux, "GET /api/v1/resources/{id}", "A bookable resource", nil, crm.Resource{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Bookable, authz.Read, 0); err != nil {
				return err
			}
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			v, err := s.GetResource(r.Context(), id)
			return writeOne(w, http.StatusOK, v, err)
		})
	a.handle(mux, "POST /api/v1/resources", "Add a bookable resource (admin)", crm.Resource{}, crm.Resource{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Bookable, authz.Write, 0); err != nil {
				return err
			}
			in := crm.Resource{Active: true}
			if err := a.body(r, &in); err != nil {
				return err
			}
			v, err := s.CreateResource(r.Context(), p.Actor, in)
			return writeOne(w, http.StatusCreated, v, err)
		})
	a.handle(mux, "PATCH /api/v1/resources/{id}", "Change a bookable resource (admin)", crm.Resource{}, crm.Resource{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Bookable, authz.Write, 0); err != nil {
				return err
			}
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			patch, err := readPatch(r, a.maxBody)
			if err != nil {
				return err
			}
			v, err := s.UpdateResource(r.Context(), p.Actor, id, func(cur *crm.Resource) error { return mergeJSON(patch, cur) })
			return writeOne(w, http.StatusOK, v, err)
		})
	a.handle(mux, "DELETE /api/v1/resources/{id}", "Remove a bookable resource without bookings (admin)", nil, nil,
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Bookable, authz.Write, 0); err != nil {
				return err
			}
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			return writeNone(w, s.DeleteResource(r.Context(), p.Actor, id))
		})

	a.handle(mux, "GET /api/v1/bookings", "Bookings overlapping [from, to) (RFC 3339), of resource_id, of user_id, made for entity+record_id", nil, ListResponse[crm.Booking]{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			q := r.URL.Query()
			var f store.BookingFilter
			for _, t := range []struct {
				name string
				dst  *time.Time
			}{{"from", &f.From}, {"to", &f.To}} {
				if v := q.Get(t.name); v != "" {
					tm, err := time.Parse(time.RFC3339, v)
					if err != nil {
						return httpx.Errorf(http.StatusBadRequest, "bad_request", t.name, "%q is not a time (RFC 3339)", v)
					}
					*t.dst = tm
				}
			}
			for _, n := range []struct {
				name string
				dst  *int64
			}{{"resource_id", &f.ResourceID}, {"user_id", &f.UserID}, {"record_id", &f.RecordID}} {
				if v := q.Get(n.name); v != "" {
					id, err := strconv.ParseInt(v, 10, 64)
					if err != nil || id <= 0 {
						return httpx.Errorf(http.StatusBadRequest, "bad_request", n.name, "%q is not an id", v)
					}
					*n.dst = id
				}
			}
			f.Entity = q.Get("entity")
			if (f.Entity == "") != (f.RecordID == 0) {
				return httpx.Errorf(http.StatusBadRequest, "bad_request", "record_id", "entity and record_id go together")
			}
			v, err := s.Bookings(r.Context(), f)
			return writeList(w, v, err)
		})
	a.handle(mux, "GET /api/v1/bookings/{id}", "A booking with its resources and users", nil, crm.Booking{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			v, err := s.GetBooking(r.Context(), id)
			return writeOne(w, http.StatusOK, v, err)
		})
	a.handle(mux, "POST /api/v1/bookings", "Book resources (refused when one is booked for part of the time)", crm.Booking{}, crm.Booking{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			var in crm.Booking
			if err := a.body(r, &in); err != nil {
				return err
			}
			v, err := s.CreateBooking(r.Context(), p.Actor, in)
			return writeOne(w, http.StatusCreated, v, err)
		})
	a.handle(mux, "PATCH /api/v1/bookings/{id}", "Change a booking (fields given replace theirs)", crm.Booking{}, crm.Booking{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			patch, err := readPatch(r, a.maxBody)
			if err != nil {
				return err
			}
			v, err := s.UpdateBooking(r.Context(), p.Actor, id, func(cur *crm.Booking) error { return mergeJSON(patch, cur) })
			return writeOne(w, http.StatusOK, v, err)
		})
	a.handle(mux, "DELETE /api/v1/bookings/{id}", "Cancel a booking", nil, nil,
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			return writeNone(w, s.DeleteBooking(r.Context(), p.Actor, id))
		})
}

// readPatch reads a JSON body to merge onto a record.
func readPatch(r *http.Request, max int64) ([]byte, error) {
	if e := httpx.CheckJSONContentType(r); e != nil {
		return nil, e
	}
	b, e := httpx.ReadBody(r, max)
	if e != nil {
		return nil, e
	}
	return b, nil
}

// mergeJSON applies a JSON object onto dst: the fields it names replace
// dst's, an unknown field is an error naming it.
func mergeJSON(patch []byte, dst any) error {
	if e := httpx.DecodeJSON(patch, dst); e != nil {
		return e
	}
	return nil
}
