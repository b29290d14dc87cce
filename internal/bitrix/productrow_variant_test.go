package bitrix_test

import (
	"context"
	"database/sql"
	"strconv"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

// Bitrix24's product rows have no variant: changing a row's quantity
// (crm.item.productrow.update) or setting the rows with its id
// (crm.item.productrow.set) keeps the variant chosen in Obmen while the
// row keeps its product.
func TestProductRowKeepsVariant(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		p, err := e.s.CreateProduct(ctx, e.admin, crm.Product{Name: "Футболка", Price: 100000})
		if err != nil {
			t.Fatal(err)
		}
		var vid int64
		if err := e.d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, `INSERT INTO product_variants (product_id, id1c, name, characteristics, price, currency, stock)
				VALUES ($1, 'g#c', 'Футболка (XL)', '[]', 120000, 'RUB', 1000) RETURNING id`, p.ID).Scan(&vid)
		}); err != nil {
			t.Fatal(err)
		}
		d, err := e.s.CreateDeal(ctx, e.admin, crm.Deal{Title: "Сделка", ProductRows: []crm.LineItem{{ProductID: p.ID, VariantID: vid, Price: 120000, Quantity: 1000}}})
		if err != nil {
			t.Fatal(err)
		}
		rowID := d.ProductRows[0].ID
		e.ok(e.json("crm.item.productrow.update", map[string]any{"id": rowID, "fields": map[string]any{"quantity": 3}}))
		got, err := e.s.GetDeal(ctx, d.ID)
		if err != nil || len(got.ProductRows) != 1 || got.ProductRows[0].VariantID != vid || got.ProductRows[0].Quantity != 3000 {
			t.Fatalf("after update: %v %+v", err, got.ProductRows)
		}
		e.ok(e.json("crm.item.productrow.set", map[string]any{"ownerId": d.ID, "ownerType": "D", "productRows": []map[string]any{
			{"id": strconv.FormatInt(rowID, 10), "productId": p.ID, "price": 1200, "quantity": 2},
			{"productName": "Доставка", "price": 400, "quantity": 1}}}))
		got, err = e.s.GetDeal(ctx, d.ID)
		if err != nil || len(got.ProductRows) != 2 || got.ProductRows[0].VariantID != vid || got.ProductRows[1].VariantID != 0 {
			t.Fatalf("after set: %v %+v", err, got.ProductRows)
		}
	})
}
