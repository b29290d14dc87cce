package connection

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/i18n"
)

// HandleUser registers one endpoint for a signed-in user or API key:
// internal/api's, which authenticates, records the route for OpenAPI and
// maps returned errors (store.ErrNotFound → 404, *httpx.Error as it is).
type HandleUser func(mux *http.ServeMux, pattern, summary string, req, resp any,
	h func(w http.ResponseWriter, r *http.Request, user crm.User, actor crm.Actor) error)

// Users names what uses a connection (the bundles whose steps name it),
// so that deleting it can be refused; nil: nothing does.
type Users func(ctx context.Context, id int64) ([]string, error)

// API envelopes.
type (
	List struct {
		Items []Connection `json:"items"`
	}
	TypeList struct {
		Items []TypeInfo `json:"items"`
	}
	// InUse is the answer to deleting a connection that bundles use.
	InUse struct {
		Bundles []string `json:"bundles"`
	}
	// RefreshResult is a refresh's answer: the connection with its new
	// dictionaries, or why they could not be loaded.
	RefreshResult struct {
		Connection Connection   `json:"connection"`
		Failed     *CheckResult `json:"failed,omitempty"`
	}
)

// Lang is the language of a request's messages: ?lang=, else the
// Accept-Language's first, else Russian.
func Lang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == i18n.En || l == i18n.Ru {
		return l
	}
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Accept-Language")), "en") {
		return i18n.En
	}
	return i18n.Ru
}

// RegisterAPI adds the connection routes under /api/v1, for
// administrators only.
func RegisterAPI(mux *http.ServeMux, handle HandleUser, s *Store, users Users, maxBody int64) {
	admin := func(pattern, summary string, req, resp any, h func(w http.ResponseWriter, r *http.Request, actor crm.Actor) error) {
		method, _, _ := strings.Cut(pattern, " ")
		handle(mux, pattern, summary+" (admin)", req, resp, func(w http.ResponseWriter, r *http.Request, u crm.User, a crm.Actor) error {
			if !authz.Can(u, authz.Connections, authz.ActionOf(method)) {
				return httpx.Errorf(http.StatusForbidden, "forbidden", "", "only administrators manage connections")
			}
			return apiError(h(w, r, a))
		})
	}
	read := func(r *http.Request) (Input, error) {
		var in Input
		err := httpx.ReadJSON(r, maxBody, &in)
		return in, err
	}
	admin("GET /api/v1/connections", "Saved connections (secrets masked); ?type= filters", nil, List{}, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		list, err := s.List(r.Context(), r.URL.Query().Get("type"))
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, List{Items: list})
		return nil
	})
	admin("GET /api/v1/connections/types", "Connection types and their settings", nil, TypeList{}, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		httpx.WriteJSON(w, http.StatusOK, TypeList{Items: s.reg.Types()})
		return nil
	})
	admin("POST /api/v1/connections", "Save a connection", Input{}, Connection{}, func(w http.ResponseWriter, r *http.Request, a crm.Actor) error {
		in, err := read(r)
		if err != nil {
			return err
		}
		c, err := s.Create(r.Context(), a.UserID, in)
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/api/v1/connections/"+strconv.FormatInt(c.ID, 10))
		httpx.WriteJSON(w, http.StatusCreated, c)
		return nil
	})
	admin("POST /api/v1/connections/check", "Check settings not saved yet", Input{}, CheckResult{}, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		in, err := read(r)
		if err != nil {
			return err
		}
		res, err := s.CheckInput(r.Context(), 0, in, Lang(r))
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, res)
		return nil
	})
	admin("GET /api/v1/connections/{id}", "A connection (secrets masked)", nil, Connection{}, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		id, err := httpx.PathID(r, "id", "connection")
		if err != nil {
			return err
		}
		c, err := s.Get(r.Context(), id)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, c)
		return nil
	})
	admin("PUT /api/v1/connections/{id}", "Change a connection; secrets left out or masked are kept", Input{}, Connection{}, func(w http.ResponseWriter, r *http.Request, a crm.Actor) error {
		id, err := httpx.PathID(r, "id", "connection")
		if err != nil {
			return err
		}
		in, err := read(r)
		if err != nil {
			return err
		}
		c, err := s.Update(r.Context(), a.UserID, id, in)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, c)
		return nil
	})
	admin("DELETE /api/v1/connections/{id}", "Delete a connection; refused while bundles use it unless ?force=true", nil, nil, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		id, err := httpx.PathID(r, "id", "connection")
		if err != nil {
			return err
		}
		if _, err := s.Get(r.Context(), id); err != nil {
			return err
		}
		if users != nil && r.URL.Query().Get("force") != "true" {
			names, err := users(r.Context(), id)
			if err != nil {
				return err
			}
			if len(names) > 0 {
				e := httpx.Errorf(http.StatusConflict, "in_use", "", "bundles use this connection: %s", strings.Join(names, ", "))
				e.Details = InUse{Bundles: names}
				return e
			}
		}
		if err := s.Delete(r.Context(), id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	admin("POST /api/v1/connections/{id}/check", "Check a saved connection (a cheap authenticated call)", nil, CheckResult{}, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		id, err := httpx.PathID(r, "id", "connection")
		if err != nil {
			return err
		}
		res, err := s.Check(r.Context(), id, Lang(r))
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, res)
		return nil
	})
	admin("POST /api/v1/connections/{id}/hook", "Make the connection's hook URL anew (the remote system pushes there); the URL is shown only in this answer, the old one stops working", nil, Hook{}, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		id, err := httpx.PathID(r, "id", "connection")
		if err != nil {
			return err
		}
		h, err := s.NewHook(r.Context(), id)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, h)
		return nil
	})
	admin("POST /api/v1/connections/{id}/refresh", "Load the remote dictionaries of a connection", nil, RefreshResult{}, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		id, err := httpx.PathID(r, "id", "connection")
		if err != nil {
			return err
		}
		c, failed, err := s.Refresh(r.Context(), id, Lang(r))
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, RefreshResult{Connection: c, Failed: failed})
		return nil
	})
}

// apiError turns a refused connection into a 422 naming the field.
func apiError(err error) error {
	var inv *InvalidError
	if errors.As(err, &inv) && len(inv.Problems) > 0 {
		p := inv.Problems[0]
		e := httpx.Errorf(http.StatusUnprocessableEntity, "invalid_connection", p.Field, "%s", p.Message)
		e.Details = inv.Problems
		return e
	}
	return err
}
