package web

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// photoView is the photo block of a lead's, contact's or account's card:
// the picture (served by the REST API's …/photo, which the session
// cookie signs in to; ?v= changes with the picture so that a replaced one
// is not taken from the cache) and, for a user who may change the
// record, the forms to upload another and to remove it.
type photoView struct {
	URL    string // "" when the record has none
	Name   string
	Action string // the card's …/photo; "" when the user may not change it
}

func (u *UI) cardPhotoRoutes(mux *http.ServeMux) {
	u.handle(mux, "POST /e/{entity}/{id}/photo", u.photoUpload)
	u.handle(mux, "POST /e/{entity}/{id}/photo/delete", u.photoDelete)
}

// cardPhoto is the photo block of a record's card, nil for a record that
// takes none. The card has read the record (its access rules applied).
func (u *UI) cardPhoto(ctx context.Context, entity string, id int64, changeable bool) (*photoView, error) {
	if !slices.Contains(crm.PhotoOwnerTypes, entity) {
		return nil, nil
	}
	v := &photoView{}
	if changeable {
		v.Action = "/e/" + entity + "/" + strconv.FormatInt(id, 10) + "/photo"
	}
	photos, err := u.store.PhotosOf(ctx, entity, []int64{id}, false)
	if err != nil {
		return nil, err
	}
	if p, ok := photos[id]; ok {
		v.URL, v.Name = crm.PhotoURL("", entity, id, p.SHA256), p.FileName
	}
	if v.URL == "" && v.Action == "" {
		return nil, nil
	}
	return v, nil
}

// photoEntity is the record of a photo route: a lead, contact or account.
func (u *UI) photoEntity(w http.ResponseWriter, r *http.Request, rq *request) (*entity, int64, bool) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return nil, 0, false
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return nil, 0, false
	}
	if !slices.Contains(crm.PhotoOwnerTypes, e.Name) {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return nil, 0, false
	}
	return e, id, true
}

// photoUpload makes the chosen picture the record's photo (replacing the
// one it has): a JPEG, PNG, GIF or WebP picture by its bytes, else
// refused with what is wrong with it.
func (u *UI) photoUpload(w http.ResponseWriter, r *http.Request, rq *request) {
	e, id, ok := u.photoEntity(w, r, rq)
	if !ok {
		return
	}
	var name string
	var data []byte
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File["file"]; len(fhs) > 0 {
			f, err := fhs[0].Open()
			if err != nil {
				u.failErr(w, r, rq, err)
				return
			}
			data, err = io.ReadAll(io.LimitReader(f, crm.MaxImageBytes+1))
			f.Close()
			if err != nil {
				u.failErr(w, r, rq, err)
				return
			}
			name = fhs[0].Filename
		}
	}
	// No file chosen goes to the store too: its access check comes first.
	if _, _, err := u.store.SetRecordPhoto(r.Context(), rq.Actor(), e.Name, id, name, data, store.PhotoUpload, false); err != nil {
		if _, ok := crm.AsFieldError(err); ok && len(data) == 0 {
			u.showCard(w, r, rq, e, id, http.StatusUnprocessableEntity, nil, formErrs{"": rq.T("card.photo_none")})
			return
		}
		if fe, ok := crm.AsFieldError(err); ok {
			u.showCard(w, r, rq, e, id, http.StatusUnprocessableEntity, nil, formErrs{"": rq.T("card.photo_refused") + " «" + name + "»: " + fieldMessage(rq, fe)})
			return
		}
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/e/"+e.Name+"/"+strconv.FormatInt(id, 10)+"?flash=card.photo_saved")
}

// photoDelete removes the record's photo.
func (u *UI) photoDelete(w http.ResponseWriter, r *http.Request, rq *request) {
	e, id, ok := u.photoEntity(w, r, rq)
	if !ok {
		return
	}
	if err := u.store.DeleteRecordPhoto(r.Context(), rq.Actor(), e.Name, id); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/e/"+e.Name+"/"+strconv.FormatInt(id, 10)+"?flash=card.photo_deleted")
}
