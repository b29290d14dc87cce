package bitrix_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
)

// TestRequisites is a 1C-style exchange: a company and an individual
// entrepreneur's contact get requisites with bank details, which are
// read, listed, found by INN, changed and deleted through the API.
func TestRequisites(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		co := e.ok(e.json("crm.company.add", map[string]any{"fields": map[string]any{"TITLE": "ООО Ромашка"}}))
		companyID := idOf(t, co)
		ct := e.ok(e.json("crm.contact.add", map[string]any{"fields": map[string]any{"NAME": "Иван", "LAST_NAME": "Петров"}}))
		contactID := idOf(t, ct)

		add := e.ok(e.json("crm.requisite.add", map[string]any{"fields": map[string]any{
			"ENTITY_TYPE_ID": 4, "ENTITY_ID": companyID, "PRESET_ID": 1, "NAME": "Организация", "ACTIVE": "Y", "SORT": 500,
			"RQ_COMPANY_NAME": "ООО «Ромашка»", "RQ_COMPANY_FULL_NAME": "Общество с ограниченной ответственностью «Ромашка»",
			"RQ_DIRECTOR": "Сидоров С. С.", "RQ_ACCOUNTANT": "Иванова И. И.", "RQ_INN": "7707083893", "RQ_KPP": "773601001",
			"RQ_OGRN": "1027700132195", "RQ_OKPO": "00032537", "XML_ID": "5e4641fd-1dd9-11e6-b2f2-005056c00008",
			"RQ_OKVED": "64.19", "UF_CRM_1707997209": "ignored",
		}}))
		reqID := idOf(t, add)
		got := e.ok(e.get("crm.requisite.get", "id="+reqID))
		golden(t, "crm.requisite.get", got)
		expect(t, got, map[string]string{"result/ENTITY_TYPE_ID": "4", "result/ENTITY_ID": companyID, "result/PRESET_ID": "1",
			"result/RQ_INN": "7707083893", "result/ACTIVE": "Y", "result/SORT": "500"})

		// An individual entrepreneur's requisite on the contact, filled
		// from a form (strings).
		ip := e.ok(e.form("crm.requisite.add", q("fields[ENTITY_TYPE_ID]", "3", "fields[ENTITY_ID]", contactID, "fields[PRESET_ID]", "2",
			"fields[NAME]", "ИП Петров", "fields[RQ_LAST_NAME]", "Петров", "fields[RQ_FIRST_NAME]", "Иван",
			"fields[RQ_SECOND_NAME]", "Сергеевич", "fields[RQ_INN]", "500100732259", "fields[RQ_OGRNIP]", "304500116000157")))
		ipID := idOf(t, ip)
		expect(t, e.ok(e.get("crm.requisite.get", "id="+ipID)), map[string]string{"result/ENTITY_TYPE_ID": "3", "result/ENTITY_ID": contactID,
			"result/PRESET_ID": "2", "result/RQ_OGRNIP": "304500116000157", "result/RQ_KPP": ""})

		// Bank details.
		bank := e.ok(e.json("crm.requisite.bankdetail.add", map[string]any{"fields": map[string]any{
			"ENTITY_ID": reqID, "NAME": "Основной счёт", "RQ_BANK_NAME": "ПАО Сбербанк", "RQ_BANK_ADDR": "117997, Москва, ул. Вавилова, 19",
			"RQ_BIK": "044525225", "RQ_ACC_NUM": "40702810938000060473", "RQ_COR_ACC_NUM": "30101810400000000225",
			"RQ_ACC_CURRENCY": "RUB", "SORT": 600, "COMMENTS": "для платежей",
		}}))
		bankID := idOf(t, bank)
		e.ok(e.json("crm.requisite.bankdetail.add", map[string]any{"fields": map[string]any{"ENTITY_ID": ipID, "NAME": "Счёт ИП", "RQ_BIK": "044525974", "RQ_ACC_NUM": "40802810000000000001"}}))
		bget := e.ok(e.get("crm.requisite.bankdetail.get", "id="+bankID))
		golden(t, "crm.requisite.bankdetail.get", bget)
		expect(t, bget, map[string]string{"result/ENTITY_ID": reqID, "result/RQ_BIK": "044525225", "result/SORT": "600", "result/COUNTRY_ID": "1"})

		// Lists: by owner, by INN, with select and order.
		list := e.ok(e.json("crm.requisite.list", map[string]any{"filter": map[string]any{"ENTITY_TYPE_ID": 4, "ENTITY_ID": companyID},
			"select": []string{"ID", "NAME", "RQ_INN", "ENTITY_ID"}}))
		golden(t, "crm.requisite.list", list)
		expect(t, list, map[string]string{"total": "1", "result/0/ID": reqID, "result/0/RQ_INN": "7707083893"})
		byINN := e.ok(e.get("crm.requisite.list", q("filter[RQ_INN]", "500100732259")))
		expect(t, byINN, map[string]string{"total": "1", "result/0/ID": ipID, "result/0/ENTITY_TYPE_ID": "3"})
		all := e.ok(e.get("crm.requisite.list", q("order[ID]", "DESC", "filter[ACTIVE]", "Y")))
		expect(t, all, map[string]string{"total": "2", "result/0/ID": ipID, "result/1/ID": reqID})
		banks := e.ok(e.json("crm.requisite.bankdetail.list", map[string]any{"filter": map[string]any{"ENTITY_ID": reqID}}))
		golden(t, "crm.requisite.bankdetail.list", banks)
		expect(t, banks, map[string]string{"total": "1", "result/0/ID": bankID})
		golden(t, "crm.requisite.fields", e.ok(e.get("crm.requisite.fields", "")))
		golden(t, "crm.requisite.bankdetail.fields", e.ok(e.get("crm.requisite.bankdetail.fields", "")))
		golden(t, "crm.requisite.preset.list", e.ok(e.get("crm.requisite.preset.list", "")))

		// The company is found by its requisite's INN in Obmen's lists.
		as, _, err := e.s.ListAccounts(ctx, store.ListParams{INN: "7707083893"})
		if err != nil || len(as) != 1 || as[0].Requisites[0].BankDetails[0].Account != "40702810938000060473" {
			t.Fatalf("account by requisite INN: %v %+v", err, as)
		}

		// Updates: a partial update keeps the rest; the owner cannot move.
		e.ok(e.json("crm.requisite.update", map[string]any{"id": reqID, "fields": map[string]any{"RQ_DIRECTOR": "Петров П. П.", "ENTITY_ID": contactID, "ACTIVE": "N"}}))
		expect(t, e.ok(e.get("crm.requisite.get", "id="+reqID)), map[string]string{"result/RQ_DIRECTOR": "Петров П. П.",
			"result/RQ_INN": "7707083893", "result/ENTITY_ID": companyID, "result/ACTIVE": "N"})
		e.ok(e.form("crm.requisite.bankdetail.update", q("id", bankID, "fields[RQ_ACC_NUM]", "40702810938000060474")))
		expect(t, e.ok(e.get("crm.requisite.bankdetail.get", "id="+bankID)), map[string]string{"result/RQ_ACC_NUM": "40702810938000060474",
			"result/RQ_BIK": "044525225", "result/COMMENTS": "для платежей"})

		// Each write was an update event of the company or the contact.
		evs, err := e.s.Events(ctx, events.Query{Entity: store.EntityAccount})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if _, ok := ev.Changes["requisites"]; ok {
				n++
			}
		}
		if n != 4 { // requisite add, bank add, requisite update, bank update
			t.Fatalf("%d requisite events of the company, want 4", n)
		}

		// Deleting the requisite deletes its bank details.
		e.ok(e.get("crm.requisite.delete", "id="+reqID))
		e.fails(e.get("crm.requisite.get", "id="+reqID), http.StatusBadRequest, "", "The Requisite with ID '"+reqID+"' is not found")
		e.fails(e.get("crm.requisite.bankdetail.get", "id="+bankID), http.StatusBadRequest, "", "The RequisiteBankDetail with ID '"+bankID+"' is not found")
		e.ok(e.get("crm.requisite.bankdetail.delete", "id="+idOf(t, e.ok(e.json("crm.requisite.bankdetail.add", map[string]any{"fields": map[string]any{"ENTITY_ID": ipID, "NAME": "x"}})))))
		if rs, err := e.s.RequisitesOf(ctx, store.EntityContact, requisiteOwnerID(t, contactID)); err != nil || len(rs) != 1 || len(rs[0].BankDetails) != 1 {
			t.Fatalf("contact requisites at the end: %v %+v", err, rs)
		}
	})
}

func TestRequisiteErrors(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a, err := e.s.CreateAccount(ctx, e.admin, crm.Account{Title: "Ромашка"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.s.CreateRequisite(ctx, e.admin, a.ID, crm.Requisite{Name: "Основные"})
		if err != nil {
			t.Fatal(err)
		}
		company, req := strconv.FormatInt(a.ID, 10), strconv.FormatInt(r.ID, 10)
		add := func(fields map[string]any) answer {
			return e.json("crm.requisite.add", map[string]any{"fields": fields})
		}
		base := func(extra map[string]any) map[string]any {
			m := map[string]any{"ENTITY_TYPE_ID": 4, "ENTITY_ID": company, "PRESET_ID": 1, "NAME": "x"}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}
		bad := http.StatusBadRequest
		golden(t, "crm.requisite.add.error", add(base(map[string]any{"RQ_INN": "7707083894"})))
		for _, c := range []struct {
			name   string
			a      answer
			substr string
		}{
			{"no type", add(map[string]any{"ENTITY_ID": company, "PRESET_ID": 1}), "ENTITY_TYPE_ID is not defined or invalid."},
			{"deal type", add(base(map[string]any{"ENTITY_TYPE_ID": 2})), "ENTITY_TYPE_ID is not defined or invalid."},
			{"no entity", add(map[string]any{"ENTITY_TYPE_ID": 4, "PRESET_ID": 1}), "ENTITY_ID is not defined or invalid."},
			{"bad entity", add(base(map[string]any{"ENTITY_ID": "abc"})), "ENTITY_ID is not defined or invalid."},
			{"no preset", add(map[string]any{"ENTITY_TYPE_ID": 4, "ENTITY_ID": company}), "PRESET_ID is not defined or invalid."},
			{"unknown preset", add(base(map[string]any{"PRESET_ID": 7})), "PRESET_ID is not defined or invalid."},
			{"missing company", add(base(map[string]any{"ENTITY_ID": "999999"})), "Entity not found."},
			{"missing contact", add(base(map[string]any{"ENTITY_TYPE_ID": 3, "ENTITY_ID": "999999"})), "Entity not found."},
			{"INN letters", add(base(map[string]any{"RQ_INN": "77O7083893"})), "Field RQ_INN: must hold digits only"},
			{"INN length", add(base(map[string]any{"RQ_INN": "770708389"})), "Field RQ_INN: must have 10 or 12 digits"},
			{"KPP", add(base(map[string]any{"RQ_KPP": "77360100"})), "Field RQ_KPP:"},
			{"OGRN", add(base(map[string]any{"RQ_OGRN": "10277001321"})), "Field RQ_OGRN:"},
			{"OGRNIP", add(base(map[string]any{"RQ_OGRNIP": "3045001160001"})), "Field RQ_OGRNIP:"},
			{"update KPP", e.json("crm.requisite.update", map[string]any{"id": req, "fields": map[string]any{"RQ_KPP": "x"}}), "Field RQ_KPP: must hold digits only"},
			{"update missing", e.json("crm.requisite.update", map[string]any{"id": "999999", "fields": map[string]any{"NAME": "x"}}), "The Requisite with ID '999999' is not found"},
			{"update no id", e.json("crm.requisite.update", map[string]any{"fields": map[string]any{"NAME": "x"}}), "ID is not defined or invalid."},
			{"delete missing", e.get("crm.requisite.delete", "id=999999"), "The Requisite with ID '999999' is not found"},
			{"filter unknown", e.get("crm.requisite.list", q("filter[RQ_ADDR]", "x")), "Field RQ_ADDR: cannot filter requisites by this field"},
			{"bank no requisite", e.json("crm.requisite.bankdetail.add", map[string]any{"fields": map[string]any{"NAME": "x"}}), "ENTITY_ID is not defined or invalid."},
			{"bank missing requisite", e.json("crm.requisite.bankdetail.add", map[string]any{"fields": map[string]any{"ENTITY_ID": "999999"}}), "The Requisite with ID '999999' is not found"},
			{"BIK", e.json("crm.requisite.bankdetail.add", map[string]any{"fields": map[string]any{"ENTITY_ID": req, "RQ_BIK": "04452522"}}), "Field RQ_BIK: "},
			{"account", e.json("crm.requisite.bankdetail.add", map[string]any{"fields": map[string]any{"ENTITY_ID": req, "RQ_ACC_NUM": "4070281093800006047"}}), "Field RQ_ACC_NUM: "},
			{"corr account", e.json("crm.requisite.bankdetail.add", map[string]any{"fields": map[string]any{"ENTITY_ID": req, "RQ_COR_ACC_NUM": "3010181040000000022X"}}), "Field RQ_COR_ACC_NUM: must hold digits only"},
			{"currency", e.json("crm.requisite.bankdetail.add", map[string]any{"fields": map[string]any{"ENTITY_ID": req, "RQ_ACC_CURRENCY": "рубль"}}), "Field RQ_ACC_CURRENCY: "},
			{"bank update missing", e.json("crm.requisite.bankdetail.update", map[string]any{"id": "999999", "fields": map[string]any{"NAME": "x"}}), "The RequisiteBankDetail with ID '999999' is not found"},
			{"bank delete missing", e.get("crm.requisite.bankdetail.delete", "id=999999"), "The RequisiteBankDetail with ID '999999' is not found"},
		} {
			t.Run(c.name, func(t *testing.T) { e.with(t).fails(c.a, bad, "", c.substr) })
		}
		// The refused writes wrote nothing.
		rs, err := e.s.ListRequisites(ctx, a.ID)
		if err != nil || len(rs) != 1 || len(rs[0].BankDetails) != 0 || rs[0].KPP != "" {
			t.Fatalf("requisites after refused writes: %v %+v", err, rs)
		}
		// A webhook without the crm scope may not call them.
		noCRM := newEnv(t, e.d, "user")
		noCRM.fails(noCRM.get("crm.requisite.list", ""), http.StatusForbidden, "insufficient_scope", "")
	})
}

// requisiteOwnerID reads an id answered by crm.*.add (named apart from the
// other tests' helpers).
func requisiteOwnerID(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
