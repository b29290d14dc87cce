package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// photoPNG is a 2×2 picture of one shade.
func photoPNG(t *testing.T, shade uint8) []byte {
	t.Helper()
	im := image.NewRGBA(image.Rect(0, 0, 2, 2))
	for i := range im.Pix {
		im.Pix[i] = shade
	}
	im.Set(0, 0, color.RGBA{shade, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, im); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRecordPhoto(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		c, err := s.CreateContact(ctx, admin, crm.Contact{Name: "Павел"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.RecordPhoto(ctx, store.EntityContact, c.ID, false); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no photo yet: %v", err)
		}
		a, b := photoPNG(t, 10), photoPNG(t, 200)
		// Not a picture, by its bytes, whatever its name.
		if _, _, err := s.SetRecordPhoto(ctx, admin, store.EntityContact, c.ID, "фото.jpg", []byte("%PDF-1.4 not a picture"), store.PhotoUpload, false); err == nil {
			t.Fatal("a PDF kept as a photo")
		}
		if _, _, err := s.SetRecordPhoto(ctx, admin, store.EntityDeal, 1, "x.png", a, store.PhotoUpload, false); err == nil {
			t.Fatal("a deal with a photo")
		}
		set, ok, err := s.SetRecordPhoto(ctx, admin, store.EntityContact, c.ID, "лицо.jpeg", a, store.PhotoUpload, false)
		if err != nil || !ok {
			t.Fatalf("set: %v %v", ok, err)
		}
		p, data, err := s.RecordPhoto(ctx, store.EntityContact, c.ID, true)
		if err != nil || !bytes.Equal(data, a) || p.ContentType != "image/png" || p.FileName != "лицо.png" || p.Size != int64(len(a)) || p.Source != store.PhotoUpload {
			t.Fatalf("read back: %+v %d bytes %v", p, len(data), err)
		}
		// What SetRecordPhoto returns is what a read gives: the photo
		// written, or the one kept.
		if set != p {
			t.Errorf("set returned %+v, read back %+v", set, p)
		}
		// Only into an empty photo (a profile import): kept as it is.
		if kept, ok, err := s.SetRecordPhoto(ctx, admin, store.EntityContact, c.ID, "vk.jpg", b, store.PhotoVK, true); err != nil || ok || kept != p {
			t.Fatalf("import over a photo: %v %v, kept %+v", ok, err, kept)
		}
		// The same picture again writes nothing.
		if kept, ok, err := s.SetRecordPhoto(ctx, admin, store.EntityContact, c.ID, "лицо.png", a, store.PhotoUpload, false); err != nil || ok || kept != p {
			t.Fatalf("same picture: %v %v, kept %+v", ok, err, kept)
		}
		set, ok, err = s.SetRecordPhoto(ctx, admin, store.EntityContact, c.ID, "", b, store.PhotoUpload, false)
		if err != nil || !ok {
			t.Fatalf("replace: %v %v", ok, err)
		}
		if p, _, _ := s.RecordPhoto(ctx, store.EntityContact, c.ID, false); set != p {
			t.Errorf("replace returned %+v, read back %+v", set, p)
		}
		if err := s.DeleteRecordPhoto(ctx, admin, store.EntityContact, c.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRecordPhoto(ctx, admin, store.EntityContact, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete none: %v", err)
		}
		evs, err := s.Events(ctx, events.Query{Entity: store.EntityContact, RecordID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		var photos []string
		for _, e := range evs {
			if ch, ok := e.Changes["photo"]; ok {
				photos = append(photos, string(ch.Old)+"→"+string(ch.New))
			}
		}
		if len(photos) != 3 || photos[0] != `null→"лицо.png"` || photos[1] != `"лицо.png"→"photo.png"` || photos[2] != `"photo.png"→null` {
			t.Fatalf("photo changes in the history: %v", photos)
		}
		// A lead takes one too; an import fills an empty one.
		l, err := s.CreateLead(ctx, admin, crm.Lead{Name: "Ольга"})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.SetRecordPhoto(ctx, admin, store.EntityLead, l.ID, "", b, store.PhotoVK, true); err != nil || !ok {
			t.Fatalf("import into an empty photo: %v %v", ok, err)
		}
		// A record in the recycle bin: purged with it.
		if err := s.Delete(ctx, admin, store.EntityLead, l.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SetRecordPhoto(ctx, admin, store.EntityLead, l.ID, "", a, store.PhotoUpload, false); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("photo of a deleted lead: %v", err)
		}
		if err := s.Purge(ctx, admin, store.EntityLead, l.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.RecordPhoto(store.Unscoped(ctx), store.EntityLead, l.ID, false); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("photo of a purged lead: %v", err)
		}
	})
}

func TestRecordPhotoAccess(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		bg := context.Background()
		anna, err := s.CreateUser(bg, admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1")
		if err != nil {
			t.Fatal(err)
		}
		oleg, err := s.CreateUser(bg, admin, crm.User{Login: "oleg", Role: crm.RoleManager}, "oleg-password-1")
		if err != nil {
			t.Fatal(err)
		}
		mine, err := s.CreateContact(bg, admin, crm.Contact{Name: "Анин", Meta: crm.Meta{AssignedByID: anna.ID}})
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := s.CreateContact(bg, admin, crm.Contact{Name: "Олегов", Meta: crm.Meta{AssignedByID: oleg.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SetRecordPhoto(bg, admin, store.EntityContact, theirs.ID, "", photoPNG(t, 1), store.PhotoUpload, false); err != nil {
			t.Fatal(err)
		}
		ctx, err := s.ScopeFor(bg, anna)
		if err != nil {
			t.Fatal(err)
		}
		as := crm.Actor{UserID: anna.ID}
		if _, _, err := s.SetRecordPhoto(ctx, as, store.EntityContact, mine.ID, "", photoPNG(t, 2), store.PhotoUpload, false); err != nil {
			t.Fatalf("own contact: %v", err)
		}
		if _, _, err := s.RecordPhoto(ctx, store.EntityContact, theirs.ID, true); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("read another's: %v", err)
		}
		if _, _, err := s.SetRecordPhoto(ctx, as, store.EntityContact, theirs.ID, "", photoPNG(t, 3), store.PhotoUpload, false); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("set another's: %v", err)
		}
		if err := s.DeleteRecordPhoto(ctx, as, store.EntityContact, theirs.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete another's: %v", err)
		}
		if _, _, err := s.RecordPhoto(bg, store.EntityContact, theirs.ID, false); err != nil {
			t.Fatalf("another's photo is still there: %v", err)
		}
	})
}

// PhotosOf reads the photos of many records at once: hashes only unless
// the bytes are asked for; records without one are absent.
func TestPhotosOf(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		var ids []int64
		for i := range 3 {
			c, err := s.CreateContact(ctx, admin, crm.Contact{Name: "Фото" + strconv.Itoa(i)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
		a, b := photoPNG(t, 10), photoPNG(t, 200)
		for i, pic := range [][]byte{a, b} {
			if _, _, err := s.SetRecordPhoto(ctx, admin, store.EntityContact, ids[i], "", pic, store.PhotoUpload, false); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.PhotosOf(ctx, store.EntityContact, ids, false)
		if err != nil || len(got) != 2 || got[ids[0]].SHA256 == "" || got[ids[0]].SHA256 == got[ids[1]].SHA256 || got[ids[0]].Data != nil {
			t.Fatalf("hashes: %+v %v", got, err)
		}
		if _, ok := got[ids[2]]; ok {
			t.Errorf("a contact without a photo is listed")
		}
		got, err = s.PhotosOf(ctx, store.EntityContact, ids, true)
		if err != nil || !bytes.Equal(got[ids[0]].Data, a) || !bytes.Equal(got[ids[1]].Data, b) || got[ids[1]].ContentType != "image/png" {
			t.Fatalf("with bytes: %v", err)
		}
		if _, err := s.PhotosOf(ctx, store.EntityDeal, ids, false); err == nil {
			t.Errorf("a deal's photos were read")
		}
	})
}

// TestPhotoMemo: under a photo memo, a folded read (PostgreSQL) reads the
// photos of the leads, contacts and companies it finds in its own
// statement, and PhotoURLs answers from it without reading them again —
// shown by taking a photo away behind the store's back, which PhotoURLs
// then does not see; a write under the memo's context forgets it. On
// SQLite (no folded reads) PhotoURLs reads, as without a memo. Either way
// the addresses are those PhotosOf's hashes make.
func TestPhotoMemo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		s := store.New(d)
		admin := storetest.Admin(t, s)
		bg := context.Background()
		var ids []int64
		for i := range 3 {
			c, err := s.CreateContact(bg, admin, crm.Contact{Name: "Память" + strconv.Itoa(i),
				Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 912 000-55-44", ValueType: "WORK"}}}})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
		for i, pic := range [][]byte{photoPNG(t, 30), photoPNG(t, 90)} {
			if _, _, err := s.SetRecordPhoto(bg, admin, store.EntityContact, ids[i], "", pic, store.PhotoUpload, false); err != nil {
				t.Fatal(err)
			}
		}
		want, err := s.PhotosOf(bg, store.EntityContact, ids, false)
		if err != nil {
			t.Fatal(err)
		}
		const base = "https://crm.example.ru"
		check := func(what string, got map[int64]string, have ...int) {
			t.Helper()
			if len(got) != len(have) {
				t.Fatalf("%s: %d addresses, want %d: %v", what, len(got), len(have), got)
			}
			for _, i := range have {
				if u := crm.PhotoURL(base, store.EntityContact, ids[i], want[ids[i]].SHA256); got[ids[i]] != u {
					t.Fatalf("%s: contact %d: %q, want %q", what, i, got[ids[i]], u)
				}
			}
		}
		ctx := store.WithPhotoMemo(bg)
		found, _, err := s.ListContacts(ctx, store.ListParams{Phone: "8 912 000 55 44"})
		if err != nil || len(found) != 3 {
			t.Fatalf("found by phone: %d, %v", len(found), err)
		}
		if err := d.Write(bg, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "DELETE FROM record_photos WHERE owner_type = 'contact' AND owner_id = $1", ids[1])
			return err
		}); err != nil {
			t.Fatal(err)
		}
		got, err := s.PhotoURLs(ctx, base, store.EntityContact, ids)
		if err != nil {
			t.Fatal(err)
		}
		if d.Dialect == db.Postgres {
			check("from the memo", got, 0, 1)
		} else {
			check("read", got, 0)
		}
		// A write under the context: what the memo held is read again.
		if _, _, err := s.SetRecordPhoto(ctx, admin, store.EntityContact, ids[2], "", photoPNG(t, 150), store.PhotoUpload, false); err != nil {
			t.Fatal(err)
		}
		if want, err = s.PhotosOf(bg, store.EntityContact, ids, false); err != nil {
			t.Fatal(err)
		}
		if got, err = s.PhotoURLs(ctx, base, store.EntityContact, ids); err != nil {
			t.Fatal(err)
		}
		check("after a write", got, 0, 2)
	})
}
