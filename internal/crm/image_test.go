package crm

import (
	"bytes"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

func TestSniffImage(t *testing.T) {
	t.Parallel()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	var pngB, jpgB, gifB bytes.Buffer
	if err := png.Encode(&pngB, img); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&jpgB, img, nil); err != nil {
		t.Fatal(err)
	}
	if err := gif.Encode(&gifB, img, nil); err != nil {
		t.Fatal(err)
	}
	webp := append([]byte("RIFF\x1a\x00\x00\x00WEBPVP8 "), make([]byte, 16)...)
	for _, c := range []struct {
		name, want string
		data       []byte
	}{
		{"png", "image/png", pngB.Bytes()}, {"jpeg", "image/jpeg", jpgB.Bytes()}, {"gif", "image/gif", gifB.Bytes()}, {"webp", "image/webp", webp},
		{"html named .jpg", "", []byte("<html><script>alert(1)</script>")}, {"svg", "", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		{"empty", "", nil}, {"too large", "", append(pngB.Bytes(), make([]byte, MaxImageBytes)...)},
	} {
		got, err := SniffImage(c.data)
		if got != c.want || (err == nil) != (c.want != "") {
			t.Errorf("%s: %q %v, want %q", c.name, got, err, c.want)
		}
	}
}

func TestImageFileName(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, ct, want string }{
		{"import_files/ab/abcdef.jpg", "image/jpeg", "abcdef.jpg"},
		{"photo.JPEG", "image/jpeg", "photo.JPEG"},
		{"photo.jpg", "image/png", "photo.png"},
		{`C:\Фото\кроссовки.gif`, "image/gif", "кроссовки.gif"},
		{"", "image/webp", "image.webp"},
		{"../..", "image/png", "image.png"},
	} {
		if got := ImageFileName(c.name, c.ct); got != c.want {
			t.Errorf("ImageFileName(%q, %s) = %q, want %q", c.name, c.ct, got, c.want)
		}
	}
}

// FuzzImageFileName: whatever name a picture comes under, the kept name
// is one non-empty part, ends with the extension of what it is, and is
// at most 200 characters.
func FuzzImageFileName(f *testing.F) {
	for _, s := range []string{"import_files/ab/abcdef.jpg", `C:\a\b.png`, "", "/", "..", "a.jpeg", strings.Repeat("я", 300) + ".gif"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		for ct, ext := range imageTypes {
			got := ImageFileName(name, ct)
			if got == "" || strings.ContainsAny(got, `/\`) || len([]rune(got)) > 200 {
				t.Fatalf("ImageFileName(%q, %s) = %q", name, ct, got)
			}
			if !strings.HasSuffix(strings.ToLower(got), ext) && !(ext == ".jpg" && strings.HasSuffix(strings.ToLower(got), ".jpeg")) {
				t.Fatalf("ImageFileName(%q, %s) = %q: not %s", name, ct, got, ext)
			}
		}
	})
}
