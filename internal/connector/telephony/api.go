package telephony

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// HookInfo is a telephony connection's notifications journal. The address
// to give the provider is the connection's hook URL, shown once when made
// (POST /api/v1/connections/{id}/hook); HookAt is when it was.
type HookInfo struct {
	ConnectionID int64                     `json:"connection_id"`
	Type         string                    `json:"type"`
	HookAt       *time.Time                `json:"hook_at,omitempty"`
	Journal      []connection.JournalEntry `json:"journal"`
}

// RegisterAPI serves GET /api/v1/telephony/connections/{id}: the last
// notifications received and what became of them (administrators).
func (cs *Calls) RegisterAPI(mux *http.ServeMux, handle connection.HandleUser) {
	handle(mux, "GET /api/v1/telephony/connections/{id}", "A telephony connection's notifications journal (admin); the address is the connection's hook URL", nil, HookInfo{},
		func(w http.ResponseWriter, r *http.Request, u crm.User, _ crm.Actor) error {
			if !authz.Can(u, authz.Connections, authz.ActionOf(r.Method)) {
				return httpx.Errorf(http.StatusForbidden, "forbidden", "", "only administrators manage connections")
			}
			id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
			if err != nil || id <= 0 {
				return httpx.Errorf(http.StatusBadRequest, "bad_request", "id", "%q is not a connection id", r.PathValue("id"))
			}
			conn, _, err := cs.d.Conns.Open(r.Context(), id)
			if errors.Is(err, store.ErrNotFound) {
				return httpx.Errorf(http.StatusNotFound, "not_found", "id", "no connection %d", id)
			}
			if err != nil {
				return err
			}
			info := HookInfo{ConnectionID: id, Type: conn.Type, HookAt: conn.HookAt}
			switch conn.Type {
			case TypeZadarma, TypeMango:
			case TypeAsterisk:
				// Asterisk's events come over AMI, not to an address.
			default:
				return httpx.Errorf(http.StatusUnprocessableEntity, "not_telephony", "id", "connection %d is a %s, not a telephony provider", id, conn.Type)
			}
			if info.Journal, err = cs.Journal(r.Context(), id, 100); err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, info)
			return nil
		})
}
