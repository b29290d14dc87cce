package api

import (
	"fmt"
	"net/http"

	"github.com/obmen/obmen/internal/crm"
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
			writePicture(w, r, "private, max-age=300", im.ContentType, im.FileName, im.SHA256, data)
			return nil
		})
	a.handle(mux, "POST /api/v1/products/{id}/images", "Add a picture to a product (multipart field \"file\": JPEG, PNG, GIF or WebP, at most 10 MB)", nil, crm.ProductImage{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			name, data, err := formPicture(w, r)
			if err != nil {
				return err
			}
			im, err := a.store.AddProductImage(r.Context(), p.Actor, id, name, data)
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
