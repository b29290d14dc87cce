package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// maxImageUpload is the most one upload of a product's pictures may
// carry: a few photographs at crm.MaxImageBytes each.
const maxImageUpload = 4 * crm.MaxImageBytes

// uploadLimits are the multipart routes whose bodies may exceed the CSV
// import's limit (the auth wrapper reads the form before the handler).
var uploadLimits = map[string]int64{"POST /e/product/{id}/images": maxImageUpload, "POST /e/{entity}/{id}/photo": crm.MaxImageBytes}

func (u *UI) productImageRoutes(mux *http.ServeMux) {
	u.handle(mux, "POST /e/product/{id}/images", u.productImagesUpload)
	u.handle(mux, "POST /e/product/{id}/images/{image}/delete", u.productImageDelete)
}

// productImagesUpload adds the chosen files as the product's pictures,
// after the ones it has. Every file is checked before any is kept: one
// that is not a JPEG, PNG, GIF or WebP picture (by its bytes) or is too
// large refuses the upload, named in the message.
func (u *UI) productImagesUpload(w http.ResponseWriter, r *http.Request, rq *request) {
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	e := u.byPath[store.EntityProduct]
	var files []struct {
		name string
		data []byte
	}
	if r.MultipartForm != nil {
		for _, fh := range r.MultipartForm.File["file"] {
			f, err := fh.Open()
			if err != nil {
				u.failErr(w, r, rq, fmt.Errorf("web: picture %q: %w", fh.Filename, err))
				return
			}
			b, err := io.ReadAll(io.LimitReader(f, crm.MaxImageBytes+1))
			f.Close()
			if err == nil {
				_, err = crm.SniffImage(b)
			}
			if err != nil {
				msg := err.Error()
				if fe, ok := crm.AsFieldError(err); ok {
					msg = fieldMessage(rq, fe)
				}
				u.showCard(w, r, rq, e, id, http.StatusUnprocessableEntity, nil, formErrs{"": fmt.Sprintf("%s «%s»: %s", rq.T("card.image_refused"), fh.Filename, msg)})
				return
			}
			files = append(files, struct {
				name string
				data []byte
			}{fh.Filename, b})
		}
	}
	if len(files) == 0 {
		u.showCard(w, r, rq, e, id, http.StatusUnprocessableEntity, nil, formErrs{"": rq.T("card.image_none")})
		return
	}
	for _, f := range files {
		if _, err := u.store.AddProductImage(r.Context(), rq.Actor(), id, f.name, f.data); err != nil {
			u.cardRefused(w, r, rq, e, id, err)
			return
		}
	}
	back(w, r, "/e/product/"+strconv.FormatInt(id, 10)+"?flash=card.images_added&n="+strconv.Itoa(len(files))+"#product-images")
}

// productImageDelete removes one picture of the product.
func (u *UI) productImageDelete(w http.ResponseWriter, r *http.Request, rq *request) {
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	img, err := strconv.ParseInt(r.PathValue("image"), 10, 64)
	if err != nil || img <= 0 {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	if err := u.store.DeleteProductImage(r.Context(), rq.Actor(), id, img); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
			return
		}
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/e/product/"+strconv.FormatInt(id, 10)+"?flash=card.image_deleted#product-images")
}
