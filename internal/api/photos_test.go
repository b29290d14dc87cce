package api_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

// The photo of a contact: written by upload (multipart or the bare
// picture), read back byte for byte at the record's …/photo address,
// refused when not a picture, hidden from a manager who may not see the
// contact, removed.
func TestRecordPhotoAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		var c crm.Contact
		must(t, e.do("POST", "/api/v1/contacts", `{"name":"Павел"}`), 201).json(t, &c)
		base := fmt.Sprintf("/api/v1/contacts/%d/photo", c.ID)
		if r := e.do("GET", base, nil); r.Status != 404 {
			t.Fatalf("no photo yet: %d %s", r.Status, r.Body)
		}
		var pic bytes.Buffer
		if err := png.Encode(&pic, image.NewRGBA(image.Rect(0, 0, 3, 2))); err != nil {
			t.Fatal(err)
		}
		body, ct := upload(t, "лицо.jpg", pic.Bytes())
		var ph crm.Photo
		must(t, e.do("PUT", base, body, "Content-Type", ct), 200).json(t, &ph)
		if ph.ContentType != "image/png" || ph.FileName != "лицо.png" || ph.Size != int64(pic.Len()) || ph.Source != "upload" {
			t.Errorf("uploaded: %+v", ph)
		}
		r := must(t, e.do("GET", base, nil), 200)
		if !bytes.Equal(r.Body, pic.Bytes()) || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("download: %v, %d bytes", r.Header, len(r.Body))
		}
		if r := e.do("GET", base, nil, "If-None-Match", r.Header.Get("ETag")); r.Status != 304 {
			t.Errorf("unchanged photo: %d", r.Status)
		}
		if r := e.do("PUT", base, []byte("<html><script>alert(1)</script></html>"), "Content-Type", "image/png"); r.Status != 422 || !strings.Contains(string(r.Body), "not a JPEG") {
			t.Errorf("a page sent as a picture: %d %s", r.Status, r.Body)
		}
		// The bare picture as the body.
		var pic2 bytes.Buffer
		if err := png.Encode(&pic2, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
			t.Fatal(err)
		}
		must(t, e.do("PUT", base, pic2.Bytes(), "Content-Type", "image/png"), 200)
		if r := must(t, e.do("GET", base, nil), 200); !bytes.Equal(r.Body, pic2.Bytes()) {
			t.Errorf("replaced photo: %d bytes", len(r.Body))
		}
		// Another manager's contact: not there for this one.
		_, key := e.newUser("photo-manager", crm.RoleManager)
		for _, m := range []string{"GET", "PUT", "DELETE"} {
			var b any
			if m == "PUT" {
				b = pic.Bytes()
			}
			if r := e.doKey(key, m, base, b, "Content-Type", "image/png"); r.Status != 404 {
				t.Errorf("%s of another's photo: %d %s", m, r.Status, r.Body)
			}
		}
		must(t, e.do("DELETE", base, nil), 204)
		if r := e.do("GET", base, nil); r.Status != 404 {
			t.Errorf("after delete: %d", r.Status)
		}
		// A deal has no photo.
		if r := e.do("GET", "/api/v1/deals/1/photo", nil); r.Status != 404 && r.Status != 405 {
			t.Errorf("a deal's photo: %d", r.Status)
		}
	})
}
