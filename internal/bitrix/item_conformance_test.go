package bitrix_test

import (
	"testing"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The universal methods answer in the shape of Bitrix24's documented
// examples (testdata/b24restdocs/crm.item.*.json). crm.item.add and
// crm.item.update are documented with a deal, crm.item.get with a lead,
// crm.item.list with a select of lead fields.
func TestConformanceItem(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d).with(t)
		deal := e.ok(e.json("crm.item.add", map[string]any{"entityTypeId": 2, "fields": map[string]any{
			"title": "Заказ №1001", "stageId": "NEW", "opportunity": 5400, "currencyId": "RUB", "assignedById": e.admin.UserID,
			"begindate": "2026-12-01", "closedate": "2026-12-15", "sourceId": "WEB"}}))
		conform(t, "crm.item.add", deal)
		dealID := deal.str(t, "result", "item", "id")
		conform(t, "crm.item.update", e.ok(e.json("crm.item.update", map[string]any{"entityTypeId": 2, "id": dealID,
			"fields": map[string]any{"stageId": "PREPARATION"}})))
		lead := e.ok(e.json("crm.item.add", map[string]any{"entityTypeId": 1, "fields": map[string]any{
			"title": "Лид с сайта", "name": "Иван", "lastName": "Петров", "stageId": "IN_PROCESS", "opportunity": 999.9,
			"currencyId": "RUB", "birthdate": "2000-01-01", "honorific": "HNR_RU_1",
			"fm": []map[string]any{{"typeId": "PHONE", "valueType": "WORK", "value": "+7 921 000-11-22"},
				{"typeId": "EMAIL", "valueType": "WORK", "value": "ivan@example.ru"}}}}))
		leadID := lead.str(t, "result", "item", "id")
		conform(t, "crm.item.get", e.ok(e.json("crm.item.get", map[string]any{"entityTypeId": 1, "id": leadID})))
		conform(t, "crm.item.list", e.ok(e.json("crm.item.list", map[string]any{"entityTypeId": 1,
			"select": []string{"id", "assignedById", "stageId", "opportunity", "sourceId", "title", "name", "lastName", "isManualOpportunity"}})))
		conform(t, "crm.item.fields", e.ok(e.json("crm.item.fields", map[string]any{"entityTypeId": 2})))

		// Product rows of the deal.
		row := e.ok(e.json("crm.item.productrow.add", map[string]any{"fields": map[string]any{
			"ownerId": dealID, "ownerType": "D", "productName": "Фотокнига 20×30", "price": 2500, "quantity": 2,
			"discountTypeId": 2, "discountRate": 0, "taxRate": 20, "taxIncluded": "Y", "measureName": "шт"}}))
		conform(t, "crm.item.productrow.add", row)
		rowID := row.str(t, "result", "productRow", "id")
		conform(t, "crm.item.productrow.get", e.ok(e.json("crm.item.productrow.get", map[string]any{"id": rowID})))
		conform(t, "crm.item.productrow.update", e.ok(e.json("crm.item.productrow.update", map[string]any{"id": rowID,
			"fields": map[string]any{"quantity": 3}})))
		conform(t, "crm.item.productrow.set", e.ok(e.json("crm.item.productrow.set", map[string]any{"ownerId": dealID, "ownerType": "D",
			"productRows": []map[string]any{{"id": rowID, "productName": "Фотокнига 20×30", "price": 2500, "quantity": 3},
				{"productName": "Доставка", "price": 400, "quantity": 1}}})))
		conform(t, "crm.item.productrow.list", e.ok(e.json("crm.item.productrow.list", map[string]any{
			"filter": map[string]any{"=ownerType": "D", "=ownerId": dealID}})))
		conform(t, "crm.item.productrow.fields", e.ok(e.json("crm.item.productrow.fields", map[string]any{})))
		conform(t, "crm.item.productrow.delete", e.ok(e.json("crm.item.productrow.delete", map[string]any{"id": rowID})))
		conform(t, "crm.item.delete", e.ok(e.json("crm.item.delete", map[string]any{"entityTypeId": 2, "id": dealID})))
	})
}
