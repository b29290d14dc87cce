package api

import (
	"net/http"
	"strconv"

	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// EventsResponse is a page of the change-event log. LastID is the cursor
// for the next call (after=LastID); it equals after when the page is empty.
type EventsResponse struct {
	Events []events.Event `json:"events"`
	LastID int64          `json:"last_id"`
}

func (a *API) eventRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /api/v1/events", "Page through the change-event log in id order (after, limit, entity, record_id, exclude_integration)", nil, EventsResponse{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if store.IsScoped(r.Context()) {
				// The log holds every record's changes; a manager limited
				// to their own records may not read it.
				return httpx.Errorf(http.StatusForbidden, "forbidden", "", "the change log covers every record: only administrators and users granted all records may read it")
			}
			q := r.URL.Query()
			var eq events.Query
			for _, f := range []struct {
				name string
				dst  *int64
			}{{"after", &eq.After}, {"record_id", &eq.RecordID}} {
				if v := q.Get(f.name); v != "" {
					n, err := strconv.ParseInt(v, 10, 64)
					if err != nil || n < 0 {
						return httpx.Errorf(http.StatusBadRequest, "bad_request", f.name, "%q is not a non-negative integer", v)
					}
					*f.dst = n
				}
			}
			if v := q.Get("limit"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 10000 {
					return httpx.Errorf(http.StatusBadRequest, "bad_request", "limit", "must be a number from 1 to 10000")
				}
				eq.Limit = n
			}
			eq.Entity = q.Get("entity")
			eq.ExcludeIntegration = q.Get("exclude_integration")
			eq.Raw = true
			evs, err := a.store.Events(r.Context(), eq)
			if err != nil {
				return err
			}
			last := eq.After
			if len(evs) > 0 {
				last = evs[len(evs)-1].ID
			}
			// Written by hand: the log is read in bulk and this is the
			// hot path of every sync (see events.AppendJSON).
			// Sized up front: growing a page of several megabytes by
			// doubling copied it twice over.
			size := 64
			for i := range evs {
				size += 192 + len(evs[i].Encoded) + len(evs[i].Entity) + len(evs[i].Actor) + len(evs[i].Integration)
			}
			b := make([]byte, 0, size)
			b = append(b, `{"events":[`...)
			for i := range evs {
				if i > 0 {
					b = append(b, ',')
				}
				b = evs[i].AppendJSON(b)
			}
			b = append(b, `],"last_id":`...)
			b = strconv.AppendInt(b, last, 10)
			b = append(b, "}\n"...)
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write(b)
			return nil
		})
}
