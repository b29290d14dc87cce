package bitrix_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

// TestProducts runs crm.product.* over Obmen's products.
func TestProducts(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		cat, err := e.s.CreateCatalog(ctx, e.admin, crm.Catalog{Name: "Печать"})
		if err != nil {
			t.Fatal(err)
		}
		section := strconv.FormatInt(cat.ID, 10)

		golden(t, "crm.product.fields", e.ok(e.get("crm.product.fields", "")))

		// A client finds the ids of a rate and a unit as on a portal.
		vats := e.ok(e.get("crm.vat.list", ""))
		conform(t, "crm.vat.list", vats)
		golden(t, "crm.vat.list", vats)
		golden(t, "crm.measure.list", e.ok(e.get("crm.measure.list", "")))
		vat20 := ""
		for i := range 4 {
			if vats.str(t, "result", strconv.Itoa(i), "RATE") == "20.00" {
				vat20 = vats.str(t, "result", strconv.Itoa(i), "ID")
			}
		}
		if vat20 != "4" {
			t.Fatalf("crm.vat.list gives VAT 20%% the id %q, the product below is written with 4", vat20)
		}

		add := e.ok(e.json("crm.product.add", map[string]any{"fields": map[string]any{
			"NAME": "Фотокнига 20×20", "PRICE": 1500.5, "CURRENCY_ID": "RUB", "XML_ID": "FB-2020", "DESCRIPTION": "Твёрдая обложка",
			"SECTION_ID": section, "VAT_ID": "4", "VAT_INCLUDED": "Y", "MEASURE": "5", "SORT": 100, "ORIGINATOR_ID": "1c", "ORIGIN_ID": "x",
		}}))
		golden(t, "crm.product.add", add)
		id := idOf(t, add)
		got := e.ok(e.get("crm.product.get", "id="+id))
		golden(t, "crm.product.get", got)
		expect(t, got, map[string]string{"result/ID": id, "result/NAME": "Фотокнига 20×20", "result/PRICE": "1500.50",
			"result/XML_ID": "FB-2020", "result/SECTION_ID": section, "result/VAT_ID": "4", "result/VAT_INCLUDED": "Y",
			"result/MEASURE": "5", "result/ACTIVE": "Y", "result/SORT": "500", "result/CURRENCY_ID": "RUB"})
		p, err := e.s.GetProduct(ctx, mustInt(t, id))
		if err != nil || p.Article != "FB-2020" || p.Unit != "шт" || p.VATRate == nil || *p.VATRate != 2000 || !p.VATIncluded || len(p.ExternalIDs) != 0 {
			t.Fatalf("stored as %+v (%v)", p, err)
		}

		// Defaults: active, no VAT, no unit.
		plain := idOf(t, e.ok(e.form("crm.product.add", q("fields[NAME]", "Доставка", "fields[PRICE]", "350"))))
		expect(t, e.ok(e.get("crm.product.get", "id="+plain)), map[string]string{"result/ACTIVE": "Y", "result/VAT_ID": "1",
			"result/VAT_INCLUDED": "N", "result/MEASURE": "", "result/SECTION_ID": "", "result/XML_ID": ""})

		// Update changes the fields sent only.
		e.ok(e.form("crm.product.update", "id="+plain+"&"+q("fields[ACTIVE]", "N", "fields[PRICE]", "400", "fields[VAT_ID]", "3")))
		expect(t, e.ok(e.get("crm.product.get", "id="+plain)), map[string]string{"result/ACTIVE": "N", "result/PRICE": "400.00",
			"result/VAT_ID": "3", "result/NAME": "Доставка"})

		// Lists: filter, order, select, paging.
		list := e.ok(e.get("crm.product.list", q("order[PRICE]", "DESC", "select[]", "ID", "select[]", "NAME", "select[]", "PRICE")))
		golden(t, "crm.product.list", list)
		expect(t, list, map[string]string{"total": "2", "result/0/ID": id, "result/1/ID": plain})
		expect(t, e.ok(e.get("crm.product.list", q("filter[ACTIVE]", "Y"))), map[string]string{"total": "1", "result/0/ID": id})
		expect(t, e.ok(e.get("crm.product.list", q("filter[SECTION_ID]", section))), map[string]string{"total": "1", "result/0/ID": id})
		expect(t, e.ok(e.get("crm.product.list", q("filter[%NAME]", "Достав"))), map[string]string{"total": "1", "result/0/ID": plain})
		expect(t, e.ok(e.get("crm.product.list", q("filter[<PRICE]", "1000"))), map[string]string{"total": "1", "result/0/ID": plain})
		expect(t, e.ok(e.get("crm.product.list", q("filter[XML_ID]", "FB-2020"))), map[string]string{"total": "1", "result/0/ID": id})
		for i := 0; i < 50; i++ {
			e.ok(e.form("crm.product.add", q("fields[NAME]", "Товар "+strconv.Itoa(i))))
		}
		page := e.ok(e.get("crm.product.list", q("select[]", "ID")))
		expect(t, page, map[string]string{"total": "52", "next": "50"})
		expect(t, e.ok(e.get("crm.product.list", q("start", "50", "select[]", "ID"))), map[string]string{"total": "52"})

		// Errors name the field.
		e.fails(e.json("crm.product.add", map[string]any{"fields": map[string]any{"PRICE": 10}}), 400, "", "NAME")
		e.fails(e.json("crm.product.add", map[string]any{"fields": map[string]any{"NAME": "x", "PRICE": "дёшево"}}), 400, "", "Field PRICE")
		e.fails(e.json("crm.product.add", map[string]any{"fields": map[string]any{"NAME": "x", "PRICE": -1}}), 400, "", "Field PRICE")
		e.fails(e.json("crm.product.add", map[string]any{"fields": map[string]any{"NAME": "x", "VAT_ID": "99"}}), 400, "", "Field VAT_ID")
		e.fails(e.json("crm.product.add", map[string]any{"fields": map[string]any{"NAME": "x", "MEASURE": "99"}}), 400, "", "Field MEASURE")
		e.fails(e.json("crm.product.add", map[string]any{"fields": map[string]any{"NAME": "x", "SECTION_ID": "999999"}}), 400, "", "SECTION_ID")
		e.fails(e.json("crm.product.add", map[string]any{"fields": map[string]any{"NAME": "x", "CURRENCY_ID": "XXX"}}), 400, "", "CURRENCY_ID")
		e.fails(e.get("crm.product.list", q("filter[NOPE]", "1")), 400, "", "NOPE")
		e.fails(e.get("crm.product.get", "id=999999"), 400, "", "Not found")
		e.fails(e.get("crm.product.get", "id=x"), 400, "", "ID is not defined")
		e.fails(e.form("crm.product.update", "id=999999&"+q("fields[NAME]", "y")), 400, "", "Not found")

		// Delete sends it to the recycle bin.
		e.ok(e.get("crm.product.delete", "id="+plain))
		e.fails(e.get("crm.product.get", "id="+plain), 400, "", "Not found")
		e.fails(e.get("crm.product.delete", "id="+plain), 400, "", "Not found")
		expect(t, e.ok(e.get("crm.product.list", q("filter[ID]", plain))), map[string]string{"total": "0"})
	})
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
