package web_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

// A product's card shows its pictures, loaded through the REST API with
// the session, in a grid that fits a phone and a desktop without a
// horizontal scroll of the page.
func TestBrowserProductImages(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, storetest.OpenAny(t))
	p, err := e.app.Store.CreateProduct(ctx, e.admin, crm.Product{Name: "Кроссовки беговые «Ветер», мужские, сетка", Price: 550000, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []color.RGBA{{200, 30, 30, 255}, {30, 160, 60, 255}, {40, 60, 200, 255}} {
		img := image.NewRGBA(image.Rect(0, 0, 640, 480))
		for x := range 640 {
			for y := range 480 {
				img.Set(x, y, color.RGBA{c.R, c.G, uint8(x / 3), 255})
			}
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		name := []string{"вид-сбоку.png", "подошва-очень-длинное-название-файла-фотографии.png", "сверху.png"}[i]
		if _, err := e.app.Store.AddProductImage(ctx, e.admin, p.ID, name, b.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	b := e.browser()
	b.signIn()
	card := "/e/product/" + strconv.FormatInt(p.ID, 10)
	if page := b.get(card); page.Status != http.StatusOK || !strings.Contains(page.Body, `id="product-images"`) {
		t.Fatalf("the product's card: %d, no pictures", page.Status)
	}
	bs := newBrowserSession(t, e)
	for _, vp := range []struct {
		name string
		w, h int64
	}{{"390", 390, 900}, {"1280", 1280, 900}} {
		bs.run("product card "+vp.name, chromedp.EmulateViewport(vp.w, vp.h), chromedp.Navigate(e.srv.URL+card), chromedp.WaitVisible(chromedp.CSS(`#product-images img`)))
		bs.run("pictures load", chromedp.Poll[chromedp.Void](`Array.from(document.querySelectorAll("#product-images img")).every(i => i.complete && i.naturalWidth === 640)`))
		if n := bs.eval(`String(document.querySelectorAll("#product-images img").length)`); n != "3" {
			t.Errorf("%s: %s pictures shown, want 3", vp.name, n)
		}
		bs.noHorizontalScroll("the product card at " + vp.name)
		bs.run("screenshot", chromedp.ScrollIntoView(chromedp.CSS(`#product-images`)), shot(bs.dir, "product-images-"+vp.name),
			shotEl(bs.dir, "product-images-block-"+vp.name, "#product-images"))
	}

	// At phone width, the card's form uploads a file chosen in the file
	// input: the page comes back with the notice and a fourth picture.
	var b2 bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for x := range 640 {
		img.Set(x, x%480, color.RGBA{0, 0, 0, 255})
	}
	if err := png.Encode(&b2, img); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "новая.png")
	if err := os.WriteFile(file, b2.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	bs.run("upload", chromedp.EmulateViewport(390, 900), chromedp.Navigate(e.srv.URL+card), chromedp.WaitVisible(chromedp.CSS(`#image-file`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#image-file`), []string{file}),
		chromedp.Click(chromedp.CSS(`#image-upload button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
	bs.run("uploaded", chromedp.Poll[chromedp.Void](`document.querySelectorAll("#product-images img").length === 4`))
	if got := bs.eval(`document.body.innerText.includes("Изображений добавлено: 1.") ? "yes" : "no"`); got != "yes" {
		t.Errorf("no notice after the upload")
	}
	ims, err := e.app.Store.ProductImages(ctx, p.ID)
	if err != nil || len(ims) != 4 || ims[3].FileName != "новая.png" || ims[3].Size != int64(b2.Len()) {
		t.Errorf("after the browser's upload: %v %v", ims, err)
	}
	bs.noHorizontalScroll("the product card after an upload at 390")
	bs.run("screenshot", chromedp.ScrollIntoView(chromedp.CSS(`#image-upload`)), shotEl(bs.dir, "product-images-upload-390", "#product-images"))
}
