package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// The resources page keeps what bookings take (rooms, equipment,
// specialists): administrators add, rename, switch off and delete them
// (authz.Bookable); the REST API is /api/v1/resources. A resource that
// has bookings is not deleted (the store refuses, naming the count): it is
// switched off, so that its bookings keep its name.

type resourcesData struct {
	Resources []crm.Resource
	Kinds     []string
	// Form is the add form as sent; ErrID is the resource whose row the
	// error is about (0: the add form), ErrField its field.
	Form     crm.Resource
	ErrID    int64
	ErrField string
	Error    string
}

func (u *UI) resourcesPage(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allowAs(w, r, rq, authz.Bookable, authz.Write, 0) {
		return
	}
	u.showResources(w, r, rq, http.StatusOK, resourcesData{Form: crm.Resource{Kind: crm.ResourceRoom}})
}

func (u *UI) showResources(w http.ResponseWriter, r *http.Request, rq *request, status int, d resourcesData) {
	var err error
	if d.Resources, err = u.store.Resources(r.Context(), true); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d.Kinds = crm.ResourceKinds
	u.render(w, r, rq, status, "resources", rq.T("res.title"), "admin", d)
}

// resourceForm reads a resource's fields from the posted form; a
// capacity that is not a whole number is refused naming it.
func resourceForm(r *http.Request) (crm.Resource, error) {
	f := r.PostForm
	res := crm.Resource{Kind: f.Get("kind"), Name: strings.TrimSpace(f.Get("name")), Active: f.Get("active") == "on"}
	if c := strings.TrimSpace(f.Get("capacity")); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil {
			return res, crm.Invalid("capacity", "%q is not an integer", c)
		}
		res.Capacity = n
	}
	return res, nil
}

func (u *UI) createResource(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allowAs(w, r, rq, authz.Bookable, authz.Write, 0) {
		return
	}
	res, err := resourceForm(r)
	if err == nil {
		_, err = u.store.CreateResource(r.Context(), rq.Actor(), res)
	}
	if err != nil {
		u.resourceRefused(w, r, rq, 0, res, err)
		return
	}
	back(w, r, "/admin/resources?flash=res.added")
}

// resourceAction saves (kind, name, capacity, active) or deletes one
// resource: the action is the last path segment.
func (u *UI) resourceAction(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allowAs(w, r, rq, authz.Bookable, authz.Write, 0) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	var flash string
	switch r.PathValue("action") {
	case "save":
		var res crm.Resource
		if res, err = resourceForm(r); err == nil {
			_, err = u.store.UpdateResource(r.Context(), rq.Actor(), id, func(cur *crm.Resource) error {
				cur.Kind, cur.Name, cur.Capacity, cur.Active = res.Kind, res.Name, res.Capacity, res.Active
				return nil
			})
		}
		flash = "card.saved"
	case "delete":
		err = u.store.DeleteResource(r.Context(), rq.Actor(), id)
		flash = "res.deleted"
	default:
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	if err != nil {
		u.resourceRefused(w, r, rq, id, crm.Resource{Kind: crm.ResourceRoom}, err)
		return
	}
	back(w, r, "/admin/resources?flash="+flash)
}

// resourceRefused shows the page again with what was wrong: a field
// error in the user's language (a resource with bookings says how many
// and to switch it off instead), a missing resource as not found.
func (u *UI) resourceRefused(w http.ResponseWriter, r *http.Request, rq *request, id int64, form crm.Resource, err error) {
	d := resourcesData{Form: form, ErrID: id}
	if fe, ok := crm.AsFieldError(err); ok {
		d.ErrField = fe.Field
		d.Error = fieldMessage(rq, fe)
		if fe.Field != "id" {
			d.Error = rq.T("res."+fe.Field) + ": " + d.Error
		}
		u.showResources(w, r, rq, http.StatusUnprocessableEntity, d)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	u.failErr(w, r, rq, err)
}
