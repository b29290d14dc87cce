package card

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/emersion/go-vcard"
)

// The contact's photo lives in the CRM (record_photos), not in the kept
// card: a card a client sends has its inline PHOTO taken out before it is
// stored, and MarkPhoto's property put in its place, holding the SHA-256
// of the picture the client sent, so that the next card tells whether the
// client removed a photo it had (or only echoes the one it has). A PHOTO
// that is a URL is not fetched: it stays in the kept card as sent.
const MarkPhoto = "X-OBMEN-PHOTO"

// Photo is the contact's photo as a card carries it. Data nil renders no
// PHOTO (a listing that asks for no card reads only the hash).
type Photo struct {
	ContentType string
	SHA256      string
	Size        int64
	Data        []byte
}

// photoTypes are the vCard 3.0 TYPE values of the pictures kept.
var photoTypes = map[string]string{"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}

// inline reports whether a PHOTO field carries the picture itself: 3.0's
// ENCODING=b (or BASE64), or a data: URI (4.0, or 3.0 with VALUE=uri).
func inline(f *vcard.Field) bool {
	enc := strings.ToLower(f.Params.Get("ENCODING"))
	return enc == "b" || enc == "base64" || strings.HasPrefix(strings.ToLower(strings.TrimSpace(f.Value)), "data:")
}

// InlinePhoto is the picture of the first inline PHOTO of a card a
// client sent (nil, false when it has none: no PHOTO, or only URLs). A
// PHOTO whose data cannot be decoded is an error naming it.
func InlinePhoto(c vcard.Card) ([]byte, bool, error) {
	for i, f := range c[vcard.FieldPhoto] {
		if !inline(f) {
			continue
		}
		v := strings.TrimSpace(f.Value)
		b64 := true
		if strings.HasPrefix(strings.ToLower(v), "data:") {
			head, data, ok := strings.Cut(v[len("data:"):], ",")
			if !ok {
				return nil, true, fmt.Errorf("vCard: PHOTO %d: the data: URI has no comma before its data", i+1)
			}
			b64 = strings.HasSuffix(strings.ToLower(head), ";base64")
			v = data
		}
		if !b64 {
			s, err := url.PathUnescape(v)
			if err != nil {
				return nil, true, fmt.Errorf("vCard: PHOTO %d: the data: URI's data: %w", i+1, err)
			}
			return []byte(s), true, nil
		}
		v = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, v)
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			if b2, err2 := base64.RawStdEncoding.DecodeString(strings.TrimRight(v, "=")); err2 == nil {
				return b2, true, nil
			}
			return nil, true, fmt.Errorf("vCard: PHOTO %d: not base64: %w", i+1, err)
		}
		return b, true, nil
	}
	return nil, false, nil
}

// PhotoSHA256 is the hash a picture is known by (as record_photos keeps it).
func PhotoSHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// ForStorage is the card a client sent as it is kept: its inline PHOTOs
// out, and MarkPhoto holding sum (the hash of the picture it carried) in
// their place when sum is not "".
func ForStorage(c vcard.Card, sum string) vcard.Card {
	out := make(vcard.Card, len(c))
	for k, fs := range c {
		if k == MarkPhoto {
			continue // a client's own would lie about what it sent
		}
		if k == vcard.FieldPhoto {
			var keep []*vcard.Field
			for _, f := range fs {
				if !inline(f) {
					keep = append(keep, f)
				}
			}
			if len(keep) > 0 {
				out[k] = keep
			}
			continue
		}
		out[k] = fs
	}
	if sum != "" {
		out.SetValue(MarkPhoto, sum)
	}
	return out
}

// SentPhoto tells of the kept card raw whether the client's card had an
// inline photo, and its hash when MarkPhoto gives it ("" for a card kept
// whole, before photos were the CRM's).
func SentPhoto(raw string) (had bool, sum string) {
	if raw == "" {
		return false, ""
	}
	c, err := Parse(strings.NewReader(raw))
	if err != nil {
		return false, ""
	}
	if m := c.Get(MarkPhoto); m != nil {
		return true, strings.TrimSpace(m.Value)
	}
	for _, f := range c[vcard.FieldPhoto] {
		if inline(f) {
			return true, ""
		}
	}
	return false, ""
}

// photoPrefix is what a PHOTO line of a picture of type ct starts with,
// up to its base64 data, as Encode writes it.
func photoPrefix(ct string, v4 bool) string {
	if v4 {
		return "PHOTO:data:" + ct + ";base64,"
	}
	return "PHOTO;ENCODING=b;TYPE=" + photoType(ct) + ":"
}

// photoType is a 3.0 PHOTO's TYPE for a picture of type ct.
func photoType(ct string) string {
	if t := photoTypes[ct]; t != "" {
		return t
	}
	return strings.ToUpper(strings.TrimPrefix(ct, "image/"))
}

// AddPhoto puts p's picture inline into a rendered card, as its version
// writes it (3.0: ENCODING=b and TYPE; 4.0: a data: URI).
func AddPhoto(c vcard.Card, p *Photo) {
	if p == nil || p.Data == nil {
		return
	}
	v4 := c.Value(vcard.FieldVersion) == "4.0"
	f := &vcard.Field{Value: base64.StdEncoding.EncodeToString(p.Data), Params: vcard.Params{}}
	if v4 {
		f.Value = "data:" + p.ContentType + ";base64," + f.Value
	} else {
		f.Params.Set("ENCODING", "b")
		f.Params.Set(vcard.ParamType, photoType(p.ContentType))
	}
	c.Set(vcard.FieldPhoto, f)
}

// PhotoBytes is how many octets AddPhoto adds to the encoded card c (one
// folded line), known from p's size without its bytes.
func PhotoBytes(c vcard.Card, p *Photo) int64 {
	if p == nil {
		return 0
	}
	n := int64(len(photoPrefix(p.ContentType, c.Value(vcard.FieldVersion) == "4.0"))) + 4*((p.Size+2)/3)
	// fold: 75 octets, then lines of a space and 74, each with CRLF.
	if n <= 75 {
		return n + 2
	}
	rest := n - 75
	return 75 + 2 + rest + 3*((rest+73)/74)
}

// PhotoETag is the entity tag of a card whose encoding without its photo
// is encoded, and whose photo is p: a new photo is a new tag, and a
// listing tells it without reading the picture.
func PhotoETag(encoded []byte, p *Photo) string {
	if p == nil {
		return ETag(encoded)
	}
	h := sha256.New()
	h.Write(encoded)
	h.Write([]byte("\x00photo " + p.SHA256))
	return hex.EncodeToString(h.Sum(nil)[:12])
}
