package web_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

func smallPNG(t *testing.T, c uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for x := range 16 {
		for y := range 16 {
			img.Set(x, y, color.RGBA{c, uint8(x * 16), uint8(y * 16), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// uploadFiles posts the card's picture form with several files.
func (b *browser) uploadFiles(path string, files map[string][]byte, order ...string) page {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", b.csrf)
	for _, name := range order {
		fw, _ := mw.CreateFormFile("file", name)
		_, _ = fw.Write(files[name])
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.send(req)
}

// The product card's picture form: several files in one upload are kept
// in order; a file that is not a picture (by its bytes, whatever its
// name) refuses the whole upload with its name in the message and keeps
// none; a picture larger than the CSV import's limit (4 MiB) but within
// the pictures' (10 MiB) goes through; a picture is deleted from the
// card; no form without the CSRF token.
func TestProductImagesUpload(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		p, err := s.CreateProduct(ctx, e.admin, crm.Product{Name: "Кроссовки", Price: 100000, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		card := "/e/product/" + strconv.FormatInt(p.ID, 10)
		count := func() int {
			t.Helper()
			ims, err := s.ProductImages(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			return len(ims)
		}
		b := e.browser()
		b.signIn()
		if pg := b.get(card); !strings.Contains(pg.Body, `id="image-upload"`) {
			t.Fatalf("the card of a product without pictures has no upload form")
		}
		a, c := smallPNG(t, 10), smallPNG(t, 200)
		pg := b.uploadFiles(card+"/images", map[string][]byte{"перед.png": a, "зад.PNG": c}, "перед.png", "зад.PNG")
		if pg.Status != http.StatusSeeOther || !strings.Contains(pg.Location, "flash=card.images_added&n=2") {
			t.Fatalf("upload of two: %d %q %s", pg.Status, pg.Location, excerpt(pg.Body, `role="alert"`))
		}
		ims, _ := s.ProductImages(ctx, p.ID)
		if len(ims) != 2 || ims[0].FileName != "перед.png" || ims[1].FileName != "зад.PNG" || ims[0].Position >= ims[1].Position {
			t.Fatalf("kept: %+v", ims)
		}
		if pg := b.get(pg.Location); pg.Status != 200 || !strings.Contains(pg.Body, "Изображений добавлено: 2.") || strings.Count(pg.Body, `/delete"><input type="hidden" name="csrf"`) < 2 {
			t.Errorf("the card after the upload: no notice or no delete buttons: %d %.3000s", pg.Status, pg.Body)
		}

		// A text file named .jpg among pictures: nothing kept, named.
		pg = b.uploadFiles(card+"/images", map[string][]byte{"ok.png": a, "фото.jpg": []byte("just text, not a picture")}, "ok.png", "фото.jpg")
		if pg.Status != http.StatusUnprocessableEntity || !strings.Contains(pg.Body, "«фото.jpg»") || !strings.Contains(pg.Body, "не картинка") {
			t.Errorf("a text file as a picture: %d %s", pg.Status, excerpt(pg.Body, `role="alert"`))
		}
		if n := count(); n != 2 {
			t.Errorf("after a refused upload %d pictures, want the 2 kept before", n)
		}
		// No file chosen.
		if pg := b.uploadFiles(card+"/images", nil); pg.Status != http.StatusUnprocessableEntity || !strings.Contains(pg.Body, "Выберите файлы") {
			t.Errorf("an upload without files: %d", pg.Status)
		}
		// A 6 MiB picture: over the CSV limit, within the pictures'.
		big := append(smallPNG(t, 50), make([]byte, 6<<20)...)
		if pg := b.uploadFiles(card+"/images", map[string][]byte{"большая.png": big}, "большая.png"); pg.Status != http.StatusSeeOther {
			t.Errorf("a 6 MiB picture: %d %s", pg.Status, excerpt(pg.Body, `role="alert"`))
		}
		// Over 10 MiB: refused, named.
		huge := append(smallPNG(t, 60), make([]byte, 11<<20)...)
		if pg := b.uploadFiles(card+"/images", map[string][]byte{"огромная.png": huge}, "огромная.png"); pg.Status != http.StatusUnprocessableEntity || !strings.Contains(pg.Body, "«огромная.png»") {
			t.Errorf("an 11 MiB picture: %d %s", pg.Status, excerpt(pg.Body, `role="alert"`))
		}
		if n := count(); n != 3 {
			t.Errorf("%d pictures, want 3", n)
		}

		// Without the CSRF token: refused.
		b2 := e.browser()
		b2.signIn()
		b2.csrf = "00"
		if pg := b2.uploadFiles(card+"/images", map[string][]byte{"x.png": a}, "x.png"); pg.Status != http.StatusForbidden {
			t.Errorf("an upload without the CSRF token: %d", pg.Status)
		}

		// Delete the first.
		ims, _ = s.ProductImages(ctx, p.ID)
		pg = b.post(card+"/images/"+strconv.FormatInt(ims[0].ID, 10)+"/delete", nil)
		if pg.Status != http.StatusSeeOther || !strings.Contains(pg.Location, "flash=card.image_deleted") {
			t.Errorf("delete: %d %q", pg.Status, pg.Location)
		}
		if n := count(); n != 2 {
			t.Errorf("after a delete %d pictures, want 2", n)
		}
		if pg := b.post(card+"/images/"+strconv.FormatInt(ims[0].ID, 10)+"/delete", nil); pg.Status != http.StatusNotFound {
			t.Errorf("delete again: %d, want 404", pg.Status)
		}
	})
}
