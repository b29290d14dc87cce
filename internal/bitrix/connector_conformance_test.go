package bitrix_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestConnectorMethods plays, one table row a call, exactly the calls
// Obmen's own Bitrix24 connector (internal/connector/bitrix24, issue 16)
// makes of a portal, and checks the values read back against what
// b24restdocs documents for them: multifield updates by ID
// (api-reference/crm/auxiliary/multifield), findbycomm per entity type
// and phone spelling (crm-duplicate-find-by-comm.md), deals in a
// pipeline with their stage "C{n}:…" (crm-deal-add.md, crm-status-list.md),
// source, begin date and sum, leads with the seed's fields
// (crm-lead-add.md), requisites with OGRN and bank details.
func TestConnectorMethods(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		pipe, err := e.s.CreatePipeline(context.Background(), e.admin, crm.Pipeline{Name: "Заказы сайта", Sort: 20})
		if err != nil {
			t.Fatal(err)
		}
		cat := strconv.FormatInt(pipe.ID, 10)
		admin := strconv.FormatInt(e.admin.UserID, 10)
		ids := map[string]string{}
		// sub fills {name} with ids made by earlier rows.
		sub := func(v any) any {
			s, ok := v.(string)
			if !ok || len(s) < 3 || s[0] != '{' {
				return v
			}
			if id, ok := ids[s[1:len(s)-1]]; ok {
				return id
			}
			return v
		}
		var fill func(v any) any
		fill = func(v any) any {
			switch x := v.(type) {
			case map[string]any:
				out := map[string]any{}
				for k, vv := range x {
					out[k] = fill(vv)
				}
				return out
			case []any:
				out := make([]any, len(x))
				for i, vv := range x {
					out[i] = fill(vv)
				}
				return out
			}
			return sub(v)
		}
		for _, tc := range []struct {
			name   string
			method string
			params map[string]any
			save   string            // keep result as ids[save]
			want   map[string]string // path → value ({name} filled)
			fails  string            // error_description part, for a refused call
		}{
			{name: "company", method: "crm.company.add", save: "company", params: map[string]any{"fields": map[string]any{
				"TITLE": "ООО «Фотомир»", "ASSIGNED_BY_ID": admin,
				"PHONE": []any{map[string]any{"VALUE": "+7 (812) 555-12-34", "VALUE_TYPE": "WORK"}},
				"EMAIL": []any{map[string]any{"VALUE": "office@fotomir.ru", "VALUE_TYPE": "WORK"}}}}},
			{name: "contact", method: "crm.contact.add", save: "contact", params: map[string]any{"fields": map[string]any{
				"NAME": "Ольга", "LAST_NAME": "Кравец", "COMPANY_ID": "{company}", "ASSIGNED_BY_ID": admin,
				"PHONE": []any{map[string]any{"VALUE": "+79215550011", "VALUE_TYPE": "MOBILE"}},
				"EMAIL": []any{map[string]any{"VALUE": "olga@fotomir.ru", "VALUE_TYPE": "HOME"}}}}},
			{name: "contact read back", method: "crm.contact.get", params: map[string]any{"id": "{contact}"}, want: map[string]string{
				"result/PHONE/0/VALUE": "+79215550011", "result/PHONE/0/VALUE_TYPE": "MOBILE", "result/PHONE/0/TYPE_ID": "PHONE",
				"result/EMAIL/0/VALUE": "olga@fotomir.ru", "result/EMAIL/0/VALUE_TYPE": "HOME", "result/EMAIL/0/TYPE_ID": "EMAIL",
				"result/COMPANY_ID": "{company}", "result/HAS_PHONE": "Y", "result/HAS_EMAIL": "Y"}},
			// findbycomm: every spelling of a Russian mobile, each entity type.
			{name: "find contact by 8-spelling", method: "crm.duplicate.findbycomm", params: map[string]any{"entity_type": "CONTACT", "type": "PHONE", "values": []any{"8 (921) 555-00-11"}},
				want: map[string]string{"result/CONTACT/0": "{contact}"}},
			{name: "find contact by e-mail in capitals", method: "crm.duplicate.findbycomm", params: map[string]any{"entity_type": "CONTACT", "type": "EMAIL", "values": []any{"OLGA@FOTOMIR.RU"}},
				want: map[string]string{"result/CONTACT/0": "{contact}"}},
			{name: "find company by phone", method: "crm.duplicate.findbycomm", params: map[string]any{"entity_type": "COMPANY", "type": "PHONE", "values": []any{"88125551234"}},
				want: map[string]string{"result/COMPANY/0": "{company}"}},
			{name: "findbycomm without type", method: "crm.duplicate.findbycomm", params: map[string]any{"values": []any{"1"}}, fails: "Communication type is not defined"},
			{name: "findbycomm with another type", method: "crm.duplicate.findbycomm", params: map[string]any{"type": "WEB", "values": []any{"1"}}, fails: "Communication type 'WEB' is not supported in current context"},
			{name: "findbycomm without values", method: "crm.duplicate.findbycomm", params: map[string]any{"type": "PHONE"}, fails: "Communication values is not defined"},
			// Multifields: an item with ID changes that value, one without
			// adds, ID with an empty VALUE deletes.
			{name: "update phone by ID", method: "crm.contact.update", params: map[string]any{"id": "{contact}", "fields": map[string]any{
				"PHONE": []any{map[string]any{"ID": "{phone}", "VALUE": "+79215550022", "VALUE_TYPE": "MOBILE"}}}}},
			{name: "one phone, changed", method: "crm.contact.get", params: map[string]any{"id": "{contact}"}, want: map[string]string{
				"result/PHONE/0/VALUE": "+79215550022", "result/PHONE/0/ID": "{phone}", "result/EMAIL/0/VALUE_TYPE": "HOME"}},
			{name: "add a second phone", method: "crm.contact.update", params: map[string]any{"id": "{contact}", "fields": map[string]any{
				"PHONE": []any{map[string]any{"VALUE": "+74951112233", "VALUE_TYPE": "HOME"}}}}},
			{name: "two phones", method: "crm.contact.get", params: map[string]any{"id": "{contact}"}, want: map[string]string{
				"result/PHONE/0/VALUE": "+79215550022", "result/PHONE/1/VALUE": "+74951112233", "result/PHONE/1/VALUE_TYPE": "HOME"}},
			{name: "delete the first phone", method: "crm.contact.update", params: map[string]any{"id": "{contact}", "fields": map[string]any{
				"PHONE": []any{map[string]any{"ID": "{phone}", "VALUE": ""}}}}},
			{name: "one phone left", method: "crm.contact.get", params: map[string]any{"id": "{contact}"}, want: map[string]string{
				"result/PHONE/0/VALUE": "+74951112233"}},
			// Requisites of the company, then its bank details.
			{name: "requisite", method: "crm.requisite.add", save: "rq", params: map[string]any{"fields": map[string]any{
				"ENTITY_TYPE_ID": 4, "ENTITY_ID": "{company}", "PRESET_ID": 1, "NAME": "Реквизиты", "RQ_COMPANY_NAME": "ООО «Фотомир»",
				"RQ_INN": "7707083893", "RQ_KPP": "773601001", "RQ_OGRN": "1027700132195"}}},
			{name: "requisite read back", method: "crm.requisite.get", params: map[string]any{"id": "{rq}"}, want: map[string]string{
				"result/ENTITY_TYPE_ID": "4", "result/ENTITY_ID": "{company}", "result/PRESET_ID": "1", "result/RQ_INN": "7707083893",
				"result/RQ_KPP": "773601001", "result/RQ_OGRN": "1027700132195"}},
			{name: "bank details", method: "crm.requisite.bankdetail.add", save: "bank", params: map[string]any{"fields": map[string]any{
				"ENTITY_ID": "{rq}", "NAME": "Счёт", "RQ_BANK_NAME": "ПАО Сбербанк", "RQ_BIK": "044525225",
				"RQ_ACC_NUM": "40702810938000000001", "RQ_COR_ACC_NUM": "30101810400000000225"}}},
			{name: "bank details read back", method: "crm.requisite.bankdetail.get", params: map[string]any{"id": "{bank}"}, want: map[string]string{
				"result/ENTITY_ID": "{rq}", "result/RQ_BIK": "044525225", "result/RQ_ACC_NUM": "40702810938000000001"}},
			// The deal in the chosen pipeline and stage.
			{name: "stages of the pipeline", method: "crm.status.list", params: map[string]any{"filter": map[string]any{"ENTITY_ID": "DEAL_STAGE_" + cat}},
				want: map[string]string{"result/0/STATUS_ID": "C" + cat + ":NEW", "result/0/ENTITY_ID": "DEAL_STAGE_" + cat, "result/0/CATEGORY_ID": cat}},
			{name: "deal", method: "crm.deal.add", save: "deal", params: map[string]any{"fields": map[string]any{
				"TITLE": "Заказ №77", "CATEGORY_ID": cat, "STAGE_ID": "C" + cat + ":NEW", "CONTACT_ID": "{contact}", "COMPANY_ID": "{company}",
				"ASSIGNED_BY_ID": admin, "OPPORTUNITY": "4500.50", "CURRENCY_ID": "RUB", "SOURCE_ID": "WEB",
				"SOURCE_DESCRIPTION": "shop.example.ru", "BEGINDATE": "2026-12-01T00:00:00+03:00", "COMMENTS": "https://shop.example.ru/orders/77"}}},
			{name: "deal read back", method: "crm.deal.get", params: map[string]any{"id": "{deal}"}, want: map[string]string{
				"result/CATEGORY_ID": cat, "result/STAGE_ID": "C" + cat + ":NEW", "result/OPPORTUNITY": "4500.50", "result/CURRENCY_ID": "RUB",
				"result/SOURCE_ID": "WEB", "result/SOURCE_DESCRIPTION": "shop.example.ru", "result/BEGINDATE": "2026-12-01T00:00:00+03:00",
				"result/ASSIGNED_BY_ID": admin, "result/CONTACT_ID": "{contact}", "result/COMPANY_ID": "{company}",
				"result/COMMENTS": "https://shop.example.ru/orders/77"}},
			{name: "a stage of another pipeline", method: "crm.deal.update", params: map[string]any{"id": "{deal}", "fields": map[string]any{"STAGE_ID": "WON"}},
				fails: "STAGE_ID"},
			{name: "product rows", method: "crm.deal.productrows.set", params: map[string]any{"id": "{deal}", "rows": []any{
				map[string]any{"PRODUCT_NAME": "Фотокнига", "PRICE": "2000.25", "QUANTITY": 2},
				map[string]any{"PRODUCT_NAME": "Доставка", "PRICE": 500, "QUANTITY": 1}}},
				want: map[string]string{"result": "true"}},
			{name: "product rows read back", method: "crm.deal.productrows.get", params: map[string]any{"id": "{deal}"}, want: map[string]string{
				"result/0/PRODUCT_NAME": "Фотокнига", "result/0/PRICE": "2000.25", "result/0/QUANTITY": "2", "result/1/OWNER_TYPE": "D", "result/1/OWNER_ID": "{deal}"}},
			{name: "move the stage", method: "crm.deal.update", params: map[string]any{"id": "{deal}", "fields": map[string]any{"STAGE_ID": "C" + cat + ":WON"}},
				want: map[string]string{"result": "true"}},
			{name: "moved", method: "crm.deal.get", params: map[string]any{"id": "{deal}"}, want: map[string]string{
				"result/STAGE_ID": "C" + cat + ":WON", "result/STAGE_SEMANTIC_ID": "S", "result/OPPORTUNITY": "4500.50"}},
			{name: "timeline comment", method: "crm.timeline.comment.add", save: "comment", params: map[string]any{"fields": map[string]any{
				"ENTITY_ID": "{deal}", "ENTITY_TYPE": "deal", "COMMENT": "Клиент просит позвонить"}}},
			// New clients as leads (seed 002).
			{name: "lead", method: "crm.lead.add", save: "lead", params: map[string]any{"fields": map[string]any{
				"TITLE": "Заказ №78", "NAME": "Илья", "LAST_NAME": "Мохов", "COMPANY_TITLE": "ИП Мохов", "SOURCE_ID": "WEB",
				"SOURCE_DESCRIPTION": "shop.example.ru", "ASSIGNED_BY_ID": admin, "OPPORTUNITY": "990", "CURRENCY_ID": "RUB",
				"COMMENTS": "https://shop.example.ru/orders/78",
				"PHONE":    []any{map[string]any{"VALUE": "+79035550000", "VALUE_TYPE": "MOBILE"}},
				"EMAIL":    []any{map[string]any{"VALUE": "ilya@example.ru", "VALUE_TYPE": "HOME"}}}}},
			{name: "lead read back", method: "crm.lead.get", params: map[string]any{"id": "{lead}"}, want: map[string]string{
				"result/TITLE": "Заказ №78", "result/COMPANY_TITLE": "ИП Мохов", "result/SOURCE_DESCRIPTION": "shop.example.ru",
				"result/OPPORTUNITY": "990.00", "result/PHONE/0/VALUE_TYPE": "MOBILE", "result/EMAIL/0/VALUE_TYPE": "HOME", "result/STATUS_ID": "NEW"}},
			{name: "find lead by phone", method: "crm.duplicate.findbycomm", params: map[string]any{"entity_type": "LEAD", "type": "PHONE", "values": []any{"+7 903 555-00-00"}},
				want: map[string]string{"result/LEAD/0": "{lead}"}},
			{name: "profile", method: "profile", params: map[string]any{}, want: map[string]string{"result/ID": admin, "result/ADMIN": "true"}},
			{name: "user.current", method: "user.current", params: map[string]any{}, want: map[string]string{"result/ID": admin}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := e.with(t)
				a := e.json(tc.method, fill(tc.params))
				if tc.fails != "" {
					e.fails(a, 400, "", tc.fails)
					return
				}
				e.ok(a)
				if tc.save != "" {
					ids[tc.save] = a.str(t, "result")
					if _, err := strconv.ParseInt(ids[tc.save], 10, 64); err != nil {
						t.Fatalf("%s answered result %q, documented an integer id", tc.method, ids[tc.save])
					}
				}
				if tc.name == "contact read back" {
					ids["phone"] = a.str(t, "result", "PHONE", "0", "ID")
				}
				want := map[string]string{}
				for k, v := range tc.want {
					want[k] = sub(v).(string)
				}
				expect(t, a, want)
			})
		}
	})
}

// TestConformanceBatch sends the batch of b24restdocs'
// settings/how-to-call-rest-api/batch.md and compares the envelope with
// its example answer: result, result_error, result_total, result_next and
// result_time keyed by the commands' names, halt given as a word.
func TestConformanceBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "crm", "user", "department").with(t)
		a := e.ok(e.json("batch", `{"halt":false,"cmd":{"get_user":"user.current","get_department":"department.get"}}`))
		conform(t, "batch", a)
		if a.str(t, "result", "result", "get_user", "ID") != strconv.FormatInt(e.admin.UserID, 10) {
			t.Errorf("get_user: %s", a.Body)
		}
		// halt "true" stops at the failing command.
		h := e.ok(e.json("batch", `{"halt":"true","cmd":{"a":"crm.deal.get?id=0","b":"server.time"}}`))
		if _, ran := h.Doc.Lookup("result", "result", "b"); ran {
			t.Errorf("halt=true ran the command after the failure: %s", h.Body)
		}
	})
}
