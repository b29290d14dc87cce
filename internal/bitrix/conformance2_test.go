package bitrix_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

func init() {
	for m, ex := range map[string]map[string]string{
		"crm.timeline.comment.get": {"result.FILES": "sent only for comments with attached files; Obmen's comments carry none"},
		"crm.currency.get": {
			"result.LANG.en": "languages of the documentation's portal; Obmen answers ru, the language it runs in",
			"result.LANG.de": "languages of the documentation's portal; Obmen answers ru, the language it runs in",
		},
	} {
		shapeExempt[m] = ex
	}
}

// TestConformanceSystemAndDictionaries plays the system and dictionary
// methods an integration calls on start-up and setup, and compares each
// answer's shape with Bitrix24's documented example.
func TestConformanceSystemAndDictionaries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "crm", "user", "department").with(t)
		ctx := context.Background()

		app := e.ok(e.json("app.info", map[string]any{}))
		conform(t, "app.info", app)
		if st, inst := app.str(t, "result", "STATUS"), app.str(t, "result", "INSTALLED"); st != "L" || inst != "true" {
			t.Errorf("app.info: STATUS %q INSTALLED %q, want a local installed app", st, inst)
		}
		conform(t, "app.option.set", e.ok(e.json("app.option.set", map[string]any{"options": map[string]any{"data": "value", "data2": "value2"}})))
		opts := e.ok(e.json("app.option.get", map[string]any{}))
		conform(t, "app.option.get", opts)
		if v := opts.str(t, "result", "data2"); v != "value2" {
			t.Errorf("app.option.get data2 = %q", v)
		}
		if v := e.ok(e.json("app.option.get", map[string]any{"option": "data"})).str(t, "result"); v != "value" {
			t.Errorf("app.option.get option=data: %q", v)
		}
		conform(t, "user.option.set", e.ok(e.json("user.option.set", map[string]any{"options": map[string]any{"data": "mine", "data2": "x"}})))
		uopts := e.ok(e.json("user.option.get", map[string]any{}))
		conform(t, "user.option.get", uopts)
		if v := uopts.str(t, "result", "data"); v != "mine" {
			t.Errorf("user.option.get data = %q (app options and user options are apart)", v)
		}
		e.fails(e.json("app.option.set", map[string]any{}), http.StatusBadRequest, "ERROR_CORE", "options")

		// Departments: a tree under the root; a user joins one.
		conform(t, "department.fields", e.ok(e.json("department.fields", map[string]any{})))
		add := e.ok(e.json("department.add", map[string]any{"NAME": "Отдел продаж", "PARENT": 1, "UF_HEAD": e.admin.UserID}))
		conform(t, "department.add", add)
		sales := add.str(t, "result")
		sub := e.ok(e.json("department.add", map[string]any{"NAME": "Розница", "PARENT": sales, "SORT": 100})).str(t, "result")
		conform(t, "department.update", e.ok(e.json("department.update", map[string]any{"ID": sub, "NAME": "Розничные продажи"})))
		list := e.ok(e.json("department.get", map[string]any{"PARENT": sales}))
		conform(t, "department.get", list)
		if n, name := list.str(t, "total"), list.str(t, "result", "0", "NAME"); n != "1" || name != "Розничные продажи" {
			t.Errorf("department.get PARENT=%s: total %s, first %q", sales, n, name)
		}
		e.fails(e.json("department.add", map[string]any{"NAME": "Вторая компания"}), http.StatusBadRequest, "ERROR_CORE", "only be one top-level")
		e.fails(e.json("department.add", map[string]any{"PARENT": 1}), http.StatusBadRequest, "ERROR_CORE", "Department name not provided")
		e.fails(e.json("department.update", map[string]any{"ID": sales, "PARENT": sub}), http.StatusBadRequest, "ERROR_CORE", "under itself")
		e.fails(e.json("department.delete", map[string]any{"ID": sales}), http.StatusBadRequest, "ERROR_CORE", "sub-departments")
		e.fails(e.json("department.update", map[string]any{"ID": 9999, "NAME": "x"}), http.StatusBadRequest, "ERROR_CORE", "Department not found")
		subID, _ := strconv.ParseInt(sub, 10, 64)
		if err := e.s.SetUserDepartments(ctx, e.admin, e.admin.UserID, []int64{subID}); err != nil {
			t.Fatal(err)
		}
		e.fails(e.json("department.delete", map[string]any{"ID": sub}), http.StatusBadRequest, "ERROR_CORE", "members")
		found := e.ok(e.json("user.search", map[string]any{"FILTER": map[string]any{"UF_DEPARTMENT_NAME": "розничн"}}))
		conform(t, "user.search", found)
		if n, dep := found.str(t, "total"), found.str(t, "result", "0", "UF_DEPARTMENT", "0"); n != "1" || dep != sub {
			t.Errorf("user.search by department: total %s, UF_DEPARTMENT %s, want 1 and %s", n, dep, sub)
		}
		if n := e.ok(e.json("user.search", map[string]any{"FILTER": map[string]any{"FIND": "нет-такого"}})).str(t, "total"); n != "0" {
			t.Errorf("user.search FIND nothing: total %s", n)
		}
		if err := e.s.SetUserDepartments(ctx, e.admin, e.admin.UserID, nil); err != nil {
			t.Fatal(err)
		}
		conform(t, "department.delete", e.ok(e.json("department.delete", map[string]any{"ID": sub})))

		// Currencies from the dictionary.
		base := e.ok(e.json("crm.currency.base.get", map[string]any{}))
		conform(t, "crm.currency.base.get", base)
		if b := base.str(t, "result"); b != "RUB" {
			t.Errorf("base currency %q", b)
		}
		curs := e.ok(e.json("crm.currency.list", map[string]any{}))
		conform(t, "crm.currency.list", curs)
		if c, amount := curs.str(t, "result", "1", "CURRENCY"), curs.str(t, "result", "1", "AMOUNT"); c != "USD" || amount != "80.0000" {
			t.Errorf("second currency %s at %s, want USD at 80.0000", c, amount)
		}
		conform(t, "crm.currency.get", e.ok(e.json("crm.currency.get", map[string]any{"id": "usd"})))
		e.fails(e.json("crm.currency.get", map[string]any{"id": "XXX"}), http.StatusBadRequest, "", "Not found")

		// Enumerations and field lists.
		conform(t, "crm.multifield.fields", e.ok(e.json("crm.multifield.fields", map[string]any{})))
		owners := e.ok(e.json("crm.enum.ownertype", map[string]any{}))
		conform(t, "crm.enum.ownertype", owners)
		if id, code := owners.str(t, "result", "1", "ID"), owners.str(t, "result", "1", "SYMBOL_CODE"); id != "2" || code != "DEAL" {
			t.Errorf("crm.enum.ownertype[1] = %s %s", id, code)
		}
		conform(t, "crm.enum.activitytype", e.ok(e.json("crm.enum.activitytype", map[string]any{})))
		conform(t, "crm.enum.fields", e.ok(e.json("crm.enum.fields", map[string]any{})))
	})
}

// TestConformanceStatusesAndCategories sets up a pipeline with its own
// stage, as an integration does on install, and tears it down.
func TestConformanceStatusesAndCategories(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d).with(t)
		conform(t, "crm.status.fields", e.ok(e.json("crm.status.fields", map[string]any{})))
		conform(t, "crm.category.fields", e.ok(e.json("crm.category.fields", map[string]any{"entityTypeId": 2})))

		cat := e.ok(e.json("crm.category.add", map[string]any{"entityTypeId": 2, "fields": map[string]any{"name": "Опт", "sort": 200}}))
		conform(t, "crm.category.add", cat)
		catID := cat.str(t, "result", "category", "id")
		conform(t, "crm.category.get", e.ok(e.json("crm.category.get", map[string]any{"entityTypeId": 2, "id": catID})))
		upd := e.ok(e.json("crm.category.update", map[string]any{"entityTypeId": 2, "id": catID, "fields": map[string]any{"name": "Оптовые продажи"}}))
		conform(t, "crm.category.update", upd)
		if n := upd.str(t, "result", "category", "name"); n != "Оптовые продажи" {
			t.Errorf("renamed category %q", n)
		}

		stage := e.ok(e.json("crm.status.add", map[string]any{"fields": map[string]any{
			"ENTITY_ID": "DEAL_STAGE_" + catID, "STATUS_ID": "PACKING", "NAME": "Упаковка", "SORT": 15, "COLOR": "#39A8EF"}}))
		conform(t, "crm.status.add", stage)
		stageID := stage.str(t, "result")
		got := e.ok(e.json("crm.status.get", map[string]any{"id": stageID}))
		conform(t, "crm.status.get", got)
		if sid, color := got.str(t, "result", "STATUS_ID"), got.str(t, "result", "COLOR"); sid != "C"+catID+":PACKING" || color != "#39A8EF" {
			t.Errorf("stage %s colour %s", sid, color)
		}
		conform(t, "crm.status.update", e.ok(e.json("crm.status.update", map[string]any{"id": stageID, "fields": map[string]any{"NAME": "Сборка", "COLOR": "#00FF00"}})))
		stages := e.ok(e.json("crm.dealcategory.stage.list", map[string]any{"id": catID}))
		names := map[string]string{}
		for i := 0; ; i++ {
			v, ok := stages.Doc.Lookup("result", strconv.Itoa(i), "STATUS_ID")
			if !ok {
				break
			}
			n, _ := stages.Doc.Lookup("result", strconv.Itoa(i), "NAME")
			names[v.(string)] = n.(string)
		}
		if len(names) != 4 || names["C"+catID+":PACKING"] != "Сборка" {
			t.Errorf("crm.dealcategory.stage.list: %v", names)
		}
		if n := e.ok(e.json("crm.dealcategory.stage.list", map[string]any{"id": 999})).Doc; n == nil {
			t.Error("no answer")
		}
		e.fails(e.json("crm.status.add", map[string]any{"fields": map[string]any{"ENTITY_ID": "DEAL_STAGE_" + catID, "STATUS_ID": "PACKING", "NAME": "x"}}),
			http.StatusBadRequest, "ERROR_CORE", "already exists")
		e.fails(e.json("crm.status.add", map[string]any{"fields": map[string]any{"NAME": "x"}}),
			http.StatusBadRequest, "", "The field ENTITY_ID is required. The field STATUS_ID is required.")
		e.fails(e.json("crm.status.add", map[string]any{"fields": map[string]any{"ENTITY_ID": "NO_SUCH", "STATUS_ID": "A", "NAME": "x"}}),
			http.StatusBadRequest, "", "Specified entity type is not supported.")
		e.fails(e.json("crm.status.get", map[string]any{"id": 99999}), http.StatusBadRequest, "", "Status is not found.")

		// A deal in the stage keeps stage and pipeline.
		deal := e.ok(e.json("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Опт", "CATEGORY_ID": catID, "STAGE_ID": "C" + catID + ":PACKING"}})).str(t, "result")
		e.fails(e.json("crm.status.delete", map[string]any{"id": stageID}), http.StatusBadRequest, "", "There are active items in this status.")
		e.fails(e.json("crm.category.delete", map[string]any{"entityTypeId": 2, "id": catID}), http.StatusBadRequest, "0", "Deals related to the funnel")
		e.ok(e.json("crm.deal.delete", map[string]any{"id": deal}))
		// A deal in the recycle bin still holds its stage; purged, it
		// does not.
		dealID, _ := strconv.ParseInt(deal, 10, 64)
		if err := e.s.Purge(context.Background(), e.admin, "deal", dealID); err != nil {
			t.Fatal(err)
		}
		conform(t, "crm.status.delete", e.ok(e.json("crm.status.delete", map[string]any{"id": stageID})))
		conform(t, "crm.category.delete", e.ok(e.json("crm.category.delete", map[string]any{"entityTypeId": 2, "id": catID})))
		e.fails(e.json("crm.category.delete", map[string]any{"entityTypeId": 2, "id": 0}), http.StatusBadRequest, "0", "Default deal category cannot be deleted")
	})
}

// TestCategoryListByEntityType: deals list their pipelines, contacts and
// companies their default category; leads and quotes have no funnels, and
// an unknown type is a smart process not found (b24restdocs
// crm-category-list.md).
func TestCategoryListByEntityType(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d).with(t)
		for _, tc := range []struct {
			typ  int
			name string
		}{{3, "Контакты"}, {4, "Компании"}} {
			a := e.ok(e.json("crm.category.list", map[string]any{"entityTypeId": tc.typ}))
			conform(t, "crm.category.list", a)
			if n, id, def := a.str(t, "total"), a.str(t, "result", "categories", "0", "id"), a.str(t, "result", "categories", "0", "isDefault"); n != "1" || id != "0" || def != "Y" {
				t.Errorf("type %d: total %s, id %s, isDefault %s", tc.typ, n, id, def)
			}
			if got := e.ok(e.json("crm.category.get", map[string]any{"entityTypeId": tc.typ, "id": 0})).str(t, "result", "category", "name"); got != tc.name {
				t.Errorf("type %d default category %q", tc.typ, got)
			}
			e.fails(e.json("crm.category.add", map[string]any{"entityTypeId": tc.typ, "fields": map[string]any{"name": "x"}}), http.StatusBadRequest, "ENTITY_TYPE_NOT_SUPPORTED", "default category")
		}
		e.fails(e.json("crm.category.list", map[string]any{"entityTypeId": 1}), http.StatusBadRequest, "ENTITY_TYPE_NOT_SUPPORTED", "Entity type LEAD is not supported")
		e.fails(e.json("crm.category.list", map[string]any{"entityTypeId": 7}), http.StatusBadRequest, "ENTITY_TYPE_NOT_SUPPORTED", "Entity type QUOTE is not supported")
		e.fails(e.json("crm.category.list", map[string]any{"entityTypeId": 999}), http.StatusBadRequest, "NOT_FOUND", "Smart process not found")
		e.fails(e.json("crm.category.get", map[string]any{"entityTypeId": 999, "id": 1}), http.StatusBadRequest, "NOT_FOUND", "SPA not found")
		e.fails(e.json("crm.category.get", map[string]any{"entityTypeId": 2, "id": 77}), http.StatusBadRequest, "NOT_FOUND", "Element not found")
	})
}

// TestConformanceTimelineCommentsAndTodos: a business process comments,
// corrects and removes its comment, and plans a to-do.
func TestConformanceTimelineCommentsAndTodos(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d).with(t)
		deal := e.ok(e.json("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Сделка"}})).str(t, "result")
		cm := e.ok(e.json("crm.timeline.comment.add", map[string]any{"fields": map[string]any{"ENTITY_ID": deal, "ENTITY_TYPE": "deal", "COMMENT": "Черновик"}})).str(t, "result")
		conform(t, "crm.timeline.comment.fields", e.ok(e.json("crm.timeline.comment.fields", map[string]any{})))
		conform(t, "crm.timeline.comment.get", e.ok(e.json("crm.timeline.comment.get", map[string]any{"id": cm})))
		up := e.ok(e.json("crm.timeline.comment.update", map[string]any{"id": cm, "ownerTypeId": 2, "ownerId": deal, "fields": map[string]any{"COMMENT": "Согласовано"}}))
		conform(t, "crm.timeline.comment.update", up)
		if got := e.ok(e.json("crm.timeline.comment.get", map[string]any{"id": cm})).str(t, "result", "COMMENT"); got != "Согласовано" {
			t.Errorf("updated comment %q", got)
		}
		e.fails(e.json("crm.timeline.comment.update", map[string]any{"id": cm, "fields": map[string]any{"COMMENT": " "}}), http.StatusBadRequest, "INVALID_ARG_VALUE", "Empty comment")
		e.fails(e.json("crm.timeline.comment.update", map[string]any{"id": cm, "ownerTypeId": 1, "ownerId": deal, "fields": map[string]any{"COMMENT": "x"}}),
			http.StatusBadRequest, "OWNER_NOT_FOUND", "Owner")
		e.fails(e.json("crm.timeline.comment.update", map[string]any{"fields": map[string]any{"COMMENT": "x"}}), http.StatusBadRequest, "100", "id")
		conform(t, "crm.timeline.comment.delete", e.ok(e.json("crm.timeline.comment.delete", map[string]any{"id": cm})))
		e.fails(e.json("crm.timeline.comment.get", map[string]any{"id": cm}), http.StatusBadRequest, "", "Not found.")
		e.fails(e.json("crm.timeline.comment.delete", map[string]any{"id": cm}), http.StatusBadRequest, "NOT_FOUND", "Not found.")

		todo := e.ok(e.json("crm.activity.todo.add", map[string]any{"ownerTypeId": 2, "ownerId": deal, "deadline": "2026-12-10T15:00:00",
			"title": "Позвонить", "description": "Уточнить адрес", "pingOffsets": []int{0, 15}}))
		conform(t, "crm.activity.todo.add", todo)
		act := e.ok(e.json("crm.activity.get", map[string]any{"id": todo.str(t, "result", "id")}))
		if typ, subj, end := act.str(t, "result", "TYPE_ID"), act.str(t, "result", "SUBJECT"), act.str(t, "result", "END_TIME"); typ != "3" || subj != "Позвонить" || end != "2026-12-10T15:00:00+03:00" {
			t.Errorf("to-do as activity: TYPE_ID %s SUBJECT %q END_TIME %s", typ, subj, end)
		}
		e.fails(e.json("crm.activity.todo.add", map[string]any{"ownerTypeId": 2, "ownerId": deal}), http.StatusBadRequest, "100", "deadline")
		e.fails(e.json("crm.activity.todo.add", map[string]any{"ownerTypeId": 2, "ownerId": deal, "deadline": "завтра"}), http.StatusBadRequest, "WRONG_DATETIME_FORMAT", "")
		e.fails(e.json("crm.activity.todo.add", map[string]any{"ownerTypeId": 2, "ownerId": 99999, "deadline": "2026-12-10"}), http.StatusBadRequest, "OWNER_NOT_FOUND", "")
	})
}

// TestConformanceRequisiteLinks: a deal is made out with the client
// company's requisite and bank account.
func TestConformanceRequisiteLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d).with(t)
		company := e.ok(e.json("crm.company.add", map[string]any{"fields": map[string]any{"TITLE": "ООО Клиент"}})).str(t, "result")
		other := e.ok(e.json("crm.company.add", map[string]any{"fields": map[string]any{"TITLE": "ООО Чужая"}})).str(t, "result")
		rq := e.ok(e.json("crm.requisite.add", map[string]any{"fields": map[string]any{"ENTITY_TYPE_ID": 4, "ENTITY_ID": company, "PRESET_ID": 1, "NAME": "Реквизиты", "RQ_INN": "7707083893"}})).str(t, "result")
		foreign := e.ok(e.json("crm.requisite.add", map[string]any{"fields": map[string]any{"ENTITY_TYPE_ID": 4, "ENTITY_ID": other, "PRESET_ID": 1, "NAME": "Чужие"}})).str(t, "result")
		bank := e.ok(e.json("crm.requisite.bankdetail.add", map[string]any{"fields": map[string]any{"ENTITY_ID": rq, "NAME": "Счёт", "RQ_BIK": "044525225", "RQ_ACC_NUM": "40702810938000000001"}})).str(t, "result")
		deal := e.ok(e.json("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Заказ", "COMPANY_ID": company}})).str(t, "result")

		conform(t, "crm.requisite.link.fields", e.ok(e.json("crm.requisite.link.fields", map[string]any{})))
		link := map[string]any{"ENTITY_TYPE_ID": 2, "ENTITY_ID": deal, "REQUISITE_ID": rq, "BANK_DETAIL_ID": bank, "MC_REQUISITE_ID": 0, "MC_BANK_DETAIL_ID": 0}
		conform(t, "crm.requisite.link.register", e.ok(e.json("crm.requisite.link.register", map[string]any{"fields": link})))
		got := e.ok(e.json("crm.requisite.link.get", map[string]any{"entityTypeId": 2, "entityId": deal}))
		conform(t, "crm.requisite.link.get", got)
		if r, b := got.str(t, "result", "REQUISITE_ID"), got.str(t, "result", "BANK_DETAIL_ID"); r != rq || b != bank {
			t.Errorf("link: requisite %s bank %s", r, b)
		}
		list := e.ok(e.json("crm.requisite.link.list", map[string]any{"filter": map[string]any{"ENTITY_ID": deal}}))
		conform(t, "crm.requisite.link.list", list)
		if n := list.str(t, "total"); n != "1" {
			t.Errorf("link list total %s", n)
		}
		bad := map[string]any{"ENTITY_TYPE_ID": 2, "ENTITY_ID": deal, "REQUISITE_ID": foreign, "BANK_DETAIL_ID": 0, "MC_REQUISITE_ID": 0, "MC_BANK_DETAIL_ID": 0}
		e.fails(e.json("crm.requisite.link.register", map[string]any{"fields": bad}), http.StatusBadRequest, "", "not the client's")
		bad["REQUISITE_ID"], bad["BANK_DETAIL_ID"] = rq, 99999
		e.fails(e.json("crm.requisite.link.register", map[string]any{"fields": bad}), http.StatusBadRequest, "", "no bank detail with id 99999")
		e.fails(e.json("crm.requisite.link.register", map[string]any{"fields": map[string]any{"ENTITY_TYPE_ID": 7, "ENTITY_ID": 1}}), http.StatusBadRequest, "", "ENTITY_TYPE_ID is not defined or invalid")
		// A deleted bank account no longer shows in the link.
		e.ok(e.json("crm.requisite.bankdetail.delete", map[string]any{"id": bank}))
		if b := e.ok(e.json("crm.requisite.link.get", map[string]any{"entityTypeId": 2, "entityId": deal})).str(t, "result", "BANK_DETAIL_ID"); b != "0" {
			t.Errorf("link to a deleted bank account: %s", b)
		}
		conform(t, "crm.requisite.link.unregister", e.ok(e.json("crm.requisite.link.unregister", map[string]any{"entityTypeId": 2, "entityId": deal})))
		e.fails(e.json("crm.requisite.link.get", map[string]any{"entityTypeId": 2, "entityId": deal}), http.StatusBadRequest, "", "Not found")
	})
}
