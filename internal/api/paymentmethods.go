package api

import (
	"net/http"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
)

// paymentMethodRoutes serve the payment methods dictionary: everyone
// reads it, administrators change it.
func (a *API) paymentMethodRoutes(mux *http.ServeMux) {
	s := a.store
	a.handle(mux, "GET /api/v1/payment-methods", "Payment methods (for invoices: client type company or contact, print form, payment URL template)",
		nil, ListResponse[crm.PaymentMethod]{}, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			v, err := s.ListPaymentMethods(r.Context())
			return writeList(w, v, err)
		})
	a.handle(mux, "GET /api/v1/payment-methods/{id}", "A payment method", nil, crm.PaymentMethod{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			v, err := s.GetPaymentMethod(r.Context(), id)
			return writeOne(w, http.StatusOK, v, err)
		})
	a.handle(mux, "POST /api/v1/payment-methods", "Add a payment method (admin); url_template may name {id}, {number}, {amount}, {amount_kopecks}, {currency}, {date}, {public_url}",
		crm.PaymentMethod{}, crm.PaymentMethod{}, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Dictionaries, authz.Write, 0); err != nil {
				return err
			}
			var in crm.PaymentMethod
			if err := a.body(r, &in); err != nil {
				return err
			}
			out, err := s.CreatePaymentMethod(r.Context(), p.Actor, in)
			return writeOne(w, http.StatusCreated, out, err)
		})
	a.handle(mux, "PUT /api/v1/payment-methods/{id}", "Replace a payment method (admin)", crm.PaymentMethod{}, crm.PaymentMethod{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Dictionaries, authz.Write, 0); err != nil {
				return err
			}
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			var in crm.PaymentMethod
			if err := a.body(r, &in); err != nil {
				return err
			}
			in.ID = id
			out, err := s.UpdatePaymentMethod(r.Context(), p.Actor, in)
			return writeOne(w, http.StatusOK, out, err)
		})
	a.handle(mux, "DELETE /api/v1/payment-methods/{id}", "Remove a payment method no invoice uses (admin)", nil, nil,
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Dictionaries, authz.Write, 0); err != nil {
				return err
			}
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			return writeNone(w, s.DeletePaymentMethod(r.Context(), p.Actor, id))
		})
}
