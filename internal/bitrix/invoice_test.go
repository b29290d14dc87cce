package bitrix_test

import (
	"net/http"
	"testing"
)

func TestInvoiceMethods(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		company := e.ok(e.json("crm.company.add", map[string]any{"fields": map[string]any{"TITLE": "ООО Ромашка"}})).str(t, "result")
		deal := e.ok(e.json("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Баннеры", "COMPANY_ID": company}})).str(t, "result")
		add := e.ok(e.json("crm.invoice.add", map[string]any{"fields": map[string]any{
			"ORDER_TOPIC": "Баннеры 3×2", "STATUS_ID": "N", "PERSON_TYPE_ID": 1, "PAY_SYSTEM_ID": 1,
			"DATE_BILL": "2026-11-23", "DATE_PAY_BEFORE": "30.11.2026", "UF_DEAL_ID": deal, "UF_COMPANY_ID": company,
			"RESPONSIBLE_ID": e.admin.UserID,
			"PRODUCT_ROWS": []any{
				map[string]any{"ID": 0, "PRODUCT_NAME": "Баннер", "QUANTITY": 2, "PRICE": 1500.50, "VAT_RATE": 0.2, "VAT_INCLUDED": "Y", "MEASURE_NAME": "шт"},
				map[string]any{"PRODUCT_NAME": "Монтаж", "QUANTITY": "1.5", "PRICE": "900", "DISCOUNT_PRICE": "100", "VAT_INCLUDED": "N", "VAT_RATE": "0.2"},
			},
		}}))
		id := add.str(t, "result")
		got := e.ok(e.form("crm.invoice.get", q("id", id)))
		golden(t, "crm.invoice.get", got)
		// 2 × 1500.50 + 1.5 × 900 with 20 % on top: 3001.00 + 1350.00 + 270.00.
		if p := got.str(t, "result", "PRICE"); p != "4621.00" {
			t.Errorf("PRICE = %s, want 4621.00", p)
		}
		if n := got.str(t, "result", "ACCOUNT_NUMBER"); n == "" {
			t.Errorf("no ACCOUNT_NUMBER")
		}

		e.ok(e.json("crm.invoice.update", map[string]any{"id": id, "fields": map[string]any{
			"STATUS_ID": "P", "PRODUCT_ROWS": []any{map[string]any{"PRODUCT_NAME": "Баннер", "QUANTITY": 1, "PRICE": 100}},
		}}))
		upd := e.ok(e.form("crm.invoice.get", q("id", id)))
		if p, s := upd.str(t, "result", "PRICE"), upd.str(t, "result", "STATUS_ID"); p != "100.00" || s != "P" {
			t.Errorf("after update PRICE %s STATUS_ID %s, want 100.00 P", p, s)
		}
		e.ok(e.json("crm.invoice.add", map[string]any{"fields": map[string]any{"ORDER_TOPIC": "Второй", "STATUS_ID": "S"}}))
		golden(t, "crm.invoice.list", e.ok(e.json("crm.invoice.list", map[string]any{
			"filter": map[string]any{"UF_DEAL_ID": deal, ">=PRICE": 50},
			"select": []string{"ID", "ORDER_TOPIC", "STATUS_ID", "PRICE", "UF_DEAL_ID", "UF_COMPANY_ID"},
			"order":  map[string]any{"ID": "DESC"},
		})))
		all := e.ok(e.json("crm.invoice.list", map[string]any{"order": map[string]any{"ID": "ASC"}, "select": []string{"ID"}}))
		if total := all.str(t, "total"); total != "2" {
			t.Errorf("total = %s, want 2", total)
		}
		star := e.ok(e.json("crm.invoice.list", map[string]any{"filter": map[string]any{"ID": id}}))
		if _, ok := star.Doc.Lookup("result", "0", "PRODUCT_ROWS"); ok {
			t.Errorf("crm.invoice.list answers PRODUCT_ROWS unasked: %s", star.Body)
		}
		if _, ok := star.Doc.Lookup("result", "0", "ORDER_TOPIC"); !ok {
			t.Errorf("crm.invoice.list without select lacks ORDER_TOPIC: %s", star.Body)
		}
		rows := e.ok(e.json("crm.invoice.list", map[string]any{"filter": map[string]any{"ID": id}, "select": []string{"ID", "PRODUCT_ROWS"}}))
		if v, ok := rows.Doc.Lookup("result", "0", "PRODUCT_ROWS", "0", "PRODUCT_NAME"); !ok || v != "Баннер" {
			t.Errorf("crm.invoice.list with PRODUCT_ROWS selected: %s", rows.Body)
		}

		fields := e.ok(e.get("crm.invoice.fields", ""))
		if typ := fields.str(t, "result", "UF_DEAL_ID", "type"); typ != "integer" {
			t.Errorf("crm.invoice.fields UF_DEAL_ID type %q", typ)
		}
		if ro := fields.str(t, "result", "PRICE", "isReadOnly"); ro != "true" {
			t.Errorf("crm.invoice.fields PRICE isReadOnly %q", ro)
		}
		second := all.str(t, "result", "1", "ID")
		e.ok(e.form("crm.invoice.delete", q("id", second)))
		e.fails(e.form("crm.invoice.get", q("id", second)), http.StatusBadRequest, "", "Not found")

		for _, c := range []struct {
			name   string
			method string
			body   any
			desc   string
		}{
			{"not found", "crm.invoice.get", map[string]any{"id": 99999}, "Not found"},
			{"update not found", "crm.invoice.update", map[string]any{"id": 99999, "fields": map[string]any{"STATUS_ID": "P"}}, "Not found"},
			{"bad id", "crm.invoice.get", map[string]any{"id": "x"}, "ID is not defined or invalid"},
			{"bad status", "crm.invoice.add", map[string]any{"fields": map[string]any{"STATUS_ID": "ZZ"}}, "Field STATUS_ID"},
			{"bad deal", "crm.invoice.add", map[string]any{"fields": map[string]any{"UF_DEAL_ID": 99999}}, "Field UF_DEAL_ID"},
			{"bad date", "crm.invoice.add", map[string]any{"fields": map[string]any{"DATE_BILL": "вчера"}}, "Field DATE_BILL"},
			{"bad price", "crm.invoice.add", map[string]any{"fields": map[string]any{"PRODUCT_ROWS": []any{map[string]any{"PRODUCT_NAME": "X", "PRICE": "много"}}}}, "Field PRODUCT_ROWS[0][PRICE]"},
			{"bad rate", "crm.invoice.add", map[string]any{"fields": map[string]any{"PRODUCT_ROWS": []any{map[string]any{"PRODUCT_NAME": "X", "PRICE": 1, "VAT_RATE": "двадцать"}}}}, "Field PRODUCT_ROWS[0][VAT_RATE]"},
			{"bad quantity", "crm.invoice.add", map[string]any{"fields": map[string]any{"PRODUCT_ROWS": []any{map[string]any{"PRODUCT_NAME": "X", "PRICE": 1, "QUANTITY": "-1"}}}}, "Field PRODUCT_ROWS[0][QUANTITY]"},
			{"due before bill", "crm.invoice.add", map[string]any{"fields": map[string]any{"DATE_BILL": "2026-11-23", "DATE_PAY_BEFORE": "2026-11-01"}}, "Field DATE_PAY_BEFORE"},
		} {
			t.Run(c.name, func(t *testing.T) {
				e.with(t).fails(e.with(t).json(c.method, c.body), http.StatusBadRequest, "", c.desc)
			})
		}
	})
}
