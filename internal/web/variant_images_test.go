package web_test

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The card's picture grid names the variant a picture belongs to (1C
// sends a characteristic's pictures in its offer): by the variant's name,
// or by its characteristics when it has none; the product's own pictures
// name no variant.
func TestProductCardVariantPictures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		p, err := e.app.Store.CreateProduct(ctx, e.admin, crm.Product{Name: "Футболка мужская", Article: "TS-1"})
		if err != nil {
			t.Fatal(err)
		}
		var named, unnamed int64
		err = d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if err := tx.QueryRowContext(ctx, `INSERT INTO product_variants (product_id, id1c, name, characteristics, price, currency, stock)
				VALUES ($1, 'g#c1', 'Футболка мужская (XL)', '[{"name":"Размер","value":"XL"}]', 99000, 'RUB', 20000) RETURNING id`, p.ID).Scan(&named); err != nil {
				return err
			}
			return tx.QueryRowContext(ctx, `INSERT INTO product_variants (product_id, id1c, name, characteristics, price, currency, stock)
				VALUES ($1, 'g#c2', '', '[{"name":"Цвет","value":"Красный"},{"name":"Размер","value":"M"}]', 99000, 'RUB', 0) RETURNING id`, p.ID).Scan(&unnamed)
		})
		if err != nil {
			t.Fatal(err)
		}
		card := "/e/product/" + strconv.FormatInt(p.ID, 10)
		b := e.browser()
		b.signIn()
		pg := b.uploadFiles(card+"/images", map[string][]byte{"общая.png": smallPNG(t, 1), "xl.png": smallPNG(t, 2), "красная.png": smallPNG(t, 3)},
			"общая.png", "xl.png", "красная.png")
		if pg.Status != http.StatusSeeOther {
			t.Fatalf("upload: %d %s", pg.Status, excerpt(pg.Body, `role="alert"`))
		}
		ims, err := e.app.Store.ProductImages(ctx, p.ID)
		if err != nil || len(ims) != 3 {
			t.Fatalf("pictures: %v %+v", err, ims)
		}
		// As the 1C exchange keeps a variant's pictures.
		err = d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			for _, x := range []struct{ image, variant int64 }{{ims[1].ID, named}, {ims[2].ID, unnamed}} {
				if _, err := tx.ExecContext(ctx, `UPDATE product_images SET variant_id = $1 WHERE id = $2`, x.variant, x.image); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		body := b.get(card).Body
		grid := body[strings.Index(body, `class="image-grid"`)+1:]
		grid = grid[:strings.Index(grid, "</ul>")]
		items := strings.Split(grid, "<li>")
		if len(items) < 4 {
			t.Fatalf("the grid has %d pictures: %s", len(items)-1, grid)
		}
		for i, want := range []string{"", "Вариант: Футболка мужская (XL)", "Вариант: Цвет: Красный, Размер: M"} {
			li := items[i+1]
			if want == "" {
				if strings.Contains(li, "image-variant") {
					t.Errorf("the product's own picture names a variant: %s", li)
				}
				continue
			}
			if !strings.Contains(li, `<small class="image-variant"`) || !strings.Contains(li, want) {
				t.Errorf("picture %d lacks %q: %s", i, want, li)
			}
		}
	})
}
