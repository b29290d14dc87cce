package carddav_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dav"
	"github.com/obmen/obmen/internal/dav/card"
	"github.com/obmen/obmen/internal/dav/carddav"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// picture is a small picture of one shade, as JPEG or PNG.
func picture(t *testing.T, shade uint8, asJPEG bool) []byte {
	t.Helper()
	im := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range im.Pix {
		im.Pix[i] = shade
	}
	im.Set(0, 0, color.RGBA{shade, 0, 0, 255})
	var b bytes.Buffer
	var err error
	if asJPEG {
		err = jpeg.Encode(&b, im, nil)
	} else {
		err = png.Encode(&b, im)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fold folds a content line as clients do (75 octets).
func foldLine(l string) string {
	var b strings.Builder
	for len(l) > 75 {
		b.WriteString(l[:75] + "\r\n ")
		l = l[75:]
	}
	return b.String() + l + "\r\n"
}

func photoCard30(pic []byte) string {
	s := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:photo-3\r\nN:Фотина;Вера;;;\r\nFN:Вера Фотина\r\nTEL;TYPE=CELL:+7 916 000-33-44\r\n"
	if pic != nil {
		s += foldLine("PHOTO;ENCODING=b;TYPE=JPEG:" + base64.StdEncoding.EncodeToString(pic))
	}
	return s + "END:VCARD\r\n"
}

func photoCard40(pic []byte, ct string) string {
	s := "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:photo-4\r\nN:Снимков;Илья;;;\r\nFN:Илья Снимков\r\n"
	if pic != nil {
		s += foldLine("PHOTO:data:" + ct + ";base64," + base64.StdEncoding.EncodeToString(pic))
	}
	return s + "END:VCARD\r\n"
}

var photoLineRe = regexp.MustCompile(`(?s)\r\nPHOTO([;:][^\r]*(?:\r\n [^\r]*)*)\r\n`)

// cardPhoto is the picture of a served card's inline PHOTO and its
// line's head (params, or the data: URI's head); nil when none.
func cardPhoto(t *testing.T, body string) ([]byte, string) {
	t.Helper()
	m := photoLineRe.FindStringSubmatch(body)
	if m == nil {
		return nil, ""
	}
	l := strings.ReplaceAll(m[1], "\r\n ", "")
	i := strings.LastIndexAny(l, ":,")
	b, err := base64.StdEncoding.DecodeString(l[i+1:])
	if err != nil {
		t.Fatalf("PHOTO not base64: %v in %q", err, l)
	}
	return b, l[:i+1]
}

// TestCardPhoto: a card's inline PHOTO is the contact's photo, both ways
// and in both vCard versions; a photo set in the CRM is not undone by a
// client that never had it, nor by one echoing its old picture; the ETag
// follows the photo, and a listing of ETags agrees with GET.
func TestCardPhoto(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		if _, err := s.CreateUser(ctx, admin, crm.User{Login: "vera", Role: crm.RoleManager, FirstName: "Вера"}, "vera-Secret-1"); err != nil {
			t.Fatal(err)
		}
		h := dav.New(s, slog.New(slog.DiscardHandler))
		h.Add(carddav.NewService(s, nil))
		mux := http.NewServeMux()
		h.Register(mux)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		vc := &client{t: t, base: srv.URL, login: "vera", pass: "vera-Secret-1"}
		book := "/dav/principals/vera/addressbooks/contacts/"
		href := book + "photo-3.vcf"
		jpg1, png2, jpg3 := picture(t, 40, true), picture(t, 200, false), picture(t, 90, true)

		photoOf := func(id int64) (crm.Photo, []byte) {
			t.Helper()
			p, b, err := s.RecordPhoto(ctx, store.EntityContact, id, true)
			if err != nil && !strings.Contains(err.Error(), "not found") {
				t.Fatal(err)
			}
			return p, b
		}
		get := func(href string) (string, string) {
			t.Helper()
			code, hdr, body := vc.do("GET", href, "")
			if code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", href, code, body)
			}
			if hdr.Get("Content-Length") != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %s, body %d", hdr.Get("Content-Length"), len(body))
			}
			return hdr.Get("ETag"), body
		}
		// listed is the ETag and length a PROPFIND asking no card gives.
		listed := func(href string) (string, string) {
			t.Helper()
			code, _, body := vc.do("PROPFIND", book, `<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:getcontentlength/></d:prop></d:propfind>`, "Depth", "1")
			if code != http.StatusMultiStatus {
				t.Fatalf("PROPFIND: %d %s", code, body)
			}
			for _, r := range strings.Split(body, "<d:response>")[1:] {
				if strings.Contains(r, href+"<") {
					e := regexp.MustCompile(`<d:getetag>([^<]*)<`).FindStringSubmatch(r)
					n := regexp.MustCompile(`<d:getcontentlength>([^<]*)<`).FindStringSubmatch(r)
					if e == nil || n == nil {
						t.Fatalf("PROPFIND of %s: %s", href, r)
					}
					return strings.ReplaceAll(e[1], "&#34;", `"`), n[1]
				}
			}
			t.Fatalf("%s not listed: %s", href, body)
			return "", ""
		}

		// A new card with a 3.0 inline JPEG: the contact's photo.
		code, hdr, body := vc.do("PUT", href, photoCard30(jpg1), "If-None-Match", "*")
		if code != http.StatusCreated {
			t.Fatalf("create: %d %s", code, body)
		}
		ids, _ := s.DAVCardsByName(ctx, []string{"photo-3.vcf"})
		id := ids["photo-3.vcf"].ContactID
		if p, b := photoOf(id); !bytes.Equal(b, jpg1) || p.ContentType != "image/jpeg" || p.Source != store.PhotoCardDAV {
			t.Fatalf("photo after create: %+v (%d bytes)", p, len(b))
		}
		if strings.Contains(ids["photo-3.vcf"].Raw, base64.StdEncoding.EncodeToString(jpg1)[:40]) {
			t.Errorf("the picture is kept in the raw card too")
		}
		etag1, body := get(href)
		if etag1 != hdr.Get("ETag") {
			t.Errorf("GET ETag %s, PUT said %s", etag1, hdr.Get("ETag"))
		}
		if pic, head := cardPhoto(t, body); !bytes.Equal(pic, jpg1) || head != ";ENCODING=b;TYPE=JPEG:" {
			t.Errorf("served photo %q (%d bytes): %s", head, len(pic), body)
		}
		if strings.Contains(body, card.MarkPhoto) {
			t.Errorf("the mark is served: %s", body)
		}
		if e, n := listed(href); e != etag1 || n != strconv.Itoa(len(body)) {
			t.Errorf("PROPFIND ETag %s length %s, GET %s %d", e, n, etag1, len(body))
		}
		head := func(href, etag, body string) {
			t.Helper()
			code, hdr, _ := vc.do("HEAD", href, "")
			if code != http.StatusOK || hdr.Get("ETag") != etag || hdr.Get("Content-Length") != strconv.Itoa(len(body)) {
				t.Errorf("HEAD %s: %d ETag %s length %s, GET %s %d", href, code, hdr.Get("ETag"), hdr.Get("Content-Length"), etag, len(body))
			}
		}
		head(href, etag1, body)

		// The CRM's user sets another photo: a new ETag, the sync sees it.
		_, _, tok := vc.sync(book, "")
		if _, _, err := s.SetRecordPhoto(ctx, admin, store.EntityContact, id, "new.png", png2, store.PhotoUpload, false); err != nil {
			t.Fatal(err)
		}
		etag2, body := get(href)
		if etag2 == etag1 {
			t.Errorf("the ETag did not change with the photo")
		}
		if pic, head := cardPhoto(t, body); !bytes.Equal(pic, png2) || head != ";ENCODING=b;TYPE=PNG:" {
			t.Errorf("served photo after the CRM's change %q: %s", head, body)
		}
		if changed, _, _ := vc.sync(book, tok); len(changed) != 1 || changed[0] != href {
			t.Errorf("sync after the photo changed: %v", changed)
		}
		if e, _ := listed(href); e != etag2 {
			t.Errorf("PROPFIND ETag %s, GET %s", e, etag2)
		}

		// A stale client echoing the picture it sent: the CRM's stays.
		if code, _, body := vc.do("PUT", href, strings.Replace(photoCard30(jpg1), "TEL;", "TITLE:Фотограф\r\nTEL;", 1)); code/100 != 2 {
			t.Fatalf("echo: %d %s", code, body)
		}
		if _, b := photoOf(id); !bytes.Equal(b, png2) {
			t.Errorf("an echoed old picture replaced the CRM's photo")
		}
		// The client takes its photo out: removed.
		if code, _, body := vc.do("PUT", href, photoCard30(nil)); code/100 != 2 {
			t.Fatalf("remove: %d %s", code, body)
		}
		if p, b := photoOf(id); b != nil {
			t.Errorf("photo after the client removed it: %+v", p)
		}
		_, body = get(href)
		if pic, _ := cardPhoto(t, body); pic != nil {
			t.Errorf("a photo served after removal: %s", body)
		}
		// Set in the CRM again; a client whose card never had one sends
		// it without: the photo stays.
		if _, _, err := s.SetRecordPhoto(ctx, admin, store.EntityContact, id, "", png2, store.PhotoUpload, false); err != nil {
			t.Fatal(err)
		}
		if code, _, body := vc.do("PUT", href, strings.Replace(photoCard30(nil), "TEL;", "TITLE:Фотограф\r\nTEL;", 1)); code/100 != 2 {
			t.Fatalf("edit without photo: %d %s", code, body)
		}
		if _, b := photoOf(id); !bytes.Equal(b, png2) {
			t.Errorf("a client that never had the photo removed it")
		}
		// A new picture from the client replaces it.
		if code, _, body := vc.do("PUT", href, photoCard30(jpg3)); code/100 != 2 {
			t.Fatalf("new picture: %d %s", code, body)
		}
		if _, b := photoOf(id); !bytes.Equal(b, jpg3) {
			t.Errorf("the client's new picture was not set")
		}

		// vCard 4.0: a data: URI both ways.
		href4 := book + "photo-4.vcf"
		if code, _, body := vc.do("PUT", href4, photoCard40(png2, "image/png")); code != http.StatusCreated {
			t.Fatalf("create 4.0: %d %s", code, body)
		}
		id4 := func() int64 {
			m, _ := s.DAVCardsByName(ctx, []string{"photo-4.vcf"})
			return m["photo-4.vcf"].ContactID
		}()
		if _, b := photoOf(id4); !bytes.Equal(b, png2) {
			t.Errorf("4.0 photo not set")
		}
		etag4, body := get(href4)
		if pic, head := cardPhoto(t, body); !bytes.Equal(pic, png2) || head != ":data:image/png;base64," {
			t.Errorf("served 4.0 photo %q: %s", head, body)
		}
		if e, n := listed(href4); e != etag4 || n != strconv.Itoa(len(body)) {
			t.Errorf("PROPFIND 4.0 ETag %s length %s, GET %s %d", e, n, etag4, len(body))
		}
		head(href4, etag4, body)
		// A multiget asking for the cards carries the photo.
		mg := `<?xml version="1.0"?><card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/><card:address-data/></d:prop><d:href>` + href4 + `</d:href></card:addressbook-multiget>`
		if code, _, body := vc.do("REPORT", book, mg, "Depth", "1"); code != http.StatusMultiStatus || !strings.Contains(body, "PHOTO:data:image/png;base64,") || !strings.Contains(body, strings.Trim(etag4, `"`)) {
			t.Errorf("multiget: %d %s", code, body)
		}
		// So does a PROPFIND asking every property (or an empty one, which
		// is allprop): its data: URI unescaped as well.
		for _, q := range []struct{ href, body, depth string }{
			{href4, "", "0"},
			{book, `<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>`, "1"},
		} {
			code, _, body := vc.do("PROPFIND", q.href, q.body, "Depth", q.depth)
			if code != http.StatusMultiStatus || !strings.Contains(body, "PHOTO:data:image/png;base64,") || strings.Contains(body, `base64\,`) {
				t.Errorf("PROPFIND %s %q: %d %s", q.href, q.body, code, body)
			}
		}

		// A PHOTO that is a URL is not fetched, and comes back as sent.
		urlCard := strings.Replace(photoCard40(nil, ""), "END:VCARD", "PHOTO:https://example.org/face.jpg\r\nEND:VCARD", 1)
		if code, _, body := vc.do("PUT", href4, urlCard); code/100 != 2 {
			t.Fatalf("URL photo: %d %s", code, body)
		}
		if _, b := photoOf(id4); b != nil {
			t.Errorf("a URL PHOTO left the inline one the client removed")
		}
		if _, body := get(href4); !strings.Contains(body, "PHOTO:https://example.org/face.jpg") {
			t.Errorf("URL PHOTO not served back: %s", body)
		}

		// Broken and foreign pictures: refused, nothing stored.
		bad := strings.Replace(photoCard30(jpg1), "PHOTO;ENCODING=b;TYPE=JPEG:", "PHOTO;ENCODING=b;TYPE=JPEG:%%%", 1)
		if code, _, body := vc.do("PUT", href, bad); code != http.StatusBadRequest || !strings.Contains(body, "PHOTO") {
			t.Errorf("bad base64: %d %s", code, body)
		}
		notPic := photoCard30([]byte("%PDF-1.4 not a picture at all"))
		if code, _, body := vc.do("PUT", href, notPic); code != http.StatusUnprocessableEntity || !strings.Contains(body, "image") {
			t.Errorf("a PDF as PHOTO: %d %s", code, body)
		}
		if _, b := photoOf(id); !bytes.Equal(b, jpg3) {
			t.Errorf("a refused card changed the photo")
		}
	})
}
