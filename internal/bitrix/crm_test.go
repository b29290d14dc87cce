package bitrix_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

func idOf(t *testing.T, a answer) string {
	t.Helper()
	n, ok := a.get(t, "result").(json.Number)
	if !ok {
		t.Fatalf("result is not a number: %s", a.Body)
	}
	return n.String()
}

func expect(t *testing.T, a answer, want map[string]string) {
	t.Helper()
	for path, w := range want {
		if v := a.str(t, strings.Split(path, "/")...); v != w {
			t.Errorf("%s = %q, want %q", path, v, w)
		}
	}
}

// TestPixlparkFlow is seed 002's flow: find the client by phone, create
// the company and the contact, a deal in a pipeline with product rows and
// a responsible user, move it along, read statuses and pipelines.
func TestPixlparkFlow(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		pipe, err := e.s.CreatePipeline(ctx, e.admin, crm.Pipeline{Name: "Фотопечать", Sort: 20})
		if err != nil {
			t.Fatal(err)
		}
		cat := strconv.FormatInt(pipe.ID, 10)
		admin := strconv.FormatInt(e.admin.UserID, 10)

		// 1. No client yet.
		none := e.ok(e.json("crm.duplicate.findbycomm", map[string]any{"type": "PHONE", "values": []string{"+7 (925) 642-42-90"}}))
		golden(t, "crm.duplicate.findbycomm.none", none)

		// 2. Company and contact.
		co := e.ok(e.json("crm.company.add", map[string]any{"fields": map[string]any{
			"TITLE": "ООО Ромашка", "COMPANY_TYPE": "CUSTOMER", "INDUSTRY": "MANUFACTURING", "ASSIGNED_BY_ID": admin,
			"PHONE":        []any{map[string]any{"VALUE": "+7 495 111-22-33", "VALUE_TYPE": "WORK"}},
			"EMAIL":        []any{map[string]any{"VALUE": "info@romashka.ru", "VALUE_TYPE": "WORK"}},
			"ADDRESS_CITY": "Москва", "REG_ADDRESS_CITY": "Москва", "RQ_INN": "7707083893", "COMMENTS": "Оптовый клиент",
		}}))
		golden(t, "crm.company.add", co)
		companyID := idOf(t, co)
		ct := e.ok(e.form("crm.contact.add", q(
			"fields[NAME]", "Глеб", "fields[LAST_NAME]", "Титов", "fields[POST]", "Директор", "fields[BIRTHDATE]", "15.01.1990",
			"fields[PHONE][0][VALUE]", "8 (925) 642-42-90", "fields[PHONE][0][VALUE_TYPE]", "MOBILE",
			"fields[EMAIL][0][VALUE]", "Titov@Example.ru", "fields[COMPANY_ID]", companyID, "fields[SOURCE_ID]", "WEB",
			"fields[ASSIGNED_BY_ID]", admin, "fields[ADDRESS_CITY]", "Тверь")))
		contactID := idOf(t, ct)
		got := e.ok(e.get("crm.contact.get", "id="+contactID))
		golden(t, "crm.contact.get", got)
		expect(t, got, map[string]string{"result/COMPANY_ID": companyID, "result/COMPANY_IDS/0": companyID,
			"result/BIRTHDATE": "1990-01-15T00:00:00+03:00", "result/HAS_PHONE": "Y", "result/PHONE/0/VALUE_TYPE": "MOBILE"})
		golden(t, "crm.company.get", e.ok(e.get("crm.company.get", "id="+companyID)))

		// 3. The client is found now, by any spelling of the phone.
		found := e.ok(e.json("crm.duplicate.findbycomm", map[string]any{"type": "PHONE", "values": []string{"+79256424290"}}))
		golden(t, "crm.duplicate.findbycomm", found)
		expect(t, found, map[string]string{"result/CONTACT/0": contactID})
		byMail := e.ok(e.json("crm.duplicate.findbycomm", map[string]any{"type": "EMAIL", "values": []string{"titov@example.ru"}, "entity_type": "CONTACT"}))
		expect(t, byMail, map[string]string{"result/CONTACT/0": contactID})

		// 4. The deal in the pipeline, with product rows.
		deal := e.ok(e.json("crm.deal.add", map[string]any{"fields": map[string]any{
			"TITLE": "Заказ №1001", "CATEGORY_ID": cat, "COMPANY_ID": companyID, "CONTACT_IDS": []string{contactID},
			"ASSIGNED_BY_ID": admin, "CURRENCY_ID": "RUB", "SOURCE_ID": "WEB", "UTM_SOURCE": "pixlpark",
			"BEGINDATE": "2026-03-01", "CLOSEDATE": "2026-03-10", "COMMENTS": "Фотокнига", "ORIGINATOR_ID": "pixlpark", "ORIGIN_ID": "1001",
		}}))
		dealID := idOf(t, deal)
		e.ok(e.json("crm.deal.productrows.set", map[string]any{"id": dealID, "rows": []any{
			map[string]any{"PRODUCT_NAME": "Фотокнига 20×20", "PRICE": 1500, "QUANTITY": 2, "MEASURE_NAME": "шт"},
			map[string]any{"PRODUCT_NAME": "Доставка", "PRICE": "350.50", "QUANTITY": 1, "TAX_RATE": 20, "TAX_INCLUDED": "Y"},
		}}))
		rows := e.ok(e.get("crm.deal.productrows.get", "id="+dealID))
		golden(t, "crm.deal.productrows.get", rows)
		expect(t, rows, map[string]string{"result/0/PRICE": "1500", "result/0/QUANTITY": "2", "result/1/TAX_RATE": "20"})
		got = e.ok(e.get("crm.deal.get", "id="+dealID))
		golden(t, "crm.deal.get", got)
		expect(t, got, map[string]string{"result/CATEGORY_ID": cat, "result/STAGE_ID": "C" + cat + ":NEW", "result/OPPORTUNITY": "3350.50",
			"result/CONTACT_ID": contactID, "result/COMPANY_ID": companyID, "result/ASSIGNED_BY_ID": admin,
			"result/IS_MANUAL_OPPORTUNITY": "N", "result/STAGE_SEMANTIC_ID": "P", "result/ORIGIN_ID": "1001"})

		// 5. Stages and pipelines, then move the deal to the won stage.
		st := e.ok(e.json("crm.status.list", map[string]any{"order": map[string]any{"SORT": "ASC"}, "filter": map[string]any{"ENTITY_ID": "DEAL_STAGE_" + cat}}))
		golden(t, "crm.status.list", st)
		won := ""
		for _, v := range st.get(t, "result").(interface{ Values() []any }).Values() {
			a := v.(interface{ Get(string) (any, bool) })
			if s, _ := a.Get("SEMANTICS"); s == "S" {
				id, _ := a.Get("STATUS_ID")
				won = id.(string)
			}
		}
		if won == "" {
			t.Fatalf("no won stage in %s", st.Body)
		}
		golden(t, "crm.category.list", e.ok(e.get("crm.category.list", "entityTypeId=2")))
		golden(t, "crm.dealcategory.list", e.ok(e.get("crm.dealcategory.list", "")))
		golden(t, "crm.status.entity.types", e.ok(e.get("crm.status.entity.types", "")))
		e.ok(e.form("crm.deal.update", "id="+dealID+"&"+q("fields[STAGE_ID]", won, "fields[CLOSED]", "Y")))
		got = e.ok(e.get("crm.deal.get", "id="+dealID))
		expect(t, got, map[string]string{"result/STAGE_ID": won, "result/STAGE_SEMANTIC_ID": "S", "result/CLOSED": "Y", "result/TITLE": "Заказ №1001"})

		// 6. Lists with filters.
		list := e.ok(e.get("crm.deal.list", q("filter[CATEGORY_ID]", cat, "filter[>OPPORTUNITY]", "1000", "select[]", "ID", "select[]", "TITLE", "select[]", "STAGE_ID", "select[]", "CONTACT_ID")))
		golden(t, "crm.deal.list", list)
		expect(t, list, map[string]string{"total": "1", "result/0/ID": dealID})
		if n := e.ok(e.get("crm.deal.list", q("filter[STAGE_SEMANTIC_ID]", "S"))); n.Status != 200 {
			t.Fatal(n.Body)
		}
		cl := e.ok(e.get("crm.contact.list", q("filter[PHONE]", "+7 925 642 42 90", "select[]", "*", "select[]", "PHONE")))
		golden(t, "crm.contact.list", cl)
		expect(t, cl, map[string]string{"total": "1", "result/0/ID": contactID})
		expect(t, e.ok(e.get("crm.contact.list", q("filter[COMPANY_ID]", companyID))), map[string]string{"total": "1"})
		expect(t, e.ok(e.get("crm.company.list", q("filter[%TITLE]", "Ромашка", "filter[RQ_INN]", "7707083893"))), map[string]string{"total": "1", "result/0/ID": companyID})
		expect(t, e.ok(e.get("crm.company.list", q("filter[HAS_EMAIL]", "N"))), map[string]string{"total": "0"})

		// 7. Contacts of the deal.
		second := idOf(t, e.ok(e.json("crm.contact.add", map[string]any{"fields": map[string]any{"NAME": "Анна"}})))
		e.ok(e.json("crm.deal.contact.items.set", map[string]any{"id": dealID, "items": []any{
			map[string]any{"CONTACT_ID": contactID, "SORT": 20}, map[string]any{"CONTACT_ID": second, "SORT": 10, "IS_PRIMARY": "Y"}}}))
		items := e.ok(e.get("crm.deal.contact.items.get", "id="+dealID))
		golden(t, "crm.deal.contact.items.get", items)
		expect(t, items, map[string]string{"result/0/CONTACT_ID": second, "result/0/IS_PRIMARY": "Y", "result/1/CONTACT_ID": contactID})

		// 8. Update a contact's phone by ID, then delete things.
		phoneID := got2(t, e, "crm.contact.get", contactID, "PHONE", "0", "ID")
		e.ok(e.form("crm.contact.update", "id="+contactID+"&"+q("fields[PHONE][0][ID]", phoneID, "fields[PHONE][0][VALUE]", "+7 900 000-00-00", "fields[SECOND_NAME]", "Егорович")))
		expect(t, e.ok(e.get("crm.contact.get", "id="+contactID)), map[string]string{"result/PHONE/0/VALUE": "+7 900 000-00-00", "result/SECOND_NAME": "Егорович", "result/COMPANY_ID": companyID})
		e.ok(e.get("crm.deal.delete", "id="+dealID))
		e.fails(e.get("crm.deal.get", "id="+dealID), 400, "", "Not found")
		e.fails(e.json("crm.deal.add", map[string]any{"fields": map[string]any{"CATEGORY_ID": cat}}), 400, "", "TITLE")
		e.fails(e.json("crm.company.add", map[string]any{"fields": map[string]any{"TITLE": "X", "RQ_INN": "123"}}), 400, "", "INN")

		for _, m := range []string{"contact", "company", "deal"} {
			golden(t, "crm."+m+".fields", e.ok(e.get("crm."+m+".fields", "")))
		}
	})
}

func got2(t *testing.T, e *env, method, id string, path ...string) string {
	t.Helper()
	return e.ok(e.get(method, "id="+id)).str(t, append([]string{"result"}, path...)...)
}

// TestCRMBatch chains the new methods with $result references.
func TestCRMBatch(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		// The commands in order: a JSON object keeps the order sent.
		cmds := [][2]string{
			{"company", "crm.company.add?" + q("fields[TITLE]", "ИП Петров")},
			{"contact", "crm.contact.add?" + q("fields[NAME]", "Пётр", "fields[COMPANY_ID]", "$result[company]", "fields[PHONE][0][VALUE]", "+7 911 123-45-67")},
			{"deal", "crm.deal.add?" + q("fields[TITLE]", "Заказ", "fields[COMPANY_ID]", "$result[company]", "fields[CONTACT_ID]", "$result[contact]")},
			{"rows", "crm.deal.productrows.set?" + q("id", "$result[deal]", "rows[0][PRODUCT_NAME]", "Печать", "rows[0][PRICE]", "100", "rows[0][QUANTITY]", "3")},
			{"get", "crm.deal.get?" + q("id", "$result[deal]", "select[]", "*")},
			{"dup", "crm.duplicate.findbycomm?" + q("type", "PHONE", "values[]", "89111234567")},
		}
		var body strings.Builder
		body.WriteString(`{"halt":1,"cmd":{`)
		for i, c := range cmds {
			if i > 0 {
				body.WriteString(",")
			}
			k, _ := json.Marshal(c[0])
			v, _ := json.Marshal(c[1])
			body.Write(k)
			body.WriteString(":")
			body.Write(v)
		}
		body.WriteString("}}")
		a := e.ok(e.json("batch", body.String()))
		golden(t, "batch.crm", a)
		if errs := a.get(t, "result", "result_error"); errs != nil {
			if arr, ok := errs.(interface{ Len() int }); ok && arr.Len() > 0 {
				t.Fatalf("batch errors: %s", a.Body)
			}
		}
		expect(t, a, map[string]string{
			"result/result/get/OPPORTUNITY": "300.00",
			"result/result/get/COMPANY_ID":  a.str(t, "result", "result", "company"),
			"result/result/get/CONTACT_ID":  a.str(t, "result", "result", "contact"),
			"result/result/dup/CONTACT/0":   a.str(t, "result", "result", "contact"),
		})
	})
}
