package delivery

import (
	"net/http"
	"strconv"

	"github.com/obmen/obmen/internal/httpx"
)

// HandleFunc registers one endpoint: internal/api passes its own
// registration, which authenticates, records the route for OpenAPI and
// maps returned errors (crm.FieldError → 422, store.ErrNotFound → 404,
// store.ErrConflict → 409, *httpx.Error as it is). Every route here is
// for administrators: the adapter must check the role.
type HandleFunc func(mux *http.ServeMux, pattern, summary string, req, resp any, h func(w http.ResponseWriter, r *http.Request) error)

// WebhookRequest is the body of create (all of kind, url, events; token
// for bitrix) and of PATCH (only the fields present change). The token is
// write-only.
type WebhookRequest struct {
	Kind        *string  `json:"kind"`
	Name        *string  `json:"name"`
	URL         *string  `json:"url"`
	Events      []string `json:"events"`
	Token       *string  `json:"token"`
	Integration *string  `json:"integration"`
	IncludeEcho *bool    `json:"include_echo"`
	Active      *bool    `json:"active"`
}

func (q *WebhookRequest) apply(w *Webhook) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&w.Kind, q.Kind)
	set(&w.Name, q.Name)
	set(&w.URL, q.URL)
	set(&w.Token, q.Token)
	set(&w.Integration, q.Integration)
	if q.Events != nil {
		w.Events = q.Events
	}
	if q.IncludeEcho != nil {
		w.IncludeEcho = *q.IncludeEcho
	}
	if q.Active != nil {
		w.Active = *q.Active
	}
}

// WebhookList and DeliveryList are the list envelopes.
type (
	WebhookList struct {
		Items []Webhook `json:"items"`
	}
	DeliveryList struct {
		Items []Delivery `json:"items"`
		// NextBefore, when not 0, is the before= of the next page.
		NextBefore int64 `json:"next_before"`
	}
)

// RegisterAPI adds the outbound-webhook routes under /api/v1.
func RegisterAPI(mux *http.ServeMux, handle HandleFunc, svc *Service) {
	handle(mux, "GET /api/v1/outbound-webhooks", "Outbound webhooks (admin)", nil, WebhookList{},
		func(w http.ResponseWriter, r *http.Request) error {
			hooks, err := svc.List(r.Context())
			if err != nil {
				return err
			}
			if hooks == nil {
				hooks = []Webhook{}
			}
			httpx.WriteJSON(w, http.StatusOK, WebhookList{Items: hooks})
			return nil
		})
	handle(mux, "POST /api/v1/outbound-webhooks", "Add an outbound webhook (admin)", WebhookRequest{}, Webhook{},
		func(w http.ResponseWriter, r *http.Request) error {
			var q WebhookRequest
			if err := decodeBody(r, &q); err != nil {
				return err
			}
			var h Webhook
			q.apply(&h)
			out, err := svc.Create(r.Context(), h)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusCreated, out)
			return nil
		})
	handle(mux, "GET /api/v1/outbound-webhooks/{id}", "An outbound webhook (admin)", nil, Webhook{},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			out, err := svc.Get(r.Context(), id)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, out)
			return nil
		})
	handle(mux, "PATCH /api/v1/outbound-webhooks/{id}", "Change an outbound webhook (admin)", WebhookRequest{}, Webhook{},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			var q WebhookRequest
			if err := decodeBody(r, &q); err != nil {
				return err
			}
			out, err := svc.Update(r.Context(), id, func(h *Webhook) error {
				q.apply(h)
				return nil
			})
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, out)
			return nil
		})
	handle(mux, "DELETE /api/v1/outbound-webhooks/{id}", "Remove an outbound webhook and its journal (admin)", nil, nil,
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if err := svc.Delete(r.Context(), id); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		})
	handle(mux, "GET /api/v1/outbound-webhooks/{id}/deliveries", "Delivery journal of a webhook, newest first (admin; ?status=, before=, limit=)",
		nil, DeliveryList{}, func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if _, err := svc.Get(r.Context(), id); err != nil {
				return err
			}
			q := DeliveryQuery{Status: r.URL.Query().Get("status")}
			switch q.Status {
			case "", StatusPending, StatusDelivered, StatusFailed:
			default:
				return httpx.Errorf(http.StatusBadRequest, "bad_request", "status", "must be pending, delivered or failed")
			}
			if v := r.URL.Query().Get("before"); v != "" {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 0 {
					return httpx.Errorf(http.StatusBadRequest, "bad_request", "before", "%q is not an id", v)
				}
				q.Before = n
			}
			if v := r.URL.Query().Get("limit"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 500 {
					return httpx.Errorf(http.StatusBadRequest, "bad_request", "limit", "must be 1..500")
				}
				q.Limit = n
			}
			ds, err := svc.Deliveries(r.Context(), id, q)
			if err != nil {
				return err
			}
			out := DeliveryList{Items: ds}
			if out.Items == nil {
				out.Items = []Delivery{}
			}
			if len(ds) > 0 && (q.Limit == 0 && len(ds) == 50 || len(ds) == q.Limit) {
				out.NextBefore = ds[len(ds)-1].ID
			}
			httpx.WriteJSON(w, http.StatusOK, out)
			return nil
		})
	handle(mux, "POST /api/v1/deliveries/{id}/retry", "Send a failed delivery again (admin)", nil, Delivery{},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if err := svc.Retry(r.Context(), id); err != nil {
				return err
			}
			d, err := svc.Delivery(r.Context(), id)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusAccepted, d)
			return nil
		})
}

// maxRequestBody bounds a webhook's JSON.
const maxRequestBody = 64 << 10

func decodeBody(r *http.Request, dst any) error { return httpx.ReadJSON(r, maxRequestBody, dst) }

func pathID(r *http.Request, name string) (int64, error) {
	return httpx.PathID(r, name, "webhook or delivery")
}
