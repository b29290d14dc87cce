package api

import (
	"context"
	"net/http"
	"reflect"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dedup"
	"github.com/obmen/obmen/internal/store"
)

// Route is one endpoint, as registered and as documented in OpenAPI.
type Route struct {
	Method   string
	Path     string
	Summary  string
	Request  reflect.Type // nil: no body
	Response reflect.Type // nil: no body (204)
	Public   bool         // no authentication
}

// handle registers an authenticated endpoint and records it for the
// OpenAPI document.
func (a *API) handle(mux *http.ServeMux, pattern, summary string, req, resp any, h handler) {
	method, path, _ := strings.Cut(pattern, " ")
	a.routes = append(a.routes, Route{Method: method, Path: path, Summary: summary, Request: typeOf(req), Response: typeOf(resp)})
	mux.Handle(pattern, a.wrap(h))
}

// handlePublic registers an endpoint that needs no authentication.
func (a *API) handlePublic(mux *http.ServeMux, pattern, summary string, req, resp any, h http.HandlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	a.routes = append(a.routes, Route{Method: method, Path: path, Summary: summary, Request: typeOf(req), Response: typeOf(resp), Public: true})
	mux.Handle(pattern, h)
}

func typeOf(v any) reflect.Type {
	if v == nil {
		return nil
	}
	return reflect.TypeOf(v)
}

// HandleFor gives packages that bring their own REST handlers (delivery,
// intake, 1C exchange) a registrar for one authz resource: each endpoint
// it registers answers 403 unless authz lets the caller read (GET) or
// change (any other method) res; h returns an error to be written as the
// envelope.
func (a *API) HandleFor(res authz.Resource) func(mux *http.ServeMux, pattern, summary string, req, resp any, h func(w http.ResponseWriter, r *http.Request) error) {
	return func(mux *http.ServeMux, pattern, summary string, req, resp any, h func(w http.ResponseWriter, r *http.Request) error) {
		method, _, _ := strings.Cut(pattern, " ")
		act := authz.ActionOf(method)
		if rule := authz.RuleOf(res); (act == authz.Read && rule.Read == authz.Admins) || (act == authz.Write && rule.Write == authz.Admins) {
			summary += " (admin)"
		}
		a.handle(mux, pattern, summary, req, resp, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, res, act, 0); err != nil {
				return err
			}
			return h(w, r)
		})
	}
}

// HandleUser registers an endpoint for any signed-in user or API key, for
// packages that bring their own REST handlers (intake): h gets the actor
// and returns an error to be written as the envelope.
func (a *API) HandleUser(mux *http.ServeMux, pattern, summary string, req, resp any, h func(w http.ResponseWriter, r *http.Request, user crm.User, actor crm.Actor) error) {
	a.handle(mux, pattern, summary, req, resp, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		return h(w, r, p.User, p.Actor)
	})
}

// Extra registers more routes when Register runs (after the CRM's).
func (a *API) Extra(f func(mux *http.ServeMux)) { a.extra = append(a.extra, f) }

// Routes lists the registered endpoints.
func (a *API) Routes() []Route { return a.routes }

// Register adds every /api/v1 route to mux.
func (a *API) Register(mux *http.ServeMux) {
	s := a.store
	register(a, mux, resource[crm.Lead]{
		path: "leads", entity: store.EntityLead,
		readOnly: []string{"contact_id", "account_id", "deal_id", "converted_at"},
		get:      s.GetLead, list: s.ListLeads, update: s.UpdateLead,
		// A lead sent without assigned_by_id goes by the distribution
		// rules (channel "api"); without a matching rule, to the key's
		// user as before.
		create: func(ctx context.Context, actor crm.Actor, l crm.Lead) (crm.Lead, error) {
			if l.AssignedByID == 0 {
				ctx = store.WithIntake(ctx, store.Intake{Channel: crm.ChannelAPI})
			}
			return s.CreateLead(ctx, actor, l)
		},
		probe: dedup.LeadProbe,
	})
	a.leadRoutes(mux)
	register(a, mux, resource[crm.Contact]{
		path: "contacts", entity: store.EntityContact, readOnly: []string{"lead_id"},
		get: s.GetContact, list: s.ListContacts, create: s.CreateContact, update: s.UpdateContact,
		probe: dedup.ContactProbe,
	})
	register(a, mux, resource[crm.Account]{
		path: "accounts", entity: store.EntityAccount, readOnly: []string{"requisites"},
		get: s.GetAccount, list: s.ListAccounts, create: s.CreateAccount, update: s.UpdateAccount,
		probe: dedup.AccountProbe,
	})
	a.requisiteRoutes(mux)
	register(a, mux, resource[crm.Deal]{
		path: "deals", entity: store.EntityDeal, readOnly: []string{"closed", "won"},
		get: s.GetDeal, list: s.ListDeals, create: s.CreateDeal, update: s.UpdateDeal,
	})
	register(a, mux, resource[crm.SalesOrder]{
		path: "sales-orders", entity: store.EntitySalesOrder, readOnly: []string{"number", "subtotal", "discount", "tax", "total"},
		get: s.GetSalesOrder, list: s.ListSalesOrders, create: s.CreateSalesOrder, update: s.UpdateSalesOrder,
	})
	register(a, mux, resource[crm.Invoice]{
		path: "invoices", entity: store.EntityInvoice, readOnly: []string{"number", "subtotal", "discount", "tax", "total"},
		get: s.GetInvoice, list: s.ListInvoices, create: s.CreateInvoice, update: s.UpdateInvoice,
	})
	a.handle(mux, "POST /api/v1/deals/{id}/invoice", "Make an invoice from a deal (account, main contact, currency, product rows)", nil, crm.Invoice{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			inv, err := s.CreateInvoiceFromDeal(r.Context(), p.Actor, id)
			return writeOne(w, http.StatusCreated, inv, err)
		})
	register(a, mux, resource[crm.Product]{
		path: "products", entity: store.EntityProduct,
		get: s.GetProduct, list: s.ListProducts, create: s.CreateProduct, update: s.UpdateProduct,
		defaults: func() crm.Product { return crm.Product{Active: true} },
	})
	register(a, mux, resource[crm.Service]{
		path: "services", entity: store.EntityService,
		get: s.GetService, list: s.ListServices, create: s.CreateService, update: s.UpdateService,
		defaults: func() crm.Service { return crm.Service{Active: true} },
	})
	register(a, mux, resource[crm.Catalog]{
		path: "catalogs", entity: store.EntityCatalog,
		get: s.GetCatalog, list: s.ListCatalogs, create: s.CreateCatalog, update: s.UpdateCatalog,
	})
	a.catalogRoutes(mux)
	register(a, mux, resource[crm.Ticket]{
		path: "tickets", entity: store.EntityTicket,
		get: s.GetTicket, list: s.ListTickets, create: s.CreateTicket, update: s.UpdateTicket,
	})
	register(a, mux, resource[crm.Activity]{
		path: "activities", entity: store.EntityActivity, readOnly: []string{"completed_at"},
		get: s.GetActivity, list: s.ListActivities, create: s.CreateActivity, update: s.UpdateActivity,
	})
	register(a, mux, resource[crm.Message]{
		path: "messages", entity: store.EntityMessage, readOnly: []string{"retry_at"},
		get: s.GetMessage, list: s.ListMessages, create: s.CreateMessage, update: s.UpdateMessage,
	})
	a.calendarRoutes(mux)
	a.bookingRoutes(mux)
	a.dictionaryRoutes(mux)
	a.paymentMethodRoutes(mux)
	a.eventRoutes(mux)
	a.bitrixRoutes(mux)
	for _, f := range a.extra {
		f(mux)
	}
	a.userRoutes(mux)
	a.profileRoutes(mux)
	a.recycleRoutes(mux)
	a.searchRoutes(mux)
	a.addressRoutes(mux)
	a.customFieldRoutes(mux)
	a.handlePublic(mux, "GET /api/v1/openapi.json", "This document", nil, map[string]any{}, a.serveOpenAPI)
	mux.Handle("/api/v1/", a.wrap(func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		return notFoundRoute(r)
	}))
}
