package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// photoRoutes: the photo of a lead, contact or account, read as its
// bytes at …/{id}/photo (the record's access rules) and written by
// upload. The card shows it from the same address.
func (a *API) photoRoutes(mux *http.ServeMux, base, entity string) {
	if !slices.Contains(crm.PhotoOwnerTypes, entity) {
		return
	}
	a.handle(mux, "GET "+base+"/{id}/photo", "Download the photo of a "+entity+" (its bytes, with its content type); 404 when it has none", nil, nil,
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			ph, data, err := a.store.RecordPhoto(r.Context(), entity, id, true)
			if err != nil {
				return err
			}
			// no-cache: the address stays when the photo changes.
			writePicture(w, r, "private, no-cache", ph.ContentType, ph.FileName, ph.SHA256, data)
			return nil
		})
	a.handle(mux, "PUT "+base+"/{id}/photo", "Set or replace the photo of a "+entity+": a multipart form with the picture in field \"file\", or the picture itself as the body (JPEG, PNG, GIF or WebP, at most 10 MB)", nil, crm.Photo{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			name, data, err := uploadedPicture(w, r)
			if err != nil {
				return err
			}
			ph, _, err := a.store.SetRecordPhoto(r.Context(), p.Actor, entity, id, name, data, store.PhotoUpload, false)
			if err != nil {
				return err
			}
			return writeOne(w, http.StatusOK, ph, nil)
		})
	a.handle(mux, "DELETE "+base+"/{id}/photo", "Remove the photo of a "+entity, nil, nil,
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if err := a.store.DeleteRecordPhoto(r.Context(), p.Actor, entity, id); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		})
}

// withPhotoURL is a record as JSON with "photo_url" after its fields.
type withPhotoURL struct {
	v   any
	url string
}

func (p withPhotoURL) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(p.v)
	if err != nil {
		return nil, err
	}
	u, err := json.Marshal(p.url)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimRight(b, " \n")
	if len(b) < 2 || b[len(b)-1] != '}' {
		return nil, fmt.Errorf("api: photo_url: %T is not a JSON object", p.v)
	}
	sep := ","
	if len(b) == 2 {
		sep = ""
	}
	out := make([]byte, 0, len(b)+len(u)+14)
	out = append(out, b[:len(b)-1]...)
	out = append(out, sep+`"photo_url":`...)
	out = append(out, u...)
	return append(out, '}'), nil
}

// uploadedPicture reads a picture sent as a multipart form (field
// "file") or as the request's body, at most crm.MaxImageBytes.
func uploadedPicture(w http.ResponseWriter, r *http.Request) (string, []byte, error) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); strings.HasPrefix(ct, "multipart/") {
		return formPicture(w, r)
	}
	r.Body = http.MaxBytesReader(w, r.Body, crm.MaxImageBytes+64<<10)
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return "", nil, httpx.Errorf(http.StatusRequestEntityTooLarge, "payload_too_large", "file", "request body is larger than %d bytes", crm.MaxImageBytes)
	}
	return "", data, nil
}

// formPicture reads a picture sent as a multipart form, in field "file",
// at most crm.MaxImageBytes.
func formPicture(w http.ResponseWriter, r *http.Request) (string, []byte, error) {
	r.Body = http.MaxBytesReader(w, r.Body, crm.MaxImageBytes+64<<10)
	f, hdr, err := r.FormFile("file")
	if err != nil {
		return "", nil, httpx.Errorf(http.StatusBadRequest, "bad_request", "file", "a multipart form with the picture in field \"file\" (at most %d bytes) is expected: %v", crm.MaxImageBytes, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, crm.MaxImageBytes+1))
	if err != nil {
		return "", nil, httpx.Errorf(http.StatusBadRequest, "bad_request", "file", "reading the picture: %v", err)
	}
	return hdr.Filename, data, nil
}

// writePicture answers with a kept picture, cached as cacheControl says
// and revalidated by its SHA-256.
func writePicture(w http.ResponseWriter, r *http.Request, cacheControl, contentType, name, sum string, data []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": name}))
	w.Header().Set("Cache-Control", cacheControl)
	w.Header().Set("ETag", `"`+sum+`"`)
	if r.Header.Get("If-None-Match") == `"`+sum+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}
