package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
)

// NewProductImage is a picture to keep: the name it came under (1C's
// path in its exchange, or an uploaded file's name) and its bytes.
type NewProductImage struct {
	Path string // 1C's "import_files/ab/abcdef.jpg"; "" for an upload
	Name string
	Data []byte
}

const imageCols = "id, product_id, variant_id, position, path, file_name, content_type, size, sha256, updated_at"

func scanImage(sc interface{ Scan(...any) error }) (crm.ProductImage, error) {
	var im crm.ProductImage
	err := sc.Scan(&im.ID, &im.ProductID, &im.VariantID, &im.Position, &im.Path, &im.FileName, &im.ContentType, &im.Size, &im.SHA256, &im.UpdatedAt)
	return im, err
}

// ProductImagesOf returns the pictures of the given products (without
// their bytes), by product, in their order.
func (s *Store) ProductImagesOf(ctx context.Context, productIDs []int64) (map[int64][]crm.ProductImage, error) {
	out := map[int64][]crm.ProductImage{}
	if len(productIDs) == 0 {
		return out, nil
	}
	ph := make([]string, len(productIDs))
	args := make([]any, len(productIDs))
	for i, id := range productIDs {
		ph[i], args[i] = fmt.Sprintf("$%d", i+1), id
	}
	rows, err := s.db.Read.QueryContext(ctx, "SELECT "+imageCols+" FROM product_images WHERE product_id IN ("+strings.Join(ph, ", ")+
		") ORDER BY product_id, variant_id, position, id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: product images: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		im, err := scanImage(rows)
		if err != nil {
			return nil, fmt.Errorf("store: product images: %w", err)
		}
		out[im.ProductID] = append(out[im.ProductID], im)
	}
	return out, rows.Err()
}

// ProductImages returns a product's pictures (without their bytes).
func (s *Store) ProductImages(ctx context.Context, productID int64) ([]crm.ProductImage, error) {
	if _, err := s.GetProduct(ctx, productID); err != nil {
		return nil, err
	}
	m, err := s.ProductImagesOf(ctx, []int64{productID})
	if err != nil {
		return nil, err
	}
	if m[productID] == nil {
		return []crm.ProductImage{}, nil
	}
	return m[productID], nil
}

// ProductImageData returns one picture of a product with its bytes.
func (s *Store) ProductImageData(ctx context.Context, productID, imageID int64) (crm.ProductImage, []byte, error) {
	if _, err := s.GetProduct(ctx, productID); err != nil {
		return crm.ProductImage{}, nil, err
	}
	var data []byte
	row := s.db.Read.QueryRowContext(ctx, "SELECT "+imageCols+", data FROM product_images WHERE id = $1 AND product_id = $2", imageID, productID)
	var im crm.ProductImage
	err := row.Scan(&im.ID, &im.ProductID, &im.VariantID, &im.Position, &im.Path, &im.FileName, &im.ContentType, &im.Size, &im.SHA256, &im.UpdatedAt, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return im, nil, ErrNotFound
	}
	if err != nil {
		return im, nil, fmt.Errorf("store: product image %d: %w", imageID, err)
	}
	return im, data, nil
}

// imagesChanged is the change event's entry for a product's pictures:
// the rows are the product's pictures (ProductImages).
var imagesChanged = events.Change{Old: json.RawMessage("null"), New: json.RawMessage("true")}

// SetProductImages makes imgs the product's own pictures (variant 0), in
// their order: each is sniffed (a JPEG, PNG, GIF or WebP picture of at
// most crm.MaxImageBytes) and refused otherwise. When the pictures are
// the ones kept already (same paths and bytes, same order) nothing is
// written; else they replace the kept ones and the product's update
// event says "images".
func (t *Tx) SetProductImages(productID int64, imgs []NewProductImage) (bool, error) {
	return t.SetImages(productID, 0, imgs)
}

// SetImages is SetProductImages for the pictures of one variant of the
// product (variantID), or its own (0).
func (t *Tx) SetImages(productID, variantID int64, imgs []NewProductImage) (bool, error) {
	type prepared struct {
		NewProductImage
		ct, sum string
	}
	list := make([]prepared, len(imgs))
	for i, im := range imgs {
		ct, err := crm.SniffImage(im.Data)
		if err != nil {
			return false, fmt.Errorf("store: picture %q: %w", cmp.Or(im.Path, im.Name), err)
		}
		h := sha256.Sum256(im.Data)
		list[i] = prepared{im, ct, hex.EncodeToString(h[:])}
	}
	rows, err := t.tx.QueryContext(t.ctx, "SELECT path, sha256 FROM product_images WHERE product_id = $1 AND variant_id = $2 ORDER BY position, id", productID, variantID)
	if err != nil {
		return false, fmt.Errorf("store: pictures of product %d: %w", productID, err)
	}
	var kept []string
	for rows.Next() {
		var p, sum string
		if err := rows.Scan(&p, &sum); err != nil {
			rows.Close()
			return false, fmt.Errorf("store: pictures of product %d: %w", productID, err)
		}
		kept = append(kept, p+"\x00"+sum)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("store: pictures of product %d: %w", productID, err)
	}
	same := len(kept) == len(list)
	for i := 0; same && i < len(list); i++ {
		same = kept[i] == list[i].Path+"\x00"+list[i].sum
	}
	if same {
		return false, nil
	}
	if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM product_images WHERE product_id = $1 AND variant_id = $2", productID, variantID); err != nil {
		return false, fmt.Errorf("store: pictures of product %d: %w", productID, err)
	}
	now := t.now.UnixMicro()
	for i, im := range list {
		if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO product_images (product_id, variant_id, position, path, file_name, content_type, size, sha256, data, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`, productID, variantID, i, im.Path, crm.ImageFileName(cmp.Or(im.Name, im.Path), im.ct), im.ct, len(im.Data), im.sum, im.Data, now); err != nil {
			return false, fmt.Errorf("store: picture %q of product %d: %w", cmp.Or(im.Path, im.Name), productID, err)
		}
	}
	t.Emit(EntityProduct, productID, events.Update, map[string]events.Change{"images": imagesChanged})
	return true, nil
}

// AddProductImage adds a picture after the product's others (an upload
// by a user who may change the product).
func (s *Store) AddProductImage(ctx context.Context, actor crm.Actor, productID int64, name string, data []byte) (crm.ProductImage, error) {
	ct, err := crm.SniffImage(data)
	if err != nil {
		return crm.ProductImage{}, err
	}
	h := sha256.Sum256(data)
	im := crm.ProductImage{ProductID: productID, FileName: crm.ImageFileName(name, ct), ContentType: ct, Size: int64(len(data)), SHA256: hex.EncodeToString(h[:])}
	err = s.Write(ctx, actor, func(t *Tx) error {
		if err := t.mayChangeProduct(productID); err != nil {
			return err
		}
		if err := t.tx.QueryRowContext(t.ctx, "SELECT COALESCE(MAX(position) + 1, 0) FROM product_images WHERE product_id = $1 AND variant_id = 0", productID).Scan(&im.Position); err != nil {
			return fmt.Errorf("store: pictures of product %d: %w", productID, err)
		}
		im.UpdatedAt = t.now.UnixMicro()
		if err := t.tx.QueryRowContext(t.ctx, `INSERT INTO product_images (product_id, variant_id, position, path, file_name, content_type, size, sha256, data, created_at, updated_at)
			VALUES ($1, 0, $2, '', $3, $4, $5, $6, $7, $8, $8) RETURNING id`, productID, im.Position, im.FileName, ct, im.Size, im.SHA256, data, im.UpdatedAt).Scan(&im.ID); err != nil {
			return fmt.Errorf("store: picture of product %d: %w", productID, err)
		}
		t.Emit(EntityProduct, productID, events.Update, map[string]events.Change{"images": imagesChanged})
		return nil
	})
	return im, err
}

// DeleteProductImage removes one picture of a product.
func (s *Store) DeleteProductImage(ctx context.Context, actor crm.Actor, productID, imageID int64) error {
	return s.Write(ctx, actor, func(t *Tx) error {
		if err := t.mayChangeProduct(productID); err != nil {
			return err
		}
		res, err := t.tx.ExecContext(t.ctx, "DELETE FROM product_images WHERE id = $1 AND product_id = $2", imageID, productID)
		if err != nil {
			return fmt.Errorf("store: picture %d of product %d: %w", imageID, productID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		t.Emit(EntityProduct, productID, events.Update, map[string]events.Change{"images": imagesChanged})
		return nil
	})
}

// mayChangeProduct locks the product and refuses a write its caller may
// not make (the rules of a change of the product itself).
func (t *Tx) mayChangeProduct(id int64) error {
	if err := t.lockRow(EntityProduct, id); err != nil {
		return err
	}
	p, err := productLoader.get(t.rq(), id)
	if err != nil {
		return err
	}
	return editable(t.ctx, EntityProduct, id, p.AssignedByID)
}
