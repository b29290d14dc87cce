package bitrix_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// itemIDs are the ids of a crm.item.list answer.
func itemIDs(t *testing.T, a answer) []string {
	t.Helper()
	items, _ := a.get(t, "result", "items").(interface{ Values() []any })
	var out []string
	if items == nil {
		return nil
	}
	for _, it := range items.Values() {
		m := it.(interface{ Get(string) (any, bool) })
		v, _ := m.Get("id")
		out = append(out, toStr(v))
	}
	return out
}

func toStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// A full cycle through crm.item.* for each type Obmen keeps: add, get,
// update, list by the new value, delete, get → NOT_FOUND; the record is
// the one the legacy methods see.
func TestItemCRUD(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d).with(t)
		cases := []struct {
			typ          int
			legacy       string
			add, update  map[string]any
			field, value string // a camelCase field and its value after update
			legacyField  string
		}{
			{1, "crm.lead", map[string]any{"title": "Заявка с сайта", "name": "Иван", "stageId": "NEW",
				"fm": []map[string]any{{"typeId": "PHONE", "valueType": "WORK", "value": "+7 921 000-11-22"}}},
				map[string]any{"stageId": "IN_PROCESS"}, "stageId", "IN_PROCESS", "STATUS_ID"},
			{2, "crm.deal", map[string]any{"title": "Заказ №1", "opportunity": 1500.5, "currencyId": "RUB", "assignedById": e.admin.UserID},
				map[string]any{"title": "Заказ №1 (оплачен)"}, "title", "Заказ №1 (оплачен)", "TITLE"},
			{3, "crm.contact", map[string]any{"name": "Анна", "lastName": "Смирнова",
				"fm": []map[string]any{{"typeId": "EMAIL", "valueType": "WORK", "value": "anna@example.ru"}}},
				map[string]any{"lastName": "Петрова"}, "lastName", "Петрова", "LAST_NAME"},
			{4, "crm.company", map[string]any{"title": "ООО Ромашка"},
				map[string]any{"title": "ООО «Ромашка»"}, "title", "ООО «Ромашка»", "TITLE"},
			{31, "crm.invoice", map[string]any{"title": "Счёт за печать", "currencyId": "RUB"},
				map[string]any{"title": "Счёт за печать и доставку"}, "title", "Счёт за печать и доставку", "ORDER_TOPIC"},
		}
		for _, c := range cases {
			t.Run(strconv.Itoa(c.typ), func(t *testing.T) {
				e := e.with(t)
				added := e.ok(e.json("crm.item.add", map[string]any{"entityTypeId": c.typ, "fields": c.add}))
				id := added.str(t, "result", "item", "id")
				if et := added.str(t, "result", "item", "entityTypeId"); et != strconv.Itoa(c.typ) {
					t.Errorf("entityTypeId %s", et)
				}
				got := e.ok(e.json("crm.item.get", map[string]any{"entityTypeId": c.typ, "id": id}))
				for k, v := range c.add {
					if k == "fm" || k == "opportunity" || k == "assignedById" {
						continue
					}
					if s := got.str(t, "result", "item", k); s != v {
						t.Errorf("get %s = %q, want %q", k, s, v)
					}
				}
				if c.add["fm"] != nil {
					if v := got.str(t, "result", "item", "fm", "0", "value"); v == "" {
						t.Errorf("fm not answered: %s", got.Body)
					}
				}
				upd := e.ok(e.json("crm.item.update", map[string]any{"entityTypeId": c.typ, "id": id, "fields": c.update}))
				if s := upd.str(t, "result", "item", c.field); s != c.value {
					t.Errorf("update: %s = %q, want %q", c.field, s, c.value)
				}
				// The legacy method reads the same record.
				if s := e.ok(e.json(c.legacy+".get", map[string]any{"id": id})).str(t, "result", c.legacyField); s != c.value {
					t.Errorf("%s.get %s = %q, want %q", c.legacy, c.legacyField, s, c.value)
				}
				list := e.ok(e.json("crm.item.list", map[string]any{"entityTypeId": c.typ, "filter": map[string]any{"=" + c.field: c.value}, "select": []string{"id", c.field}}))
				if ids := itemIDs(t, list); !slices.Equal(ids, []string{id}) {
					t.Errorf("list by %s: %v, want [%s]", c.field, ids, id)
				}
				e.ok(e.json("crm.item.delete", map[string]any{"entityTypeId": c.typ, "id": id}))
				e.fails(e.json("crm.item.get", map[string]any{"entityTypeId": c.typ, "id": id}), http.StatusBadRequest, "NOT_FOUND", "")
			})
		}
		e.fails(e.json("crm.item.list", map[string]any{"entityTypeId": 7}), http.StatusBadRequest, "ENTITY_TYPE_NOT_SUPPORTED", "QUOTE")
		e.fails(e.json("crm.item.list", map[string]any{"entityTypeId": 999}), http.StatusBadRequest, "NOT_FOUND", "")
		e.fails(e.json("crm.item.list", map[string]any{"entityTypeId": 2, "filter": map[string]any{"noSuchField": 1}}),
			http.StatusBadRequest, "INVALID_ARG_VALUE", "noSuchField")
		e.fails(e.json("crm.item.list", map[string]any{"entityTypeId": 2, "order": map[string]any{"noSuchField": "ASC"}}),
			http.StatusBadRequest, "INVALID_ARG_VALUE", "noSuchField")
		e.fails(e.json("crm.item.list", map[string]any{"entityTypeId": 2, "order": map[string]any{"id": "UP"}}),
			http.StatusBadRequest, "INVALID_ARG_VALUE", "ASC, DESC")
	})
}

// Filters: LOGIC OR groups, text ignoring case in every alphabet, the
// deal's TYPE_ID, IS_NEW and ORIGIN_ID; through crm.item.list and the
// legacy crm.deal.list alike.
func TestItemFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d).with(t)
		add := func(fields map[string]any) string {
			return e.ok(e.json("crm.item.add", map[string]any{"entityTypeId": 2, "fields": fields})).str(t, "result", "item", "id")
		}
		a := add(map[string]any{"title": "Заявка на печать", "stageId": "NEW", "opportunity": 100})
		b := add(map[string]any{"title": "ЗАЯВКА от Ивана", "stageId": "PREPARATION", "opportunity": 5000, "originatorId": "shop", "originId": "A-17"})
		c := add(map[string]any{"title": "Звонок", "stageId": "WON", "opportunity": 300})
		cases := []struct {
			name   string
			filter map[string]any
			want   []string
		}{
			{"like lower", map[string]any{"%title": "заяв"}, []string{a, b}},
			{"like upper", map[string]any{"%title": "ЗАЯВ"}, []string{a, b}},
			{"eq any case", map[string]any{"=title": "звонок"}, []string{c}},
			{"or", map[string]any{"LOGIC": "OR", "=stageId": "WON", ">opportunity": 1000}, []string{b, c}},
			{"nested or", map[string]any{"%title": "заявка", "0": map[string]any{"LOGIC": "OR", "stageId": "NEW", "<opportunity": 200}}, []string{a}},
			{"is new", map[string]any{"isNew": "Y"}, []string{a}},
			{"type", map[string]any{"typeId": "SALE"}, nil},
			{"not type", map[string]any{"!typeId": "SALE"}, []string{a, b, c}},
			{"origin", map[string]any{"originId": "A-17"}, []string{b}},
		}
		for _, cs := range cases {
			t.Run(cs.name, func(t *testing.T) {
				got := itemIDs(t, e.with(t).ok(e.with(t).json("crm.item.list", map[string]any{"entityTypeId": 2, "filter": cs.filter, "order": map[string]any{"id": "ASC"}})))
				if !slices.Equal(got, cs.want) {
					t.Errorf("crm.item.list %v: %v, want %v", cs.filter, got, cs.want)
				}
			})
		}
		// The legacy list shares the filter.
		legacy := e.ok(e.json("crm.deal.list", map[string]any{"filter": map[string]any{"LOGIC": "OR", "STAGE_ID": "WON", "%TITLE": "ивана"}, "select": []string{"ID"}}))
		var ids []string
		for _, it := range legacy.get(t, "result").(interface{ Values() []any }).Values() {
			v, _ := it.(interface{ Get(string) (any, bool) }).Get("ID")
			ids = append(ids, toStr(v))
		}
		if !slices.Equal(ids, []string{b, c}) {
			t.Errorf("crm.deal.list with LOGIC OR: %v, want %v", ids, []string{b, c})
		}
		// Leads and contacts: NAME ignores case too.
		e.ok(e.json("crm.lead.add", map[string]any{"fields": map[string]any{"TITLE": "Лид", "NAME": "Иван"}}))
		for _, name := range []string{"иван", "ИВАН"} {
			l := e.ok(e.json("crm.lead.list", map[string]any{"filter": map[string]any{"NAME": name}}))
			if n := l.str(t, "total"); n != "1" {
				t.Errorf("crm.lead.list NAME=%s: total %s, want 1", name, n)
			}
		}
	})
}

// A user field made through crm.deal.userfield.add is set and filtered
// through the legacy and the universal methods; the userfield methods
// answer in the documented shape.
func TestUserFields(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d).with(t)
		for _, c := range []struct {
			name, typ string
			extra     map[string]any
		}{
			{"ORDER_NO", "string", nil}, {"PAGES", "integer", nil}, {"WEIGHT", "double", nil}, {"PAID", "boolean", nil},
			{"SHIP_DATE", "date", nil}, {"SHIP_AT", "datetime", nil}, {"PRICE", "money", nil}, {"SITE", "url", nil},
			{"ADDR", "address", nil}, {"SCAN", "file", nil}, {"BOOKING", "resourcebooking", nil},
			{"FORMAT", "enumeration", map[string]any{"LIST": []map[string]any{{"VALUE": "A4"}, {"VALUE": "A5"}}}},
		} {
			fields := map[string]any{"FIELD_NAME": c.name, "USER_TYPE_ID": c.typ, "EDIT_FORM_LABEL": map[string]any{"ru": "Поле " + c.name}}
			for k, v := range c.extra {
				fields[k] = v
			}
			add := e.ok(e.json("crm.deal.userfield.add", map[string]any{"fields": fields}))
			if c.name == "ORDER_NO" {
				conform(t, "crm.deal.userfield.add", add)
				id := add.str(t, "result")
				got := e.ok(e.json("crm.deal.userfield.get", map[string]any{"id": id}))
				conform(t, "crm.deal.userfield.get", got)
				if n := got.str(t, "result", "FIELD_NAME"); n != "UF_CRM_ORDER_NO" {
					t.Errorf("FIELD_NAME %q", n)
				}
				conform(t, "crm.deal.userfield.update", e.ok(e.json("crm.deal.userfield.update", map[string]any{"id": id,
					"fields": map[string]any{"EDIT_FORM_LABEL": "Номер заказа"}})))
			}
		}
		list := e.ok(e.json("crm.deal.userfield.list", map[string]any{"filter": map[string]any{"USER_TYPE_ID": "enumeration"}}))
		conform(t, "crm.deal.userfield.list", list)
		if v := list.str(t, "result", "0", "LIST", "1", "VALUE"); v != "A5" {
			t.Errorf("enumeration LIST: %s", list.Body)
		}
		// A resource booking field is Obmen's booking type (its value a
		// booking's id) and answers as made.
		if n := e.ok(e.json("crm.deal.userfield.list", map[string]any{"filter": map[string]any{"USER_TYPE_ID": "resourcebooking"}})).str(t, "result", "0", "FIELD_NAME"); n != "UF_CRM_BOOKING" {
			t.Errorf("resourcebooking field: %q", n)
		}
		if ut := e.ok(e.json("crm.deal.fields", map[string]any{})).str(t, "result", "UF_CRM_PAGES", "type"); ut != "integer" {
			t.Errorf("crm.deal.fields UF_CRM_PAGES type %q, want integer", ut)
		}
		// Set through both generations, filter through both.
		a := e.ok(e.json("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Заказ А", "UF_CRM_ORDER_NO": "Б-101", "UF_CRM_PAGES": 24, "UF_CRM_PAID": "Y", "UF_CRM_FORMAT": "A4"}})).str(t, "result")
		b := e.ok(e.json("crm.item.add", map[string]any{"entityTypeId": 2, "fields": map[string]any{"title": "Заказ Б", "ufCrmOrderNo": "б-202", "ufCrmPages": 48, "ufCrmPaid": "N", "ufCrmFormat": "A5"}})).str(t, "result", "item", "id")
		if v := e.ok(e.json("crm.item.get", map[string]any{"entityTypeId": 2, "id": a})).str(t, "result", "item", "ufCrmOrderNo"); v != "Б-101" {
			t.Errorf("ufCrmOrderNo %q", v)
		}
		for _, c := range []struct {
			filter map[string]any
			want   []string
		}{
			{map[string]any{"%ufCrmOrderNo": "б-"}, []string{a, b}},
			{map[string]any{">ufCrmPages": 30}, []string{b}},
			{map[string]any{"ufCrmPaid": 1}, []string{a}},
			{map[string]any{"UF_CRM_FORMAT": "A5"}, []string{b}},
		} {
			if got := itemIDs(t, e.ok(e.json("crm.item.list", map[string]any{"entityTypeId": 2, "filter": c.filter}))); !slices.Equal(got, c.want) {
				t.Errorf("crm.item.list %v: %v, want %v", c.filter, got, c.want)
			}
		}
		id := e.ok(e.json("crm.deal.userfield.list", map[string]any{"filter": map[string]any{"FIELD_NAME": "UF_CRM_SCAN"}})).str(t, "result", "0", "ID")
		conform(t, "crm.deal.userfield.delete", e.ok(e.json("crm.deal.userfield.delete", map[string]any{"id": id})))
		e.fails(e.json("crm.deal.userfield.get", map[string]any{"id": id}), http.StatusBadRequest, "", "not found")
		e.fails(e.json("crm.deal.userfield.add", map[string]any{"fields": map[string]any{"FIELD_NAME": "X", "USER_TYPE_ID": "hlblock"}}), http.StatusBadRequest, "", "USER_TYPE_ID")
	})
}
