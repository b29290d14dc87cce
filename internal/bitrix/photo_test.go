package bitrix_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// A contact's PHOTO and a company's LOGO are Bitrix24's file values
// ({"id", "showUrl", "downloadUrl"}) when the record has a photo, null
// otherwise — in get and in list.
func TestPhotoField(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		var pic bytes.Buffer
		if err := png.Encode(&pic, image.NewRGBA(image.Rect(0, 0, 2, 2))); err != nil {
			t.Fatal(err)
		}
		c, err := e.s.CreateContact(ctx, e.admin, crm.Contact{Name: "Фото"})
		if err != nil {
			t.Fatal(err)
		}
		bare, err := e.s.CreateContact(ctx, e.admin, crm.Contact{Name: "Безфото"})
		if err != nil {
			t.Fatal(err)
		}
		a, err := e.s.CreateAccount(ctx, e.admin, crm.Account{Title: "ООО Логотип"})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range []struct {
			entity string
			id     int64
		}{{store.EntityContact, c.ID}, {store.EntityAccount, a.ID}} {
			if _, _, err := e.s.SetRecordPhoto(ctx, e.admin, o.entity, o.id, "", pic.Bytes(), store.PhotoUpload, false); err != nil {
				t.Fatal(err)
			}
		}
		want := fmt.Sprintf("/api/v1/contacts/%d/photo?v=", c.ID)
		r := e.get("crm.contact.get", fmt.Sprintf("id=%d", c.ID))
		if u := r.str(t, "result", "PHOTO", "showUrl"); !strings.HasPrefix(u, want) || r.str(t, "result", "PHOTO", "downloadUrl") != u {
			t.Errorf("PHOTO: %s", r.Body)
		}
		if r := e.get("crm.contact.get", fmt.Sprintf("id=%d", bare.ID)); r.get(t, "result", "PHOTO") != nil {
			t.Errorf("PHOTO without a photo: %s", r.Body)
		}
		r = e.get("crm.contact.list", "select[]=ID&select[]=PHOTO&order[ID]=ASC")
		if u := r.str(t, "result", "0", "PHOTO", "showUrl"); !strings.HasPrefix(u, want) || r.get(t, "result", "1", "PHOTO") != nil {
			t.Errorf("list PHOTO: %s", r.Body)
		}
		r = e.get("crm.company.get", fmt.Sprintf("id=%d", a.ID))
		if u := r.str(t, "result", "LOGO", "showUrl"); !strings.HasPrefix(u, fmt.Sprintf("/api/v1/accounts/%d/photo?v=", a.ID)) {
			t.Errorf("LOGO: %s", r.Body)
		}
	})
}
