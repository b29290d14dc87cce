package crm

import (
	"fmt"
	"net/http"
	"path"
	"strings"
)

// MaxImageBytes is the largest picture of a product Obmen keeps (1C's
// pictures are photographs of a few hundred kilobytes; a file larger
// than this is not one).
const MaxImageBytes = 10 << 20

// ProductImage is one picture of a product (VariantID 0) or of one of
// its variants. Path is where 1C put the file in its exchange
// ("import_files/ab/abcdef.jpg"), empty for one uploaded by hand.
type ProductImage struct {
	ID          int64  `json:"id"`
	ProductID   int64  `json:"product_id"`
	VariantID   int64  `json:"variant_id"`
	Position    int    `json:"position"`
	Path        string `json:"path,omitempty"`
	FileName    string `json:"file_name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	UpdatedAt   int64  `json:"-"`
}

// imageTypes are the pictures Obmen keeps, by the type their bytes show,
// with the file extension each is written with.
var imageTypes = map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}

// SniffImage is the content type of a picture's bytes: JPEG, PNG, GIF or
// WebP, by what the bytes are, never by the name they came under. Any
// other file, an empty one or one over MaxImageBytes is refused.
func SniffImage(b []byte) (string, error) {
	if len(b) == 0 {
		return "", Invalid("image", "the file is empty")
	}
	if len(b) > MaxImageBytes {
		return "", Invalid("image", "the file is %d bytes, more than %d", len(b), MaxImageBytes)
	}
	ct := http.DetectContentType(b)
	if _, ok := imageTypes[ct]; !ok {
		return "", Invalid("image", "the file is %s, not a JPEG, PNG, GIF or WebP picture", ct)
	}
	return ct, nil
}

// ImageExt is the extension a picture of content type ct is written with.
func ImageExt(ct string) string { return imageTypes[ct] }

// ImageFileName is a picture's file name as kept: the last part of the
// name it came under, with the extension of what it is.
func ImageFileName(name, ct string) string {
	base := path.Base(strings.ReplaceAll(strings.TrimSpace(name), "\\", "/"))
	if strings.Trim(base, "./ ") == "" {
		base = "image"
	}
	ext := ImageExt(ct)
	if !strings.EqualFold(path.Ext(base), ext) && !(ext == ".jpg" && strings.EqualFold(path.Ext(base), ".jpeg")) {
		base = strings.TrimSuffix(base, path.Ext(base)) + ext
	}
	if r := []rune(base); len(r) > 200 {
		base = string(r[len(r)-200:])
	}
	return base
}

// String names a picture in messages.
func (im ProductImage) String() string { return fmt.Sprintf("%s (%d bytes)", im.FileName, im.Size) }
