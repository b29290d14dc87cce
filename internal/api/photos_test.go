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

// photo_url: in a lead's, contact's and account's JSON (get, list,
// create, patch) when it has a photo — the photo's address, a new one
// for a new picture — absent otherwise, and not writable.
func TestPhotoURL(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		pic := func(w int) []byte {
			var b bytes.Buffer
			if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, w, 2))); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}
		for _, res := range []struct{ path, body string }{
			{"leads", `{"title":"Заявка с фото","name":"Ирина"}`},
			{"contacts", `{"name":"Ирина"}`},
			{"accounts", `{"title":"ООО Фото"}`},
		} {
			var m map[string]any
			must(t, e.do("POST", "/api/v1/"+res.path, res.body), 201).json(t, &m)
			if _, ok := m["photo_url"]; ok {
				t.Errorf("%s: photo_url without a photo: %v", res.path, m["photo_url"])
			}
			id := int64(m["id"].(float64))
			base := fmt.Sprintf("/api/v1/%s/%d", res.path, id)
			must(t, e.do("PUT", base+"/photo", pic(3), "Content-Type", "image/png"), 200)
			must(t, e.do("GET", base, nil), 200).json(t, &m)
			u1, _ := m["photo_url"].(string)
			if !strings.HasSuffix(strings.SplitN(u1, "?", 2)[0], base+"/photo") || !strings.Contains(u1, "?v=") {
				t.Fatalf("%s: photo_url %q", res.path, u1)
			}
			if m["id"] == nil || m["created_at"] == nil {
				t.Errorf("%s: the record's fields went: %v", res.path, m)
			}
			// The address serves the picture.
			path := u1[strings.Index(u1, "/api/v1/"):]
			if r := must(t, e.do("GET", path, nil), 200); !bytes.Equal(r.Body, pic(3)) {
				t.Errorf("%s: photo_url serves %d bytes", res.path, len(r.Body))
			}
			// A new picture, a new address.
			must(t, e.do("PUT", base+"/photo", pic(5), "Content-Type", "image/png"), 200)
			var list struct {
				Items []map[string]any `json:"items"`
			}
			must(t, e.do("GET", "/api/v1/"+res.path, nil), 200).json(t, &list)
			found := false
			for _, it := range list.Items {
				if int64(it["id"].(float64)) == id {
					found = true
					if u2, _ := it["photo_url"].(string); u2 == "" || u2 == u1 {
						t.Errorf("%s: listed photo_url %q after a new picture (was %q)", res.path, u2, u1)
					}
				} else if _, ok := it["photo_url"]; ok && res.path != "leads" {
					t.Errorf("%s: photo_url on a record without photo: %v", res.path, it)
				}
			}
			if !found {
				t.Errorf("%s: %d not listed", res.path, id)
			}
			if r := e.do("PATCH", base, `{"photo_url":"https://evil.example/x.png"}`); r.Status != 400 || !strings.Contains(string(r.Body), "read_only_field") {
				t.Errorf("%s: photo_url written: %d %s", res.path, r.Status, r.Body)
			}
			must(t, e.do("PATCH", base, `{"comments":"с фото"}`), 200).json(t, &m)
			if u, _ := m["photo_url"].(string); u == "" {
				t.Errorf("%s: no photo_url after PATCH", res.path)
			}
			must(t, e.do("DELETE", base+"/photo", nil), 204)
			m = nil
			must(t, e.do("GET", base, nil), 200).json(t, &m)
			if _, ok := m["photo_url"]; ok {
				t.Errorf("%s: photo_url after the photo was removed", res.path)
			}
		}
		// A deal has no photo_url at all.
		var d map[string]any
		must(t, e.do("POST", "/api/v1/deals", `{"title":"Сделка"}`), 201).json(t, &d)
		if _, ok := d["photo_url"]; ok {
			t.Errorf("a deal with photo_url")
		}
	})
}
