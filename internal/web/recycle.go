package web

import (
	"net/http"
	"strconv"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/store"
)

type binRow struct {
	Entity, EntityLabel, Title, At, By, Base string
	ID                                       int64
}

func (u *UI) recycle(w http.ResponseWriter, r *http.Request, rq *request) {
	entity := r.URL.Query().Get("entity")
	if !store.IsEntity(entity) {
		entity = ""
	}
	items, err := u.store.RecycleBin(r.Context(), entity, 200)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	lk := u.lookupsFor(r.Context(), rq)
	var rows []binRow
	for _, it := range items {
		if it.Entity == store.EntityContact {
			// The bin's title of a contact is its lower-cased search
			// text; show the name as typed.
			if rec, err := u.byPath[it.Entity].get(r.Context(), it.ID); err == nil {
				it.Title = titleOf(it.Entity, rec)
			}
		}
		rows = append(rows, binRow{Entity: it.Entity, EntityLabel: rq.T("e1." + it.Entity), Title: it.Title, ID: it.ID,
			At: it.DeletedAt.In(rq.Loc).Format("02.01.2006 15:04"), By: lk.userName(it.DeletedByID),
			Base: "/recycle/" + it.Entity + "/" + strconv.FormatInt(it.ID, 10)})
	}
	u.render(w, r, rq, http.StatusOK, "recycle", rq.T("bin.title"), "recycle", rows)
}

func (u *UI) binAction(w http.ResponseWriter, r *http.Request, rq *request, purge bool) {
	entity := r.PathValue("entity")
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	if !store.IsEntity(entity) {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	var err error
	msg := "bin.restored"
	if purge {
		err, msg = u.store.Purge(r.Context(), rq.Actor(), entity, id), "bin.purged"
	} else {
		err = u.store.Restore(r.Context(), rq.Actor(), entity, id)
	}
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/recycle?flash="+msg)
}

func (u *UI) restore(w http.ResponseWriter, r *http.Request, rq *request) {
	u.binAction(w, r, rq, false)
}

func (u *UI) purge(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Recycle) {
		return
	}
	u.binAction(w, r, rq, true)
}
