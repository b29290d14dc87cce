package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/store"
)

// A list remembers, per user, its sort, filters, columns and page size
// (the preference "list:<entity>", the list's query string): a list
// opened without a query comes back as it was left; "reset" forgets it.
// Saved filters ("filter:<entity>:<name>") are named queries the user
// picks again.

// listState is the part of a list's query worth remembering: not the
// page (cursor, prev) nor one-off parameters.
func listState(q url.Values) url.Values {
	out := url.Values{}
	for k, vs := range q {
		switch k {
		case "cursor", "prev", "flash", "reset":
			continue
		}
		for _, v := range vs {
			if v != "" {
				out.Add(k, v)
			}
		}
	}
	return out
}

// rememberList stores the list's state, or, when the list is opened bare,
// redirects to the state remembered; it reports whether it answered.
func (u *UI) rememberList(w http.ResponseWriter, r *http.Request, rq *request, e *entity, q url.Values) bool {
	ctx, key := r.Context(), "list:"+e.Name
	if q.Has("reset") {
		if err := u.store.DeletePref(ctx, rq.User.ID, key); err != nil {
			u.failErr(w, r, rq, err)
			return true
		}
		return false
	}
	state := listState(q)
	if len(state) == 0 {
		saved, err := u.store.GetPref(ctx, rq.User.ID, key)
		if err == nil && saved != "" {
			http.Redirect(w, r, "/e/"+e.Name+"?"+saved, http.StatusSeeOther)
			return true
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			u.failErr(w, r, rq, err)
			return true
		}
		return false
	}
	if enc := state.Encode(); len(enc) <= 2000 {
		if old, _ := u.store.GetPref(ctx, rq.User.ID, key); old != enc {
			if err := u.store.SetPref(ctx, rq.User.ID, key, enc); err != nil {
				u.log.Warn("web: remember list", "entity", e.Name, "err", err)
			}
		}
	}
	return false
}

// presetFilters are offered to everyone until they save their own of the
// same name: a manager's new leads.
func presetFilters(rq *request, entity string) []option {
	me := strconv.FormatInt(rq.User.ID, 10)
	switch entity {
	case store.EntityLead:
		return []option{{url.Values{"f.status_id": {"NEW"}, "f.assigned_by_id": {me}}.Encode(), rq.T("list.preset_my_new_leads")}}
	case store.EntityDeal:
		return []option{{url.Values{"f.closed": {"false"}, "f.assigned_by_id": {me}}.Encode(), rq.T("list.preset_my_open_deals")}}
	case store.EntityActivity:
		return []option{{url.Values{"f.done": {"false"}, "f.assigned_by_id": {me}}.Encode(), rq.T("list.preset_my_open_activities")}}
	}
	return nil
}

// savedFilters lists the presets and the user's saved filters as
// (URL, name).
func (u *UI) savedFilters(r *http.Request, rq *request, e *entity) ([]option, error) {
	prefix := "filter:" + e.Name + ":"
	ps, err := u.store.Prefs(r.Context(), rq.User.ID, prefix)
	if err != nil {
		return nil, err
	}
	var out []option
	own := map[string]bool{}
	for _, p := range ps {
		own[strings.TrimPrefix(p.Key, prefix)] = true
	}
	for _, p := range presetFilters(rq, e.Name) {
		if !own[p.Label] {
			out = append(out, option{"/e/" + e.Name + "?" + p.Value, p.Label})
		}
	}
	for _, p := range ps {
		out = append(out, option{"/e/" + e.Name + "?" + p.Value, strings.TrimPrefix(p.Key, prefix)})
	}
	return out, nil
}

// saveFilter saves the list's current query under a name, or deletes the
// saved filter of that name (action=delete).
func (u *UI) saveFilter(w http.ResponseWriter, r *http.Request, rq *request) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" || len(name) > 100 {
		u.fail(w, r, rq, http.StatusUnprocessableEntity, rq.T("list.filter_name")+": "+rq.T("list.filter_name_bad"))
		return
	}
	key := "filter:" + e.Name + ":" + name
	var err error
	if r.PostFormValue("action") == "delete" {
		err = u.store.DeletePref(r.Context(), rq.User.ID, key)
	} else {
		q, perr := url.ParseQuery(r.PostFormValue("query"))
		if perr != nil {
			q = url.Values{}
		}
		err = u.store.SetPref(r.Context(), rq.User.ID, key, listState(q).Encode())
	}
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/e/"+e.Name+"?"+r.PostFormValue("query"))
}
