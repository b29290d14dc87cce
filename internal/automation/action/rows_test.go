package action

import (
	"fmt"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

func TestSetProductRows(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		p, err := e.s.CreateProduct(e.ctx, e.admin, crm.Product{Name: "Штендер", Unit: "шт", Price: 100000, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		rows := func() []any {
			return []any{
				map[string]any{"name": "Баннер 3×6", "price": "1500.50", "quantity": 2.5, "unit": "м2", "vat_rate": int64(20), "vat_included": true},
				map[string]any{"product_id": p.ID, "price": "1000", "quantity": int64(1)},
			}
		}
		for _, c := range []struct {
			entity, rows, total string
			create              map[string]any
		}{
			{"lead", "product_rows", "opportunity", map[string]any{"title": "Баннеры"}},
			{"deal", "product_rows", "opportunity", map[string]any{"title": "Баннеры"}},
			{"sales_order", "items", "total", map[string]any{"from_site": "shop"}},
		} {
			t.Run(c.entity, func(t *testing.T) {
				e.t = t
				set := "crm." + c.entity + ".product_rows.set"
				rid := id(e.ok(e.call(), "crm."+c.entity+".create", c.create))

				before := e.snapshot()
				res, err := e.run(e.dry(), set, map[string]any{"id": rid, "rows": rows()})
				if err != nil {
					t.Fatal(err)
				}
				send := wantPreview(t, res, fmt.Sprintf("update %s %d", strings.ReplaceAll(c.entity, "_", " "), rid))
				if send[c.total] != 4751.25 {
					t.Errorf("preview total: %v", send[c.total])
				}
				e.unchanged(before)

				out := e.ok(e.call(), set, map[string]any{"id": rid, "rows": rows()})
				items, _ := out[c.rows].([]any)
				if out[c.total] != 4751.25 || len(items) != 2 || items[1].(map[string]any)["name"] != "Штендер" || e.count("events") != before["events"]+1 {
					t.Fatalf("set: %v", out)
				}
				// The same rows again: nothing changes, nothing is logged.
				again := e.ok(e.call(), set, map[string]any{"id": rid, "rows": rows()})
				if e.count("events") != before["events"]+1 || fmt.Sprint(again[c.rows]) != fmt.Sprint(out[c.rows]) {
					t.Errorf("the same rows logged a change")
				}
				// An empty list clears them.
				if out := e.ok(e.call(), set, map[string]any{"id": rid, "rows": []any{}}); len(out[c.rows].([]any)) != 0 || out[c.total] != 0.0 {
					t.Errorf("clear: %v", out)
				}

				e.fails(e.call(), set, map[string]any{"id": rid}, "rows")
				e.fails(e.call(), set, map[string]any{"id": rid, "rows": []any{map[string]any{"name": "x", "price": "1", "quantity": int64(0)}}}, "rows[0].quantity")
				e.fails(e.call(), set, map[string]any{"id": rid, "rows": []any{map[string]any{"product_id": int64(999999), "quantity": int64(1)}}}, "rows[0].product_id")
				e.fails(e.call(), set, map[string]any{"id": rid, "rows": []any{map[string]any{"price": "abc"}}}, "rows.price")
				_, err = e.run(e.call(), set, map[string]any{"id": int64(999999), "rows": rows()})
				wantNotFound(t, err, strings.ReplaceAll(c.entity, "_", " ")+" 999999 not found")
			})
		}
	})
}
