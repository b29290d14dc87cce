package action

import (
	"fmt"
	"strings"
	"testing"
)

// recordCase is one entity for the tests of its record actions.
type recordCase struct {
	entity, table string
	valid         func() map[string]any
	// change is a text field update changes; keep one it leaves.
	change, keep string
	// readOnly is a field of the entity's own the server sets.
	readOnly string
	// invalid is a record the CRM refuses, naming field.
	invalid      map[string]any
	invalidField string
}

var recordCases = []recordCase{
	{entity: "lead", table: "leads", change: "comments", keep: "title", readOnly: "converted_at",
		valid: func() map[string]any {
			return map[string]any{"title": "Заявка с сайта", "name": "Иван", "phones": []any{map[string]any{"value": "8 (925) 642-42-90"}},
				"product_rows": []any{map[string]any{"name": "Баннер", "price": "1500.50", "quantity": int64(2)}}}
		},
		invalid: map[string]any{"emails": []any{map[string]any{"value": "not-an-email"}}}, invalidField: "emails[0].value"},
	{entity: "contact", table: "contacts", change: "comments", keep: "last_name", readOnly: "lead_id",
		valid:   func() map[string]any { return map[string]any{"name": "Иван", "last_name": "Петров"} },
		invalid: map[string]any{"name": "Иван", "birthdate": "31.12.1990"}, invalidField: "birthdate"},
	{entity: "account", table: "accounts", change: "comments", keep: "title", readOnly: "requisites",
		valid:   func() map[string]any { return map[string]any{"title": "ООО Ромашка", "inn": "7707083893"} },
		invalid: map[string]any{"title": "ООО Ромашка", "inn": "1234"}, invalidField: "inn"},
	{entity: "deal", table: "deals", change: "comments", keep: "title", readOnly: "won",
		valid: func() map[string]any {
			return map[string]any{"title": "Баннеры для Ромашки", "product_rows": []any{map[string]any{"name": "Баннер", "price": 100.5, "quantity": int64(3)}}}
		},
		invalid: map[string]any{"title": "Сделка", "probability": int64(150)}, invalidField: "probability"},
	{entity: "sales_order", table: "sales_orders", change: "comments", keep: "from_site", readOnly: "total",
		valid: func() map[string]any {
			return map[string]any{"from_site": "shop", "items": []any{map[string]any{"name": "Баннер", "price": "100", "quantity": int64(2)}}}
		},
		invalid: map[string]any{"items": []any{map[string]any{"name": "Баннер", "price": "1", "quantity": int64(0)}}}, invalidField: "items[0].quantity"},
	{entity: "product", table: "products", change: "description", keep: "article", readOnly: "created_by_id",
		valid: func() map[string]any {
			return map[string]any{"name": "Баннер 3×6", "article": "B-36", "price": "1500.50"}
		},
		invalid: map[string]any{"name": "   "}, invalidField: "name"},
}

func TestRecordActions(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		for _, rc := range recordCases {
			t.Run(rc.entity, func(t *testing.T) {
				e.t = t
				act := func(verb string) string { return "crm." + rc.entity + "." + verb }
				missing := fmt.Sprintf("%s 999999 not found", strings.ReplaceAll(rc.entity, "_", " "))

				events := e.count("events")
				made := e.ok(e.call(), act("create"), rc.valid())
				rid := id(made)
				if rid == 0 || e.count("events") != events+1 {
					t.Fatalf("create: %v", made)
				}
				if rc.entity != "sales_order" {
					if made["outcome"] != OutcomeCreated {
						t.Errorf("outcome: %v", made["outcome"])
					}
				}
				if _, has := made["matches"]; has {
					t.Errorf("matches without duplicate handling: %v", made)
				}
				switch rc.entity {
				case "lead":
					if made["opportunity"] != 3001.0 || made["status_id"] != "NEW" {
						t.Errorf("lead totals: %v %v", made["opportunity"], made["status_id"])
					}
				case "sales_order":
					if made["total"] != 200.0 || made["number"] == "" {
						t.Errorf("order: %v %v", made["total"], made["number"])
					}
				case "product":
					if made["active"] != true {
						t.Errorf("a product is active unless told: %v", made["active"])
					}
				}

				got := e.ok(e.call(), act("get"), map[string]any{"id": rid})
				if id(got) != rid || got[rc.keep] != made[rc.keep] {
					t.Errorf("get: %v", got)
				}

				// Update changes what is given; the rest stays.
				events = e.count("events")
				upd := e.ok(e.call(), act("update"), map[string]any{"id": rid, rc.change: "Перезвонить в пятницу"})
				if upd[rc.change] != "Перезвонить в пятницу" || upd[rc.keep] != made[rc.keep] || e.count("events") != events+1 {
					t.Errorf("update: %v", upd)
				}
				// The same update again changes nothing and logs nothing.
				e.ok(e.call(), act("update"), map[string]any{"id": rid, rc.change: "Перезвонить в пятницу"})
				if n := e.count("events"); n != events+1 {
					t.Errorf("a repeated update logged %d events", n-events-1)
				}
				// So does an update that sends lists back as they are.
				if rc.entity == "lead" || rc.entity == "deal" {
					e.ok(e.call(), act("update"), map[string]any{"id": rid, "product_rows": rc.valid()["product_rows"]})
					if n := e.count("events"); n != events+1 {
						t.Errorf("the same rows logged %d events", n-events-1)
					}
				}
				if rc.entity == "lead" {
					e.ok(e.call(), act("update"), map[string]any{"id": rid, "phones": []any{map[string]any{"value": "8 (925) 642-42-90"}}})
					if n := e.count("events"); n != events+1 {
						t.Errorf("the same phones logged %d events", n-events-1)
					}
				}

				// Bad input names its field.
				e.fails(e.call(), act("create"), map[string]any{"id": int64(5)}, "id")
				e.fails(e.call(), act("create"), map[string]any{"created_at": "2025-01-01T00:00:00Z"}, "created_at")
				e.fails(e.call(), act("create"), map[string]any{rc.readOnly: int64(1)}, rc.readOnly)
				e.fails(e.call(), act("update"), map[string]any{"id": rid, rc.readOnly: int64(1)}, rc.readOnly)
				e.fails(e.call(), act("create"), map[string]any{"nonsense": "x"}, "nonsense")
				e.fails(e.call(), act("create"), map[string]any{rc.change: int64(5)}, rc.change)
				e.fails(e.call(), act("update"), map[string]any{"id": rid, rc.change: true}, rc.change)
				e.fails(e.call(), act("create"), rc.invalid, rc.invalidField)
				e.fails(e.call(), act("update"), map[string]any{rc.change: "x"}, "id")
				e.fails(e.call(), act("update"), map[string]any{"id": "abc"}, "id")
				e.fails(e.call(), act("get"), map[string]any{"id": int64(0)}, "id")
				e.fails(e.call(), act("get"), map[string]any{}, "id")

				// Test mode reads and writes nothing.
				before := e.snapshot()
				out, err := e.run(e.dry(), act("create"), rc.valid())
				if err != nil {
					t.Fatal(err)
				}
				wantPreview(t, out, "create "+strings.ReplaceAll(rc.entity, "_", " "))
				out, err = e.run(e.dry(), act("update"), map[string]any{"id": rid, rc.change: "в тесте"})
				if err != nil {
					t.Fatal(err)
				}
				if send := wantPreview(t, out, fmt.Sprintf("update %s %d", strings.ReplaceAll(rc.entity, "_", " "), rid)); send[rc.change] != "в тесте" || send[rc.keep] != made[rc.keep] {
					t.Errorf("update preview: %v", send)
				}
				out, err = e.run(e.dry(), act("delete"), map[string]any{"id": rid})
				if err != nil {
					t.Fatal(err)
				}
				wantPreview(t, out, fmt.Sprintf("delete %s %d", strings.ReplaceAll(rc.entity, "_", " "), rid))
				e.fails(e.dry(), act("create"), rc.invalid, rc.invalidField)
				e.unchanged(before)

				// Not found.
				for _, verb := range []string{"get", "update", "delete"} {
					in := map[string]any{"id": int64(999999)}
					if verb == "update" {
						in[rc.change] = "x"
					}
					_, err := e.run(e.call(), act(verb), in)
					wantNotFound(t, err, missing)
				}

				// Delete moves into the recycle bin, once.
				events = e.count("events")
				del := e.ok(e.call(), act("delete"), map[string]any{"id": rid})
				if id(del) != rid || del["deleted"] != true || e.count("events") != events+1 {
					t.Errorf("delete: %v", del)
				}
				if again := e.ok(e.call(), act("delete"), map[string]any{"id": rid}); again["deleted"] != true || e.count("events") != events+1 {
					t.Errorf("delete again: %v", again)
				}
				if got := e.ok(e.call(), act("get"), map[string]any{"id": rid}); got["deleted_at"] == nil {
					t.Errorf("get of a deleted record: %v", got)
				}
				_, err = e.run(e.call(), act("update"), map[string]any{"id": rid, rc.change: "x"})
				wantNotFound(t, err, fmt.Sprintf("%s %d not found", strings.ReplaceAll(rc.entity, "_", " "), rid))
			})
		}
	})
}
