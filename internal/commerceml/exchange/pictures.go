package exchange

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// pictures keeps the pictures of a chunk of staged goods, in the write
// that applies them: each good's <Картинка> files, which 1C uploaded
// with mode=file (or in the archive) under import_files/. A good that
// names no picture keeps the ones it has (1C leaves <Картинка> out of a
// changes-only catalog; a user may have added some by hand). A picture
// named but not uploaded is the one the product keeps from that path, if
// any (sent before); else, or when it is not a picture, a problem of the
// journal, and the good keeps the others it named.
func (r *switchRun) pictures(c *catalogTx, file, lo, hi int64) error {
	if r.dir == "" {
		return nil
	}
	rows, err := c.t.Query(`SELECT p.record_id, s.src FROM cml_stage_products p
		JOIN cml_stage_src s ON s.batch_id = p.batch_id AND s.file_id = p.file_id AND s.seq = p.seq
		WHERE p.batch_id = $1 AND p.file_id = $2 AND p.seq > $3 AND p.seq <= $4 AND p.superseded_by = 0
		AND s.src LIKE '%"Pictures":["%' ORDER BY p.seq`, r.batch, file, lo, hi)
	if err != nil {
		return fmt.Errorf("exchange: pictures: %w", err)
	}
	type good struct {
		id  int64
		src stagedSrc
	}
	var goods []good
	for rows.Next() {
		var g good
		var src string
		if err := rows.Scan(&g.id, &src); err != nil {
			rows.Close()
			return fmt.Errorf("exchange: pictures: %w", err)
		}
		if err := json.Unmarshal([]byte(src), &g.src); err != nil {
			rows.Close()
			return fmt.Errorf("exchange: pictures of product %d: %w", g.id, err)
		}
		goods = append(goods, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("exchange: pictures: %w", err)
	}
	for _, g := range goods {
		if g.id == 0 || g.src.Good == nil || len(g.src.Good.Pictures) == 0 {
			continue
		}
		what := fmt.Sprintf("product %q (article %q)", g.src.Good.Name, g.src.Good.Article)
		var imgs []store.NewProductImage
		for _, p := range g.src.Good.Pictures {
			im, err := r.picture(p)
			if errors.Is(err, errNotUploaded) {
				// Sent before: a changes-only exchange names the pictures
				// it does not send again.
				im, err = keptPicture(c.t, g.id, 0, strings.TrimSpace(p))
			}
			if err != nil {
				c.warn(fmt.Sprintf("line %d: %s: picture %q: %v", g.src.Good.Line, what, p, err))
				continue
			}
			imgs = append(imgs, im)
		}
		if len(imgs) == 0 {
			continue
		}
		changed, err := c.t.SetProductImages(g.id, imgs)
		if err != nil {
			return fmt.Errorf("exchange: %s: %w", what, err)
		}
		if changed {
			c.counts.of("picture").Updated += len(imgs)
		}
	}
	return nil
}

// variantPictures keeps the pictures of the variants of one chunk of
// the switch's offers (goods after lo up to hi), as pictures does the
// goods': an offer that names none leaves its variant's pictures alone.
func (r *switchRun) variantPictures(c *catalogTx, lo, hi string) error {
	if r.dir == "" {
		return nil
	}
	rows, err := c.t.Query(`SELECT v.product_id, v.id, s.pictures, s.name, s.article, s.line FROM cml_stage_offers s
		JOIN product_variants v ON v.id1c = s.owner_id1c
		WHERE s.batch_id = $1 AND s.good_id1c > $2 AND s.good_id1c <= $3 AND s.variant AND s.live AND s.pictures <> ''
		ORDER BY s.good_id1c, s.owner_id1c`, r.batch, lo, hi)
	if err != nil {
		return fmt.Errorf("exchange: pictures of variants: %w", err)
	}
	type offer struct {
		product, variant int64
		pictures         []string
		what             string
		line             int64
	}
	var offers []offer
	for rows.Next() {
		var o offer
		var pics, name, article string
		if err := rows.Scan(&o.product, &o.variant, &pics, &name, &article, &o.line); err != nil {
			rows.Close()
			return fmt.Errorf("exchange: pictures of variants: %w", err)
		}
		if err := json.Unmarshal([]byte(pics), &o.pictures); err != nil {
			rows.Close()
			return fmt.Errorf("exchange: pictures of variant %d: %w", o.variant, err)
		}
		o.what = fmt.Sprintf("variant %q (article %q)", name, article)
		offers = append(offers, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("exchange: pictures of variants: %w", err)
	}
	for _, o := range offers {
		var imgs []store.NewProductImage
		for _, p := range o.pictures {
			im, err := r.picture(p)
			if errors.Is(err, errNotUploaded) {
				im, err = keptPicture(c.t, o.product, o.variant, p)
			}
			if err != nil {
				c.warn(fmt.Sprintf("line %d: %s: picture %q: %v", o.line, o.what, p, err))
				continue
			}
			imgs = append(imgs, im)
		}
		if len(imgs) == 0 {
			continue
		}
		changed, err := c.t.SetImages(o.product, o.variant, imgs)
		if err != nil {
			return fmt.Errorf("exchange: %s: %w", o.what, err)
		}
		if changed {
			c.counts.of("picture").Updated += len(imgs)
		}
	}
	return nil
}

// keptPicture is the picture a product (or its variant) keeps from
// path, errNotUploaded if it has none.
func keptPicture(t *store.Tx, productID, variantID int64, path string) (store.NewProductImage, error) {
	var im store.NewProductImage
	err := t.QueryRow("SELECT path, file_name, data FROM product_images WHERE product_id = $1 AND variant_id = $2 AND path = $3 ORDER BY id LIMIT 1",
		productID, variantID, path).Scan(&im.Path, &im.Name, &im.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return im, errNotUploaded
	}
	return im, err
}

// errNotUploaded: a <Картинка> names a file 1C did not send.
var errNotUploaded = errors.New("not uploaded in this exchange (mode=file or the archive)")

// picture reads one uploaded picture of the session: a clean name under
// its folder, no larger than crm.MaxImageBytes, a real picture.
func (r *switchRun) picture(name string) (store.NewProductImage, error) {
	clean, err := CleanName(strings.TrimSpace(name))
	if err != nil {
		return store.NewProductImage{}, err
	}
	p := filepath.Join(r.dir, filepath.FromSlash(clean))
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return store.NewProductImage{}, errNotUploaded
	}
	if err != nil {
		return store.NewProductImage{}, err
	}
	if st.Size() > crm.MaxImageBytes {
		return store.NewProductImage{}, fmt.Errorf("%d bytes, more than %d", st.Size(), crm.MaxImageBytes)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return store.NewProductImage{}, err
	}
	if _, err := crm.SniffImage(b); err != nil {
		return store.NewProductImage{}, err
	}
	return store.NewProductImage{Path: clean, Name: filepath.Base(p), Data: b}, nil
}
