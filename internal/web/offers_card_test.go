package web_test

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// A product's card shows its variants, prices per type and stock per
// warehouse.
func TestProductCardOffers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		p, err := e.app.Store.CreateProduct(ctx, e.admin, crm.Product{Name: "Футболка мужская", Article: "TS-1"})
		if err != nil {
			t.Fatal(err)
		}
		err = d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			var vid int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO product_variants (product_id, id1c, name, characteristics, price, currency, stock)
				VALUES ($1, 'g#c1', 'Футболка мужская (XL)', '[{"name":"Размер","value":"XL"}]', 99000, 'RUB', 20000) RETURNING id`, p.ID).Scan(&vid); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO product_prices (product_id, variant_id, price_type, price, currency) VALUES ($1, $2, 'Оптовая', 80000, 'RUB')`, p.ID, vid); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO product_stocks (product_id, variant_id, warehouse, quantity) VALUES ($1, $2, 'Основной склад', 20000)`, p.ID, vid)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		card := b.get("/e/product/" + strconv.FormatInt(p.ID, 10))
		for _, want := range []string{`id="product-variants"`, "Футболка мужская (XL)", "Размер: XL", "990.00 RUB", "Оптовая", "800.00 RUB", "Основной склад", "Варианты и цены"} {
			if !strings.Contains(card.Body, want) {
				t.Errorf("card lacks %q", want)
			}
		}
		// A product without any shows no such section.
		q, _ := e.app.Store.CreateProduct(ctx, e.admin, crm.Product{Name: "Простой товар"})
		if card := b.get("/e/product/" + strconv.FormatInt(q.ID, 10)); strings.Contains(card.Body, `id="product-offers"`) {
			t.Error("empty offers section shown")
		}
	})
}
