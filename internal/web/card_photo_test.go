package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// The photo on a contact's card: added by upload (a picture by its bytes,
// whatever its name), shown from the REST API's …/photo, replaced,
// removed; a file that is not a picture is refused with its name; a
// manager who may not see the contact changes nothing.
func TestCardPhoto(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		c, err := s.CreateContact(ctx, e.admin, crm.Contact{Name: "Павел"})
		if err != nil {
			t.Fatal(err)
		}
		card := "/e/contact/" + strconv.FormatInt(c.ID, 10)
		b := e.browser()
		b.signIn()
		pg := b.get(card)
		if !strings.Contains(pg.Body, `id="photo-form"`) || strings.Contains(pg.Body, `id="photo-img"`) {
			t.Fatalf("a contact without a photo: %s", excerpt(pg.Body, `id="record-photo"`))
		}
		a, c2 := smallPNG(t, 10), smallPNG(t, 200)
		pg = b.uploadFiles(card+"/photo", map[string][]byte{"лицо.jpg": a}, "лицо.jpg")
		if pg.Status != http.StatusSeeOther || !strings.Contains(pg.Location, "flash=card.photo_saved") {
			t.Fatalf("upload: %d %q %s", pg.Status, pg.Location, excerpt(pg.Body, `role="alert"`))
		}
		pg = b.get(card)
		img := excerpt(pg.Body, `id="photo-img"`)
		if !strings.Contains(pg.Body, `src="/api/v1/contacts/`+strconv.FormatInt(c.ID, 10)+`/photo?v=`) || !strings.Contains(pg.Body, `id="photo-delete"`) {
			t.Fatalf("the card does not show the photo: %s", img)
		}
		i := strings.Index(pg.Body, `src="/api/v1/contacts/`)
		src := pg.Body[i+5 : i+5+strings.Index(pg.Body[i+5:], `"`)]
		if got := b.get(strings.ReplaceAll(src, "&amp;", "&")); got.Status != http.StatusOK || got.Body != string(a) {
			t.Errorf("the photo's address: %d, %d bytes", got.Status, len(got.Body))
		}
		pg = b.uploadFiles(card+"/photo", map[string][]byte{"резюме.png": []byte("%PDF-1.4 not a picture")}, "резюме.png")
		if pg.Status != http.StatusUnprocessableEntity || !strings.Contains(pg.Body, "«резюме.png»") {
			t.Errorf("a PDF as a photo: %d %s", pg.Status, excerpt(pg.Body, `role="alert"`))
		}
		if pg := b.uploadFiles(card+"/photo", nil); pg.Status != http.StatusUnprocessableEntity || !strings.Contains(pg.Body, "Выберите файл изображения") {
			t.Errorf("no file: %d %s", pg.Status, excerpt(pg.Body, `role="alert"`))
		}
		if pg := b.uploadFiles(card+"/photo", map[string][]byte{"новое.png": c2}, "новое.png"); pg.Status != http.StatusSeeOther {
			t.Errorf("replace: %d", pg.Status)
		}
		if _, data, err := s.RecordPhoto(ctx, store.EntityContact, c.ID, true); err != nil || string(data) != string(c2) {
			t.Errorf("replaced photo: %d bytes %v", len(data), err)
		}

		// Another manager: the contact is not there for her.
		if _, err := s.CreateUser(ctx, e.admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1"); err != nil {
			t.Fatal(err)
		}
		m := e.browser()
		if p := m.login(url.Values{"login": {"anna"}, "password": {"anna-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("sign in: %d", p.Status)
		}
		m.get("/")
		if pg := m.uploadFiles(card+"/photo", map[string][]byte{"x.png": a}, "x.png"); pg.Status != http.StatusNotFound {
			t.Errorf("another's contact, upload: %d", pg.Status)
		}
		if pg := m.post(card+"/photo/delete", nil); pg.Status != http.StatusNotFound {
			t.Errorf("another's contact, delete: %d", pg.Status)
		}

		if pg := b.post(card+"/photo/delete", nil); pg.Status != http.StatusSeeOther || !strings.Contains(pg.Location, "flash=card.photo_deleted") {
			t.Errorf("delete: %d %q", pg.Status, pg.Location)
		}
		if _, _, err := s.RecordPhoto(ctx, store.EntityContact, c.ID, false); err == nil {
			t.Error("the photo is still there")
		}
		// A deal's card has no photo.
		d, err := s.CreateDeal(ctx, e.admin, crm.Deal{Title: "Сделка"})
		if err != nil {
			t.Fatal(err)
		}
		if pg := b.get("/e/deal/" + strconv.FormatInt(d.ID, 10)); strings.Contains(pg.Body, `id="record-photo"`) {
			t.Error("a deal's card offers a photo")
		}
	})
}
