package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// Access levels of the access page's selects.
const (
	accessNone = ""
	accessRead = "read"
	accessEdit = "edit"
)

type accessRow struct {
	OwnerID int64 // 0: every user
	Name    string
	Level   string
}

type accessData struct {
	User  crm.User
	Rows  []accessRow
	Perms []permRow
	Error string
}

// permRow is an integration permission's checkbox (store.Permissions).
type permRow struct {
	Name    string // store.PermExchange1C, …
	Label   string
	Checked bool
}

// accessSummary says in a few words what a manager sees beyond their own.
func accessSummary(rq *request, gs []store.Grant) string {
	team := 0
	for _, g := range gs {
		if g.OwnerID == 0 {
			if g.Edit {
				return rq.T("acc.sum_all")
			}
			return rq.T("acc.sum_all_read")
		}
		team++
	}
	if team == 0 {
		return rq.T("acc.sum_own")
	}
	return rq.T("acc.sum_team") + " " + strconv.Itoa(team)
}

func userName(x crm.User) string {
	if n := strings.TrimSpace(x.FirstName + " " + x.LastName); n != "" {
		return n + " (" + x.Login + ")"
	}
	return x.Login
}

// access shows what a manager may see and change beyond their own
// records: everyone's, or chosen users' (a team), each to read or to
// change (admins only).
func (u *UI) access(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Grants) {
		return
	}
	u.showAccess(w, r, rq, http.StatusOK, "")
}

func (u *UI) showAccess(w http.ResponseWriter, r *http.Request, rq *request, status int, errMsg string) {
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	who, err := u.store.GetUser(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	gs, err := u.store.Grants(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	level := map[int64]string{}
	for _, g := range gs {
		level[g.OwnerID] = accessRead
		if g.Edit {
			level[g.OwnerID] = accessEdit
		}
	}
	us, err := u.store.ListUsers(r.Context())
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	rows := []accessRow{{OwnerID: 0, Name: rq.T("acc.everyone"), Level: level[0]}}
	for _, x := range us {
		if x.ID != id {
			rows = append(rows, accessRow{OwnerID: x.ID, Name: userName(x), Level: level[x.ID]})
		}
	}
	ps, err := u.store.UserPermissions(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	var perms []permRow
	for _, p := range store.Permissions {
		perms = append(perms, permRow{Name: p, Label: rq.T("acc.perm." + p), Checked: slices.Contains(ps, p)})
	}
	u.render(w, r, rq, status, "access", rq.T("acc.title")+": "+userName(who), "admin", accessData{User: who, Rows: rows, Perms: perms, Error: errMsg})
}

// saveAccess replaces a manager's grants with the page's choices.
func (u *UI) saveAccess(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Grants) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	var gs []store.Grant
	for _, owner := range r.PostForm["owner"] {
		oid, err := strconv.ParseInt(owner, 10, 64)
		if err != nil {
			u.showAccess(w, r, rq, http.StatusUnprocessableEntity, rq.T("acc.bad"))
			return
		}
		switch r.PostForm.Get("level-" + owner) {
		case accessRead:
			gs = append(gs, store.Grant{OwnerID: oid})
		case accessEdit:
			gs = append(gs, store.Grant{OwnerID: oid, Edit: true})
		}
	}
	// The integration permissions (issue 25); the catalog goes through
	// the exchange, so ticking it ticks the exchange too.
	var perms []string
	for _, p := range store.Permissions {
		if r.PostForm.Get("perm-"+p) == "on" || (p == store.PermExchange1C && r.PostForm.Get("perm-"+store.PermCatalog1C) == "on") {
			perms = append(perms, p)
		}
	}
	for _, save := range []func() error{
		func() error { return u.store.SetGrants(r.Context(), rq.Actor(), id, gs) },
		func() error { return u.store.SetUserPermissions(r.Context(), rq.Actor(), id, perms) },
	} {
		if err := save(); err != nil {
			if fe, ok := crm.AsFieldError(err); ok {
				u.showAccess(w, r, rq, http.StatusUnprocessableEntity, fieldMessage(rq, fe))
				return
			}
			u.failErr(w, r, rq, err)
			return
		}
	}
	back(w, r, "/admin/users?flash=card.saved")
}
