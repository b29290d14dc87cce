package bitrix_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

// TestLeadProductRows sets and reads a lead's product rows, which share
// the deal rows' code.
func TestLeadProductRows(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		lead := idOf(t, e.ok(e.json("crm.lead.add", map[string]any{"fields": map[string]any{"TITLE": "Заявка с сайта"}})))
		e.ok(e.json("crm.lead.productrows.set", map[string]any{"id": lead, "rows": []any{
			map[string]any{"PRODUCT_NAME": "Визитки", "PRICE": 500, "QUANTITY": 3, "MEASURE_NAME": "уп"},
			map[string]any{"PRODUCT_NAME": "Дизайн", "PRICE": "1200", "DISCOUNT_SUM": 200, "TAX_RATE": 20, "TAX_INCLUDED": "Y"},
		}}))
		rows := e.ok(e.get("crm.lead.productrows.get", "id="+lead))
		golden(t, "crm.lead.productrows.get", rows)
		expect(t, rows, map[string]string{"result/0/OWNER_TYPE": "L", "result/0/OWNER_ID": lead, "result/0/QUANTITY": "3",
			"result/1/PRICE": "1200", "result/1/DISCOUNT_SUM": "200", "result/1/TAX_RATE": "20"})
		expect(t, e.ok(e.get("crm.lead.get", "id="+lead)), map[string]string{"result/OPPORTUNITY": "2700.00"})

		// An empty list clears the rows.
		e.ok(e.form("crm.lead.productrows.set", "id="+lead+"&rows="))
		if n := e.ok(e.get("crm.lead.productrows.get", "id="+lead)).get(t, "result").(interface{ Len() int }).Len(); n != 0 {
			t.Fatalf("%d rows left", n)
		}

		e.fails(e.get("crm.lead.productrows.get", "id=999999"), 400, "", "Not found")
		e.fails(e.json("crm.lead.productrows.set", map[string]any{"id": "999999", "rows": []any{}}), 400, "", "Not found")
		e.fails(e.get("crm.lead.productrows.get", "id=abc"), 400, "", "ID is not defined")
		e.fails(e.json("crm.lead.productrows.set", map[string]any{"id": lead, "rows": []any{map[string]any{"PRODUCT_NAME": "x", "PRICE": "дорого"}}}),
			400, "", "rows[0][PRICE]")
		e.fails(e.json("crm.lead.productrows.set", map[string]any{"id": lead, "rows": []any{map[string]any{"PRODUCT_NAME": "x", "QUANTITY": "много"}}}),
			400, "", "rows[0][QUANTITY]")
		e.ok(e.get("crm.lead.delete", "id="+lead))
		e.fails(e.get("crm.lead.productrows.get", "id="+lead), 400, "", "Not found")
	})
}

// TestContactBindings links companies and contacts from both sides and
// deals with contacts, by set, add and delete.
func TestContactBindings(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		co := idOf(t, e.ok(e.json("crm.company.add", map[string]any{"fields": map[string]any{"TITLE": "ООО Ромашка"}})))
		co2 := idOf(t, e.ok(e.json("crm.company.add", map[string]any{"fields": map[string]any{"TITLE": "ООО Лютик"}})))
		c1 := idOf(t, e.ok(e.json("crm.contact.add", map[string]any{"fields": map[string]any{"NAME": "Анна"}})))
		c2 := idOf(t, e.ok(e.json("crm.contact.add", map[string]any{"fields": map[string]any{"NAME": "Борис", "COMPANY_ID": co2}})))

		// The company's side.
		e.ok(e.json("crm.company.contact.items.set", map[string]any{"id": co, "items": []any{
			map[string]any{"CONTACT_ID": c1}, map[string]any{"CONTACT_ID": c2, "IS_PRIMARY": "Y"}}}))
		items := e.ok(e.get("crm.company.contact.items.get", "id="+co))
		golden(t, "crm.company.contact.items.get", items)
		expect(t, items, map[string]string{"result/0/CONTACT_ID": c1, "result/1/CONTACT_ID": c2, "result/0/IS_PRIMARY": "Y"})
		// c2 keeps its main company and gains co after it.
		cc := e.ok(e.get("crm.contact.company.items.get", "id="+c2))
		golden(t, "crm.contact.company.items.get", cc)
		expect(t, cc, map[string]string{"result/0/COMPANY_ID": co2, "result/0/IS_PRIMARY": "Y", "result/1/COMPANY_ID": co, "result/1/IS_PRIMARY": "N"})
		expect(t, e.ok(e.get("crm.contact.get", "id="+c1)), map[string]string{"result/COMPANY_ID": co})

		e.ok(e.json("crm.company.contact.delete", map[string]any{"id": co, "fields": map[string]any{"CONTACT_ID": c1}}))
		expect(t, e.ok(e.get("crm.company.contact.items.get", "id="+co)), map[string]string{"result/0/CONTACT_ID": c2})
		expect(t, e.ok(e.get("crm.contact.get", "id="+c1)), map[string]string{"result/COMPANY_ID": ""})
		e.ok(e.form("crm.company.contact.add", "id="+co+"&"+q("fields[CONTACT_ID]", c1)))
		expect(t, e.ok(e.get("crm.company.contact.items.get", "id="+co)), map[string]string{"result/0/CONTACT_ID": c1, "result/1/CONTACT_ID": c2})
		e.ok(e.json("crm.company.contact.items.set", map[string]any{"id": co, "items": []any{}}))
		expect(t, e.ok(e.get("crm.contact.company.items.get", "id="+c2)), map[string]string{"result/0/COMPANY_ID": co2})
		// items.delete clears the set.
		e.ok(e.json("crm.company.contact.items.set", map[string]any{"id": co, "items": []any{map[string]any{"CONTACT_ID": c1}, map[string]any{"CONTACT_ID": c2}}}))
		e.ok(e.get("crm.company.contact.items.delete", "id="+co))
		if n := e.ok(e.get("crm.company.contact.items.get", "id="+co)).get(t, "result").(interface{ Len() int }).Len(); n != 0 {
			t.Fatalf("%d contacts left", n)
		}

		// The contact's side: set orders by IS_PRIMARY, then SORT.
		e.ok(e.json("crm.contact.company.items.set", map[string]any{"id": c1, "items": []any{
			map[string]any{"COMPANY_ID": co, "SORT": 20}, map[string]any{"COMPANY_ID": co2, "SORT": 10}}}))
		expect(t, e.ok(e.get("crm.contact.company.items.get", "id="+c1)), map[string]string{"result/0/COMPANY_ID": co2, "result/1/COMPANY_ID": co, "result/1/SORT": "20"})
		e.ok(e.json("crm.contact.company.add", map[string]any{"id": c1, "fields": map[string]any{"COMPANY_ID": co, "IS_PRIMARY": "Y"}}))
		expect(t, e.ok(e.get("crm.contact.get", "id="+c1)), map[string]string{"result/COMPANY_ID": co, "result/COMPANY_IDS/1": co2})

		// A deal's contacts: add and delete beside set.
		deal := idOf(t, e.ok(e.json("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Заказ", "CONTACT_ID": c1}})))
		e.ok(e.json("crm.deal.contact.add", map[string]any{"id": deal, "fields": map[string]any{"CONTACT_ID": c2}}))
		expect(t, e.ok(e.get("crm.deal.contact.items.get", "id="+deal)), map[string]string{"result/0/CONTACT_ID": c1, "result/1/CONTACT_ID": c2, "result/1/IS_PRIMARY": "N"})
		e.ok(e.json("crm.deal.contact.add", map[string]any{"id": deal, "fields": map[string]any{"CONTACT_ID": c2, "IS_PRIMARY": "Y"}}))
		expect(t, e.ok(e.get("crm.deal.get", "id="+deal)), map[string]string{"result/CONTACT_ID": c2})
		e.ok(e.json("crm.deal.contact.delete", map[string]any{"id": deal, "fields": map[string]any{"CONTACT_ID": c2}}))
		expect(t, e.ok(e.get("crm.deal.contact.items.get", "id="+deal)), map[string]string{"result/0/CONTACT_ID": c1, "result/0/IS_PRIMARY": "Y"})

		e.ok(e.get("crm.deal.contact.items.delete", "id="+deal))
		expect(t, e.ok(e.get("crm.deal.get", "id="+deal)), map[string]string{"result/CONTACT_ID": ""})
		e.ok(e.json("crm.contact.company.delete", map[string]any{"id": c1, "fields": map[string]any{"COMPANY_ID": co}}))
		expect(t, e.ok(e.get("crm.contact.get", "id="+c1)), map[string]string{"result/COMPANY_ID": co2})
		e.ok(e.get("crm.contact.company.items.delete", "id="+c1))
		expect(t, e.ok(e.get("crm.contact.get", "id="+c1)), map[string]string{"result/COMPANY_ID": ""})

		// Errors.
		e.fails(e.get("crm.company.contact.items.get", "id=0"), 400, "", "The parameter ownerEntityID is invalid or not defined.")
		e.fails(e.get("crm.deal.contact.items.delete", ""), 400, "", "ownerEntityID")
		e.fails(e.get("crm.company.contact.items.get", "id=999999"), 400, "", "Not found")
		e.fails(e.get("crm.contact.company.items.get", "id=999999"), 400, "", "Not found")
		e.fails(e.json("crm.company.contact.items.set", map[string]any{"id": co, "items": []any{map[string]any{"CONTACT_ID": "999999"}}}),
			400, "", "Field CONTACT_ID: no record with id 999999")
		e.fails(e.json("crm.company.contact.add", map[string]any{"id": co, "fields": map[string]any{"CONTACT_ID": "x"}}),
			400, "", "fields[CONTACT_ID]")
		e.fails(e.json("crm.contact.company.items.set", map[string]any{"id": c1, "items": []any{map[string]any{"COMPANY_ID": 0}}}),
			400, "", "items[0][COMPANY_ID]")
		e.fails(e.json("crm.contact.company.items.set", map[string]any{"id": c1, "items": []any{map[string]any{"COMPANY_ID": "999999"}}}),
			400, "", "Field COMPANY_ID: no record with id 999999")
		e.fails(e.json("crm.deal.contact.add", map[string]any{"id": deal, "fields": map[string]any{"CONTACT_ID": "999999"}}),
			400, "", "Field CONTACT_ID: no record with id 999999")
		e.fails(e.json("crm.deal.contact.delete", map[string]any{"id": deal}), 400, "", "fields[CONTACT_ID]")
	})
}

// TestStatusEntityItems reads one dictionary by SORT.
func TestStatusEntityItems(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		a := e.ok(e.get("crm.status.entity.items", "entityId=STATUS"))
		golden(t, "crm.status.entity.items", a)
		pipe, err := e.s.CreatePipeline(context.Background(), e.admin, crm.Pipeline{Name: "Опт", Sort: 20})
		if err != nil {
			t.Fatal(err)
		}
		st := e.ok(e.json("crm.status.entity.items", map[string]any{"entityId": crm.StageEntityID(pipe.ID)}))
		if s := st.str(t, "result", "0", "STATUS_ID"); s == "" {
			t.Fatalf("no stages: %s", st.Body)
		}
		e.fails(e.get("crm.status.entity.items", ""), 400, "The parameter entityId is not defined or invalid.", "directory ID")
		e.fails(e.get("crm.status.entity.items", "entityId=NOPE"), 400, "The parameter entityId is not defined or invalid.", "")
	})
}

// TestNewMethodsScope: a webhook without crm may not call them.
func TestNewMethodsScope(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, code, err := e.h.Webhooks().CreateWebhook(context.Background(), e.admin.UserID, "user only", []string{"user"})
		if err != nil {
			t.Fatal(err)
		}
		u := *e
		u.base = e.srv.URL + "/rest/" + strconv.FormatInt(e.admin.UserID, 10) + "/" + code + "/"
		for _, m := range []string{"crm.lead.productrows.get", "crm.lead.productrows.set", "crm.company.contact.items.get",
			"crm.company.contact.items.set", "crm.company.contact.items.delete", "crm.company.contact.add", "crm.company.contact.delete",
			"crm.contact.company.items.get", "crm.contact.company.items.set", "crm.contact.company.items.delete",
			"crm.contact.company.add", "crm.contact.company.delete", "crm.deal.contact.add", "crm.deal.contact.items.delete",
			"crm.deal.contact.delete", "crm.status.entity.items", "crm.product.add", "crm.product.get",
			"crm.product.list", "crm.product.update", "crm.product.delete", "crm.product.fields"} {
			u.with(t).fails(u.get(m, "id=1"), 403, "insufficient_scope", "higher privileges")
		}
	})
}
