package card

import (
	"bytes"
	"testing"

	"github.com/emersion/go-vcard"
)

// PhotoBytes tells, from the picture's size alone, what AddPhoto adds to
// the encoded card (the content length a listing gives without reading
// the picture), for every folding case, in both versions.
func TestPhotoBytes(t *testing.T) {
	for _, v := range []string{"3.0", "4.0"} {
		for _, ct := range []string{"image/jpeg", "image/png", "image/webp"} {
			for size := 1; size < 400; size++ {
				c := vcard.Card{}
				c.SetValue(vcard.FieldVersion, v)
				c.SetValue(vcard.FieldFormattedName, "Фото")
				without, err := Bytes(c)
				if err != nil {
					t.Fatal(err)
				}
				p := &Photo{ContentType: ct, Size: int64(size), Data: bytes.Repeat([]byte{0xff}, size)}
				AddPhoto(c, p)
				with, err := Bytes(c)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := PhotoBytes(c, p), int64(len(with)-len(without)); got != want {
					t.Fatalf("%s %s %d bytes: PhotoBytes %d, encoded %d", v, ct, size, got, want)
				}
			}
		}
	}
}

// A card's inline PHOTO in each form clients send, and the ones that are
// not inline or cannot be read.
func TestInlinePhoto(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       string
		inline     bool
		err        bool
	}{
		{"3.0 b", "PHOTO;ENCODING=b;TYPE=JPEG:aGVsbG8=", "hello", true, false},
		{"3.0 BASE64 unpadded", "PHOTO;ENCODING=BASE64;TYPE=PNG:aGVsbG8", "hello", true, false},
		{"4.0 data", "PHOTO:data:image/jpeg;base64,aGVsbG8=", "hello", true, false},
		{"3.0 uri data", "PHOTO;VALUE=uri:data:image/png;base64,aGVsbG8=", "hello", true, false},
		{"percent data", "PHOTO:data:image/png,hel%6Co", "hello", true, false},
		{"URL", "PHOTO;VALUE=uri:https://example.org/face.jpg", "", false, false},
		{"bad base64", "PHOTO;ENCODING=b:%%%", "", true, true},
		{"data without comma", "PHOTO:data:image/png;base64", "", true, true},
	} {
		c, err := Parse(bytes.NewReader([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\n" + tc.line + "\r\nEND:VCARD\r\n")))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, inline, err := InlinePhoto(c)
		if (err != nil) != tc.err || inline != tc.inline || (!tc.err && string(got) != tc.want) {
			t.Errorf("%s: %q %v %v", tc.name, got, inline, err)
		}
		st := ForStorage(c, "abc")
		if tc.inline && st.Get(vcard.FieldPhoto) != nil {
			t.Errorf("%s: kept inline in storage", tc.name)
		}
		if !tc.inline && st.Get(vcard.FieldPhoto) == nil {
			t.Errorf("%s: a URL PHOTO dropped from storage", tc.name)
		}
	}
}
