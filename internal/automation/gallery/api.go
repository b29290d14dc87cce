package gallery

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
)

// Creator saves a bundle (automation.Service.Create), which compiles it
// against the registered actions and triggers and checks its connections.
type Creator interface {
	Create(ctx context.Context, actor crm.Actor, d automation.Definition) (automation.Bundle, error)
}

// RegisterAPI adds GET /api/v1/templates and
// POST /api/v1/templates/{name}/install, for administrators.
func RegisterAPI(mux *http.ServeMux, handle automation.HandleUser, bundles Creator, types Types, maxBody int64) {
	admin := func(pattern, summary string, req, resp any, h func(w http.ResponseWriter, r *http.Request, actor crm.Actor) error) {
		method, _, _ := strings.Cut(pattern, " ")
		handle(mux, pattern, summary+" (admin)", req, resp, func(w http.ResponseWriter, r *http.Request, u crm.User, a crm.Actor) error {
			if !authz.Can(u, authz.Automation, authz.ActionOf(method)) {
				return httpx.Errorf(http.StatusForbidden, "forbidden", "", "only administrators manage automation")
			}
			return apiError(h(w, r, a))
		})
	}
	admin("GET /api/v1/templates", "Ready bundles across connectors: the connections and values each needs", nil, List{},
		func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
			ts, err := Templates()
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, List{Items: ts})
			return nil
		})
	admin("POST /api/v1/templates/{name}/install", "Install a template as a bundle, switched off: its connections by role and its values", Install{}, automation.Bundle{},
		func(w http.ResponseWriter, r *http.Request, a crm.Actor) error {
			t, err := Find(r.PathValue("name"))
			if err != nil {
				return err
			}
			var in Install
			if err := httpx.ReadJSON(r, maxBody, &in); err != nil {
				return err
			}
			d, err := t.Fill(r.Context(), types, in)
			if err != nil {
				return err
			}
			b, err := bundles.Create(r.Context(), a, d)
			if err != nil {
				return err
			}
			w.Header().Set("Location", "/api/v1/bundles/"+strconv.FormatInt(b.ID, 10))
			httpx.WriteJSON(w, http.StatusCreated, b)
			return nil
		})
}

// apiError answers a definition's problems with 422 naming the first
// field at fault and listing them all, as the bundles' API does.
func apiError(err error) error {
	var inv *automation.InvalidError
	if errors.As(err, &inv) && len(inv.Problems) > 0 {
		p := inv.Problems[0]
		field := p.Field
		if p.Step != "" {
			field = "steps[" + p.Step + "]." + p.Field
		}
		e := httpx.Errorf(http.StatusUnprocessableEntity, "invalid_template", field, "%s", p.Message)
		e.Details = inv.Problems
		return e
	}
	return err
}
