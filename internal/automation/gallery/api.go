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

// RegisterAPI adds GET /api/v1/templates, GET /api/v1/bundles/templates
// (the ones to copy),
// POST /api/v1/templates/{name}/install and a connection's built-in sync
// (GET, POST and DELETE /api/v1/connections/{id}/sync), for
// administrators. bundles.Create compiles a bundle against the
// registered actions and triggers and checks its connections.
func RegisterAPI(mux *http.ServeMux, handle automation.HandleUser, bundles Bundles, types Conns, maxBody int64) {
	sync := NewSync(bundles, types)
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
	admin("GET /api/v1/bundles/templates", "Ready bundles that need no connection, to copy and adjust", nil, automation.TemplateList{},
		func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
			ts, err := Copyable()
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, automation.TemplateList{Items: ts})
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
	syncRoute := func(pattern, summary string, do func(ctx context.Context, a crm.Actor, id int64) (SyncState, error)) {
		admin(pattern, summary, nil, SyncState{}, func(w http.ResponseWriter, r *http.Request, a crm.Actor) error {
			id, err := httpx.PathID(r, "id", "connection")
			if err != nil {
				return err
			}
			st, err := do(r.Context(), a, id)
			if errors.Is(err, ErrNoSync) {
				return httpx.Errorf(http.StatusUnprocessableEntity, "no_sync", "id", "%v", err)
			}
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, st)
			return nil
		})
	}
	syncRoute("GET /api/v1/connections/{id}/sync", "A connection's built-in sync: its bundles made from the shipped templates",
		func(ctx context.Context, _ crm.Actor, id int64) (SyncState, error) { return sync.State(ctx, id) })
	syncRoute("POST /api/v1/connections/{id}/sync", "Switch a connection's built-in sync on: the missing bundles installed from the templates, bound to it and on; pressing again adds none; the hook URL, when made, is in this answer only",
		sync.On)
	syncRoute("DELETE /api/v1/connections/{id}/sync", "Switch a connection's built-in sync off: its bundles switched off, kept",
		sync.Off)
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
