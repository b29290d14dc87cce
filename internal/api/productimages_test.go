package api_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

// upload is a multipart body with one file field.
func upload(t *testing.T, name string, data []byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(data)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), mw.FormDataContentType()
}

// A product's pictures: upload (only real pictures, named by what they
// are), list, download byte for byte, delete.
func TestProductImagesAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		var p crm.Product
		must(t, e.do("POST", "/api/v1/products", `{"name":"Кроссовки","price":"1000"}`), 201).json(t, &p)
		var pic bytes.Buffer
		if err := png.Encode(&pic, image.NewRGBA(image.Rect(0, 0, 3, 2))); err != nil {
			t.Fatal(err)
		}
		base := fmt.Sprintf("/api/v1/products/%d/images", p.ID)

		body, ct := upload(t, "photo.jpg", pic.Bytes())
		var im crm.ProductImage
		must(t, e.do("POST", base, body, "Content-Type", ct), 201).json(t, &im)
		if im.ContentType != "image/png" || im.FileName != "photo.png" || im.Size != int64(pic.Len()) || len(im.SHA256) != 64 {
			t.Errorf("uploaded: %+v", im)
		}
		body, ct = upload(t, "evil.png", []byte("<html><script>alert(1)</script></html>"))
		if r := e.do("POST", base, body, "Content-Type", ct); r.Status != 422 || !strings.Contains(string(r.Body), "not a JPEG") {
			t.Errorf("a page sent as a picture: %d %s", r.Status, r.Body)
		}
		var list []crm.ProductImage
		must(t, e.do("GET", base, nil), 200).json(t, &list)
		if len(list) != 1 || list[0].ID != im.ID {
			t.Fatalf("list: %+v", list)
		}
		r := must(t, e.do("GET", fmt.Sprintf("%s/%d", base, im.ID), nil), 200)
		if !bytes.Equal(r.Body, pic.Bytes()) || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("download: %v, %d bytes", r.Header, len(r.Body))
		}
		if r := e.do("GET", fmt.Sprintf("/api/v1/products/%d/images/%d", p.ID+1000, im.ID), nil); r.Status != 404 {
			t.Errorf("another product's picture: %d", r.Status)
		}
		must(t, e.do("DELETE", fmt.Sprintf("%s/%d", base, im.ID), nil), 204)
		must(t, e.do("GET", base, nil), 200).json(t, &list)
		if len(list) != 0 {
			t.Errorf("after delete: %+v", list)
		}
	})
}
