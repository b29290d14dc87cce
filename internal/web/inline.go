package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/obmen/obmen/internal/crm"
)

// inlineField is one field of a card shown for in-place editing: its value
// (View) or its input (Edit), swapped by htmx.
type inlineField struct {
	Field   fieldView
	Action  string // GET: the input; POST: save; GET ?view=1: the value
	Version string // the record's updated_at when read
	CSRF    string
	Lang    string
	Notice  string // a conflict: what changed meanwhile
	Editing bool
}

// T translates a message key.
func (f *inlineField) T(key string) string { return translate(f.Lang, key) }

// inlineFields are a card's fields for in-place editing.
func inlineFields(views []fieldView, base, version string, rq *request) []inlineField {
	out := make([]inlineField, 0, len(views))
	for _, fv := range views {
		out = append(out, inlineField{Field: fv, Action: base + "/field/" + url.PathEscape(fv.Name), Version: version, CSRF: rq.Sess.CSRF, Lang: rq.Lang})
	}
	return out
}

// inlineView loads a record and builds the view of one of its fields:
// the entity's own fields and the custom ones ("custom.CODE") alike.
func (u *UI) inlineView(w http.ResponseWriter, r *http.Request, rq *request, input url.Values, errField, errMsg string) (*entity, int64, record, *inlineField, bool) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return nil, 0, nil, nil, false
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return nil, 0, nil, nil, false
	}
	rec, err := e.get(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return nil, 0, nil, nil, false
	}
	defs, err := u.store.CustomFields(r.Context(), e.Name)
	if err != nil {
		u.failErr(w, r, rq, err)
		return nil, 0, nil, nil, false
	}
	lk := u.lookupsFor(r.Context(), rq)
	errs := formErrs{errField: errMsg}
	views := append(fieldViews(e, rec, lk, rq, input, errs), customViews(defs, rec, input, errs, lk, "/e/"+e.Name+"/"+strconv.FormatInt(id, 10))...)
	if lk.err != nil {
		u.failErr(w, r, rq, lk.err)
		return nil, 0, nil, nil, false
	}
	name := r.PathValue("field")
	for _, fv := range views {
		if fv.Name == name && !fv.RO {
			base := "/e/" + e.Name + "/" + strconv.FormatInt(id, 10)
			f := inlineFields([]fieldView{fv}, base, strOf(rec["updated_at"]), rq)[0]
			return e, id, rec, &f, true
		}
	}
	u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
	return nil, 0, nil, nil, false
}

// fieldGet answers the click on a field's value with its input, or with
// the value again (?view=1, Escape).
func (u *UI) fieldGet(w http.ResponseWriter, r *http.Request, rq *request) {
	_, _, rec, f, ok := u.inlineView(w, r, rq, nil, "", "")
	if !ok {
		return
	}
	if rec["deleted_at"] != nil {
		u.fail(w, r, rq, http.StatusConflict, rq.T("card.in_bin"))
		return
	}
	f.Editing = r.URL.Query().Get("view") == ""
	u.renderFrom(w, http.StatusOK, "card", "inline-field", f)
}

// fieldSave saves one field. A value the form or the store refuses comes
// back in its input with the message beside it, nothing saved; so does a
// record someone changed since the input was opened, with what it holds
// now, rather than overwriting their change unseen.
func (u *UI) fieldSave(w http.ResponseWriter, r *http.Request, rq *request) {
	e, id, cur, f, ok := u.inlineView(w, r, rq, nil, "", "")
	if !ok {
		return
	}
	name := f.Field.Name
	// Only this field's keys reach the parsers, so nothing else changes.
	form := url.Values{}
	for _, k := range []string{name, name + ".shown"} {
		if r.PostForm.Has(k) {
			form[k] = r.PostForm[k]
		}
	}
	patch, fe := parseForm(e, form.Get, form.Has, cur, rq.T, rq.Loc)
	if fe == nil {
		defs, err := u.store.CustomFields(r.Context(), e.Name)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		parseCustom(defs, form, patch)
		if len(patch) > 0 {
			err = e.update(r.Context(), rq.Actor(), id, patch, r.PostFormValue("version"))
		}
		switch {
		case errors.Is(err, errStale):
			// Show the input again with what was typed, the record's new
			// version and its current value, so that a second save is a
			// deliberate overwrite.
			_, _, now, nf, ok := u.inlineView(w, r, rq, form, "", "")
			if !ok {
				return
			}
			lk := u.lookupsFor(r.Context(), rq)
			shown := nf.Field.Display
			if fd, ok := e.Field(name); ok {
				shown = lk.show(fd, now)
			} else if v, ok := now["custom"].(map[string]any); ok {
				shown = strOf(v[name[len("custom."):]])
			}
			if shown == "" {
				shown = "—"
			}
			nf.Notice = rq.T("inline.stale") + " " + shown
			nf.Editing = true
			u.renderFrom(w, http.StatusConflict, "card", "inline-field", nf)
			return
		case err != nil:
			var ok bool
			if fe, ok = crm.AsFieldError(err); !ok {
				u.failErr(w, r, rq, err)
				return
			}
		}
	}
	if fe != nil {
		msg := fieldMessage(rq, fe)
		if at := fieldOfError(e, fe); at != name {
			// The store refused because of another field: say which.
			msg = rq.T("f."+fe.Field) + ": " + msg
		}
		_, _, _, nf, ok := u.inlineView(w, r, rq, form, name, msg)
		if !ok {
			return
		}
		nf.Editing = true
		nf.Version = r.PostFormValue("version")
		u.renderFrom(w, http.StatusUnprocessableEntity, "card", "inline-field", nf)
		return
	}
	_, _, _, nf, ok := u.inlineView(w, r, rq, nil, "", "")
	if !ok {
		return
	}
	u.renderFrom(w, http.StatusOK, "card", "inline-field", nf)
}
