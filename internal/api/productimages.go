package api

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
)

// imageRoutes: a product's pictures (1C sends them with the catalog; a
// user who may change the product adds and removes them). The access
// rules are the product's.
func (a *API) imageRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /api/v1/products/{id}/images", "A product's pictures, in order (without their bytes)", nil, []crm.ProductImage{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			out, err := a.store.ProductImages(r.Context(), id)
			return writeOne(w, http.StatusOK, out, err)
		})
	a.handle(mux, "GET /api/v1/products/{id}/images/{image}", "Download one picture of a product (its bytes, with its content type)", nil, nil,
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, imageID, err := imagePath(r)
			if err != nil {
				return err
			}
			im, data, err := a.store.ProductImageData(r.Context(), id, imageID)
			if err != nil {
				return err
			}
			w.Header().Set("Content-Type", im.ContentType)
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": im.FileName}))
			w.Header().Set("Cache-Control", "private, max-age=300")
			w.Header().Set("ETag", `"`+im.SHA256+`"`)
			if r.Header.Get("If-None-Match") == `"`+im.SHA256+`"` {
				w.WriteHeader(http.StatusNotModified)
				return nil
			}
			_, _ = w.Write(data)
			return nil
		})
	a.handle(mux, "POST /api/v1/products/{id}/images", "Add a picture to a product (multipart field \"file\": JPEG, PNG, GIF or WebP, at most 10 MB)", nil, crm.ProductImage{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			r.Body = http.MaxBytesReader(w, r.Body, crm.MaxImageBytes+64<<10)
			f, hdr, err := r.FormFile("file")
			if err != nil {
				return httpx.Errorf(http.StatusBadRequest, "bad_request", "file", "a multipart form with the picture in field \"file\" (at most %d bytes) is expected: %v", crm.MaxImageBytes, err)
			}
			defer f.Close()
			data, err := io.ReadAll(io.LimitReader(f, crm.MaxImageBytes+1))
			if err != nil {
				return httpx.Errorf(http.StatusBadRequest, "bad_request", "file", "reading the picture: %v", err)
			}
			im, err := a.store.AddProductImage(r.Context(), p.Actor, id, hdr.Filename, data)
			if err != nil {
				return err
			}
			w.Header().Set("Location", fmt.Sprintf("/api/v1/products/%d/images/%d", id, im.ID))
			return writeOne(w, http.StatusCreated, im, nil)
		})
	a.handle(mux, "DELETE /api/v1/products/{id}/images/{image}", "Remove a picture of a product", nil, nil,
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, imageID, err := imagePath(r)
			if err != nil {
				return err
			}
			if err := a.store.DeleteProductImage(r.Context(), p.Actor, id, imageID); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		})
}

// imagePath reads a picture route's product id and image id.
func imagePath(r *http.Request) (id, imageID int64, err error) {
	if id, err = pathID(r, "id"); err != nil {
		return 0, 0, err
	}
	imageID, err = pathID(r, "image")
	return id, imageID, err
}
