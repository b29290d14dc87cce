package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// A record card's links to external systems: for each saved connection
// whose type links records (connection.Type.System, e.g. a Bitrix24
// portal), the record's id there, or — while it has none — a button that
// sends it with the action that exports the entity to that type
// (automation.Description.Exports: "Отправить в Битрикс24" on an
// account).

// linkView is one connection on a card.
type linkView struct {
	Name   string // the connection's name
	ID     string // the record's id in its system ("" none yet)
	Export string // the form's action that sends the record ("" none)
}

// exportAction is the action exporting entity to connections of typ.
func (u *UI) exportAction(entity, typ string) (automation.Description, bool) {
	if u.auto == nil {
		return automation.Description{}, false
	}
	for _, d := range u.auto.Registry().Actions() {
		if d.Exports == entity && slices.Contains(strings.Split(d.Connection, "|"), typ) {
			return d, true
		}
	}
	return automation.Description{}, false
}

// cardLinks fills a card's links; canSend says the user may send the
// record (it is theirs to change, not in the bin).
func (u *UI) cardLinks(r *http.Request, rq *request, entity string, id int64, rec map[string]any, canSend bool) ([]linkView, error) {
	if u.conns == nil {
		return nil, nil
	}
	ctx := r.Context()
	links, err := u.conns.Links(ctx)
	if err != nil || len(links) == 0 {
		return nil, err
	}
	ids := externalIDs(rec["external_ids"])
	if canSend {
		canSend, err = u.store.HasPermission(ctx, rq.User, store.PermActions)
		if err != nil {
			return nil, err
		}
	}
	var out []linkView
	for _, l := range links {
		_, exports := u.exportAction(entity, l.Connection.Type)
		v := linkView{Name: l.Connection.Name, ID: ids[l.System]}
		if v.ID == "" && !exports {
			continue // nothing to show or do for this entity
		}
		if v.ID == "" && canSend {
			v.Export = fmt.Sprintf("/e/%s/%d/export/%d", entity, id, l.Connection.ID)
		}
		out = append(out, v)
	}
	return out, nil
}

// externalIDs reads a record's external ids as the store gives them.
func externalIDs(v any) map[string]string {
	out := map[string]string{}
	switch m := v.(type) {
	case map[string]string:
		return m
	case map[string]any:
		for k, x := range m {
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}

// exportRecord sends the card's record to a connection with the action
// that exports its entity there, as the user (who needs the "actions"
// permission, as for POST /api/v1/actions/{name}); the action's journal
// keeps the call.
func (u *UI) exportRecord(w http.ResponseWriter, r *http.Request, rq *request) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	connID, err := strconv.ParseInt(r.PathValue("conn"), 10, 64)
	if err != nil || connID <= 0 || u.conns == nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	ctx := r.Context()
	rec, err := e.get(ctx, id) // in the user's scope
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if rec["deleted_at"] != nil || !store.CanChange(ctx, e.Name, intOf(rec["assigned_by_id"])) {
		u.fail(w, r, rq, http.StatusForbidden, rq.T("acc.read_only"))
		return
	}
	c, err := u.conns.Get(ctx, connID)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d, ok := u.exportAction(e.Name, c.Type)
	if !ok {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	body, _ := json.Marshal(map[string]any{"connection": connID, e.Name + "_id": id})
	ans, err := u.auto.CallAction(ctx, automation.CallRequest{User: rq.User, Actor: rq.Actor(), Action: d.Name, Body: body})
	var he *httpx.Error
	if errors.As(err, &he) {
		// Refused before it ran: no "actions" permission.
		u.fail(w, r, rq, he.Status, he.Message)
		return
	}
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if ans.Response.Result != automation.ResultOK {
		u.fail(w, r, rq, http.StatusBadGateway, fmt.Sprintf(rq.T("conn.export_failed"), ans.Response.Error))
		return
	}
	back(w, r, fmt.Sprintf("/e/%s/%d?flash=conn.exported", e.Name, id))
}
