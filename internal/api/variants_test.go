package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

// Line items of orders, deals and invoices take and give back variant_id;
// a variant of another product is refused with 422 naming the row and
// field, and nothing is written.
func TestLineItemVariantAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		var shirt, cap crm.Product
		decodeInto := func(r resp, dst any) { r.json(t, dst) }
		decodeInto(must(t, e.do("POST", "/api/v1/products", `{"name":"Футболка","price":"1000"}`), 201), &shirt)
		decodeInto(must(t, e.do("POST", "/api/v1/products", `{"name":"Кепка","price":"500"}`), 201), &cap)
		var red, capRed int64
		err := e.app.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if err := tx.QueryRowContext(ctx, `INSERT INTO product_variants (product_id, id1c, name, characteristics, price, currency, stock)
				VALUES ($1, 'g1#c1', 'Футболка (красная)', '[{"name":"Цвет","value":"красный"}]', 120000, 'RUB', 3000) RETURNING id`, shirt.ID).Scan(&red); err != nil {
				return err
			}
			return tx.QueryRowContext(ctx, `INSERT INTO product_variants (product_id, id1c, name, characteristics, price, currency, stock)
				VALUES ($1, 'g2#c1', 'Кепка (красная)', '[]', 55000, 'RUB', 1000) RETURNING id`, cap.ID).Scan(&capRed)
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ path, field, head string }{{"sales-orders", "items", `"comments":"x"`}, {"invoices", "items", `"comments":"x"`}, {"deals", "product_rows", `"title":"x"`}} {
			t.Run(tc.path, func(t *testing.T) {
				body := fmt.Sprintf(`{%s,"%s":[{"product_id":%d,"variant_id":%d,"price":"1200","quantity":1}]}`, tc.head, tc.field, shirt.ID, red)
				r := must(t, e.do("POST", "/api/v1/"+tc.path, body), 201)
				var got map[string]any
				r.json(t, &got)
				rows, _ := got[tc.field].([]any)
				if len(rows) != 1 || rows[0].(map[string]any)["variant_id"] != float64(red) {
					t.Fatalf("created %s: %s", tc.path, r.Body)
				}
				id := int64(got["id"].(float64))
				// GET gives it back; PATCH to another product's variant is refused.
				if g := e.do("GET", fmt.Sprintf("/api/v1/%s/%d", tc.path, id), nil); !strings.Contains(string(g.Body), fmt.Sprintf(`"variant_id":%d`, red)) {
					t.Fatalf("GET lacks variant_id: %s", g.Body)
				}
				bad := fmt.Sprintf(`{"%s":[{"name":"x","price":"1","quantity":1},{"product_id":%d,"variant_id":%d,"price":"1200","quantity":1}]}`, tc.field, shirt.ID, capRed)
				r = e.do("PATCH", fmt.Sprintf("/api/v1/%s/%d", tc.path, id), bad)
				checkErr(t, r, 422, "validation_failed", tc.field+"[1].variant_id", "")
				if !strings.Contains(string(r.Body), fmt.Sprintf("belongs to product %d", cap.ID)) {
					t.Errorf("message does not say whose variant it is: %s", r.Body)
				}
				r = e.do("POST", "/api/v1/"+tc.path, fmt.Sprintf(`{%s,"%s":[{"product_id":%d,"variant_id":999999,"quantity":1}]}`, tc.head, tc.field, shirt.ID))
				checkErr(t, r, 422, "validation_failed", tc.field+"[0].variant_id", "")
				// The refused PATCH changed nothing.
				if g := e.do("GET", fmt.Sprintf("/api/v1/%s/%d", tc.path, id), nil); !strings.Contains(string(g.Body), fmt.Sprintf(`"variant_id":%d`, red)) {
					t.Fatalf("refused PATCH changed the row: %s", g.Body)
				}
			})
		}
	})
}
