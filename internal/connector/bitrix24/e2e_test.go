package bitrix24_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/app/apptest"
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/bitrix24"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// pair is two Obmen instances on loopback: shop sends, portal plays
// Bitrix24 through its own Bitrix24-compatible REST API and an incoming
// webhook of its admin.
type pair struct {
	shop, portal *apptest.Server
	shopActor    crm.Actor
	portalAdmin  int64
	code         string
	conn         connection.Connection
}

func newPair(t *testing.T, e storetest.Engine) *pair {
	ctx := context.Background()
	p := &pair{shop: apptest.Start(t, e.Open(t)), portal: apptest.Start(t, e.Open(t))}
	u, err := p.portal.App.Store.UserByLogin(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	p.portalAdmin = u.ID
	if _, p.code, err = p.portal.App.Bitrix.CreateWebhook(ctx, u.ID, "obmen shop", []string{"crm", "user"}); err != nil {
		t.Fatal(err)
	}
	su, err := p.shop.App.Store.UserByLogin(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	p.shopActor = crm.Actor{UserID: su.ID}
	p.shop.Do(t, "POST", "/api/v1/connections", map[string]any{"type": bitrix24.Type, "name": "Портал", "settings": map[string]any{
		"portal_url": p.portal.Srv.URL, "user_id": u.ID, "webhook_code": p.code, "app_token": "outgoing-token"}}, http.StatusCreated, &p.conn)
	return p
}

func (p *pair) call(t *testing.T, action string, in map[string]any) automation.CallResponse {
	t.Helper()
	in["connection"] = p.conn.ID
	var cr automation.CallResponse
	p.shop.Do(t, "POST", "/api/v1/actions/"+action, in, http.StatusOK, &cr)
	return cr
}

func out(t *testing.T, cr automation.CallResponse) map[string]any {
	t.Helper()
	if cr.Result != "OK" {
		t.Fatalf("the action failed: %+v", cr)
	}
	m, _ := cr.Output.(map[string]any)
	return m
}

func id(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

func countDeals(t *testing.T, s *store.Store) int {
	t.Helper()
	deals, _, err := s.ListDeals(context.Background(), store.ListParams{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return len(deals)
}

// Orders of both client kinds go to a second Obmen playing the portal:
// check and refresh through the webhook, a person's order as contact +
// deal + product rows in the mapped stage, a company's with its requisite
// and bank details, the ids stored as external ids so that a repeat
// updates; contact.upsert finds the portal's contact by phone.
func TestEndToEndSecondObmen(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			p := newPair(t, e)
			var res connection.CheckResult
			p.shop.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/check", p.conn.ID), nil, http.StatusOK, &res)
			if !res.OK {
				t.Fatalf("check: %+v", res)
			}
			// A wrong webhook code: the portal's NO_AUTH_FOUND, told in
			// Russian; settings not saved yet are checked the same way.
			p.shop.Do(t, "POST", "/api/v1/connections/check", map[string]any{"type": bitrix24.Type, "settings": map[string]any{
				"portal_url": p.portal.Srv.URL, "user_id": p.portalAdmin, "webhook_code": "wrong-code"}}, http.StatusOK, &res)
			if res.OK || res.Class != bitrix24.ClassNoAuth || strings.Contains(res.Detail, "wrong-code") {
				t.Fatalf("check of a wrong webhook: %+v", res)
			}
			var rr connection.RefreshResult
			p.shop.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/refresh", p.conn.ID), nil, http.StatusOK, &rr)
			if rr.Failed != nil {
				t.Fatalf("refresh: %+v", rr.Failed)
			}
			cats, _ := rr.Connection.Dictionaries["categories"].([]any)
			if len(cats) == 0 {
				t.Fatalf("refresh: no pipelines: %v", rr.Connection.Dictionaries)
			}
			def := cats[0].(map[string]any)
			stages, _ := def["stages"].([]any)
			if id(def["id"]) != 0 || len(stages) < 2 {
				t.Fatalf("refresh: the default pipeline first with its stages: %v", def)
			}
			users, _ := rr.Connection.Dictionaries["users"].([]any)
			if len(users) == 0 || id(users[0].(map[string]any)["id"]) != p.portalAdmin {
				t.Fatalf("refresh: users %v", users)
			}
			stage := fmt.Sprint(stages[1].(map[string]any)["id"])
			mapping, _ := json.Marshal(map[string]string{crm.OrderCreated: stage})
			p.shop.Do(t, "PUT", fmt.Sprintf("/api/v1/connections/%d", p.conn.ID), map[string]any{"name": "Портал", "settings": map[string]any{
				"portal_url": p.portal.Srv.URL, "user_id": p.portalAdmin, "status_map": string(mapping)}}, http.StatusOK, nil)

			// A person's order.
			s := p.shop.App.Store
			person, err := s.CreateContact(ctx, p.shopActor, crm.Contact{Name: "Иван", LastName: "Петров", Comms: crm.Comms{
				Phones: []crm.Comm{{Value: "+7 925 123-45-67", ValueType: "WORK"}}, Emails: []crm.Comm{{Value: "ivan@example.ru", ValueType: "WORK"}}}})
			if err != nil {
				t.Fatal(err)
			}
			vat := crm.Amount(2000)
			order, err := s.CreateSalesOrder(ctx, p.shopActor, crm.SalesOrder{ContactID: person.ID, FromSite: "shop.example.ru", OrderDate: "2026-12-01",
				Comments: "Позвонить до доставки", Items: []crm.LineItem{
					{Name: "Фотокнига", Price: 150000, Quantity: 2000, VATRate: &vat, VATIncluded: true},
					{Name: "Доставка", Price: 30000, Quantity: 1000}}})
			if err != nil {
				t.Fatal(err)
			}
			o := out(t, p.call(t, bitrix24.ActionDealUpsert, map[string]any{"sales_order_id": order.ID}))
			if o["outcome"] != bitrix24.OutcomeCreated || id(o["id"]) == 0 || id(o["contact_id"]) == 0 {
				t.Fatalf("deal.upsert: %v", o)
			}
			ps := p.portal.App.Store
			deal, err := ps.GetDeal(ctx, id(o["id"]))
			if err != nil {
				t.Fatal(err)
			}
			if deal.Opportunity != order.Total || deal.Currency != "RUB" || deal.StageID != stage || deal.CategoryID != 0 ||
				len(deal.ContactIDs) != 1 || deal.ContactIDs[0] != id(o["contact_id"]) || deal.SourceDescription != "shop.example.ru" ||
				deal.BeginDate != "2026-12-01" || deal.AssignedByID != p.portalAdmin {
				t.Fatalf("the portal's deal %+v, order total %s", deal, order.Total)
			}
			if len(deal.ProductRows) != 2 || deal.ProductRows[0].Name != "Фотокнига" || deal.ProductRows[0].Quantity != 2000 || deal.ProductRows[0].Sum != 300000 {
				t.Fatalf("the portal's product rows %+v", deal.ProductRows)
			}
			pc, err := ps.GetContact(ctx, id(o["contact_id"]))
			if err != nil {
				t.Fatal(err)
			}
			if len(pc.Phones) != 1 || pc.Phones[0].ValueType != "MOBILE" || len(pc.Emails) != 1 || pc.Emails[0].ValueType != "HOME" || pc.LastName != "Петров" {
				t.Fatalf("the portal's contact %+v", pc)
			}
			sys := "bitrix24:" + p.portal.Srv.Listener.Addr().String()
			order, _ = s.GetSalesOrder(ctx, order.ID)
			person, _ = s.GetContact(ctx, person.ID)
			if order.ExternalIDs[sys] != fmt.Sprint(id(o["id"])) || person.ExternalIDs[sys] != fmt.Sprint(id(o["contact_id"])) {
				t.Fatalf("external ids: order %v, contact %v (system %s)", order.ExternalIDs, person.ExternalIDs, sys)
			}

			// The seam of the portal → Obmen direction: the deal's id
			// leads back to the order.
			deps := bitrix24.Deps{Store: s}
			if back, err := deps.Find(ctx, sys, store.EntitySalesOrder, id(o["id"])); err != nil || back != order.ID {
				t.Fatalf("Find the order of deal %d: %d, %v", id(o["id"]), back, err)
			}
			if tl, err := ps.ListComments(ctx, store.EntityDeal, id(o["id"])); err != nil || len(tl) != 1 || tl[0].Body != "Позвонить до доставки" {
				t.Fatalf("the order's comment on the deal's timeline: %+v, %v", tl, err)
			}

			// A repeat after a change updates the same deal.
			deals := countDeals(t, ps)
			if _, err := s.UpdateSalesOrder(ctx, p.shopActor, order.ID, func(x *crm.SalesOrder) error {
				x.Items = append(x.Items, crm.LineItem{Name: "Упаковка", Price: 5000, Quantity: 1000})
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			o2 := out(t, p.call(t, bitrix24.ActionDealUpsert, map[string]any{"sales_order_id": order.ID}))
			order, _ = s.GetSalesOrder(ctx, order.ID)
			deal, _ = ps.GetDeal(ctx, id(o["id"]))
			if o2["outcome"] != bitrix24.OutcomeUpdated || id(o2["id"]) != id(o["id"]) || id(o2["requests"]) != 1 || countDeals(t, ps) != deals ||
				deal.Opportunity != order.Total || len(deal.ProductRows) != 3 {
				t.Fatalf("repeat: %v; deals %d → %d; deal %+v", o2, deals, countDeals(t, ps), deal)
			}
			if pc2, _ := ps.GetContact(ctx, pc.ID); len(pc2.Phones) != 1 || len(pc2.Emails) != 1 {
				t.Fatalf("the repeat doubled the contact's phones or e-mails: %+v", pc2.Comms)
			}

			// A company's order: the company with requisite and bank
			// details, its employee linked to it.
			acc, err := s.CreateAccount(ctx, p.shopActor, crm.Account{Title: "ООО Ромашка", Kind: "legal", Comms: crm.Comms{
				Phones: []crm.Comm{{Value: "+7 495 111-22-33", ValueType: "WORK"}}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateRequisite(ctx, p.shopActor, acc.ID, crm.Requisite{PresetID: crm.PresetCompany, Name: "ООО Ромашка", ShortName: "ООО Ромашка",
				INN: "7707083893", KPP: "773601001", BankDetails: []crm.BankDetail{{Name: "Основной", Bank: "ПАО Сбербанк", BIK: "044525225",
					Account: "40702810938000000001", CorrAccount: "30101810400000000225"}}}); err != nil {
				t.Fatal(err)
			}
			emp, err := s.CreateContact(ctx, p.shopActor, crm.Contact{Name: "Мария", LastName: "Сидорова", AccountIDs: []int64{acc.ID}, Comms: crm.Comms{
				Emails: []crm.Comm{{Value: "maria@romashka.ru", ValueType: "WORK"}}}})
			if err != nil {
				t.Fatal(err)
			}
			corder, err := s.CreateSalesOrder(ctx, p.shopActor, crm.SalesOrder{AccountID: acc.ID, ContactID: emp.ID, Items: []crm.LineItem{{Name: "Календари", Price: 99000, Quantity: 10000}}})
			if err != nil {
				t.Fatal(err)
			}
			co := out(t, p.call(t, bitrix24.ActionDealUpsert, map[string]any{"sales_order_id": corder.ID}))
			cdeal, err := ps.GetDeal(ctx, id(co["id"]))
			if err != nil {
				t.Fatal(err)
			}
			if cdeal.AccountID != id(co["company_id"]) || cdeal.AccountID == 0 || cdeal.Opportunity != corder.Total {
				t.Fatalf("company deal %+v, output %v", cdeal, co)
			}
			rqs, err := ps.ListRequisites(ctx, cdeal.AccountID)
			if err != nil || len(rqs) != 1 || rqs[0].INN != "7707083893" || rqs[0].KPP != "773601001" || len(rqs[0].BankDetails) != 1 ||
				rqs[0].BankDetails[0].BIK != "044525225" || rqs[0].BankDetails[0].Account != "40702810938000000001" {
				t.Fatalf("the portal's requisites %+v, %v", rqs, err)
			}
			pemp, _ := ps.GetContact(ctx, id(co["contact_id"]))
			if len(pemp.AccountIDs) == 0 || pemp.AccountIDs[0] != cdeal.AccountID {
				t.Fatalf("the employee is not linked to the company: %+v", pemp)
			}
			acc, _ = s.GetAccount(ctx, acc.ID)
			if acc.ExternalIDs[sys] != fmt.Sprint(cdeal.AccountID) {
				t.Fatalf("the account's Bitrix id: %v", acc.ExternalIDs)
			}
			// Exporting it again finds it by its stored id.
			ex := out(t, p.call(t, bitrix24.ActionCompanyExport, map[string]any{"account_id": acc.ID}))
			if ex["outcome"] != bitrix24.OutcomeFound || id(ex["id"]) != cdeal.AccountID {
				t.Fatalf("company.export of an exported company: %v", ex)
			}

			// contact.upsert: the portal's contact found by phone.
			cu := out(t, p.call(t, bitrix24.ActionContactUpsert, map[string]any{"name": "Иван", "phone": "+79251234567"}))
			if cu["outcome"] != bitrix24.OutcomeUpdated || id(cu["id"]) != pc.ID || cu["matched_by"] != "phone" {
				t.Fatalf("contact.upsert by phone: %v", cu)
			}
			cn := out(t, p.call(t, bitrix24.ActionContactUpsert, map[string]any{"name": "Новый", "email": "new@example.ru"}))
			if cn["outcome"] != bitrix24.OutcomeCreated || id(cn["id"]) == 0 || id(cn["id"]) == pc.ID {
				t.Fatalf("contact.upsert of a new one: %v", cn)
			}
			// timeline.add and lead.create.
			tl := out(t, p.call(t, bitrix24.ActionTimelineAdd, map[string]any{"entity_type": "deal", "entity_id": id(o["id"]), "comment": "Оплачен"}))
			ld := out(t, p.call(t, bitrix24.ActionLeadCreate, map[string]any{"title": "Новый клиент", "name": "Пётр", "phone": "+79990001122"}))
			if id(tl["id"]) == 0 || id(ld["id"]) == 0 {
				t.Fatalf("timeline.add %v, lead.create %v", tl, ld)
			}
			if lead, err := ps.GetLead(ctx, id(ld["id"])); err != nil || lead.Title != "Новый клиент" || len(lead.Phones) != 1 || lead.Phones[0].ValueType != "MOBILE" {
				t.Fatalf("the portal's lead %+v, %v", lead, err)
			}

			// New clients as leads: a person's order as one lead, a
			// company's as two; a repeat updates the order's lead.
			p.shop.Do(t, "PUT", fmt.Sprintf("/api/v1/connections/%d", p.conn.ID), map[string]any{"name": "Портал", "settings": map[string]any{
				"portal_url": p.portal.Srv.URL, "user_id": p.portalAdmin, "status_map": string(mapping), "leads_for_new_clients": true}}, http.StatusOK, nil)
			newbie, err := s.CreateContact(ctx, p.shopActor, crm.Contact{Name: "Олег", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 916 555-44-33", ValueType: "WORK"}}}})
			if err != nil {
				t.Fatal(err)
			}
			lorder, err := s.CreateSalesOrder(ctx, p.shopActor, crm.SalesOrder{ContactID: newbie.ID, Items: []crm.LineItem{{Name: "Магнит", Price: 20000, Quantity: 5000}}})
			if err != nil {
				t.Fatal(err)
			}
			deals = countDeals(t, ps)
			lo := out(t, p.call(t, bitrix24.ActionDealUpsert, map[string]any{"sales_order_id": lorder.ID}))
			lead, err := ps.GetLead(ctx, id(lo["lead_id"]))
			if lo["outcome"] != bitrix24.OutcomeLeadCreated || err != nil || lead.Name != "Олег" || lead.Opportunity != lorder.Total ||
				len(lead.ProductRows) != 1 || len(lead.Phones) != 1 || lead.Phones[0].ValueType != "MOBILE" || countDeals(t, ps) != deals {
				t.Fatalf("a new person's order as a lead: %v, %+v, %v", lo, lead, err)
			}
			lo2 := out(t, p.call(t, bitrix24.ActionDealUpsert, map[string]any{"sales_order_id": lorder.ID}))
			if lo2["outcome"] != bitrix24.OutcomeLeadUpdated || id(lo2["lead_id"]) != id(lo["lead_id"]) {
				t.Fatalf("repeat of a lead: %v", lo2)
			}
			nacc, err := s.CreateAccount(ctx, p.shopActor, crm.Account{Title: "ИП Лютиков", Kind: "legal", Comms: crm.Comms{Emails: []crm.Comm{{Value: "office@lutik.ru", ValueType: "WORK"}}}})
			if err != nil {
				t.Fatal(err)
			}
			nemp, err := s.CreateContact(ctx, p.shopActor, crm.Contact{Name: "Павел", AccountIDs: []int64{nacc.ID}, Comms: crm.Comms{Emails: []crm.Comm{{Value: "pavel@lutik.ru", ValueType: "WORK"}}}})
			if err != nil {
				t.Fatal(err)
			}
			norder, err := s.CreateSalesOrder(ctx, p.shopActor, crm.SalesOrder{AccountID: nacc.ID, ContactID: nemp.ID, Items: []crm.LineItem{{Name: "Визитки", Price: 100000, Quantity: 1000}}})
			if err != nil {
				t.Fatal(err)
			}
			no := out(t, p.call(t, bitrix24.ActionDealUpsert, map[string]any{"sales_order_id": norder.ID}))
			elead, err1 := ps.GetLead(ctx, id(no["lead_id"]))
			clead, err2 := ps.GetLead(ctx, id(no["company_lead_id"]))
			if no["outcome"] != bitrix24.OutcomeLeadCreated || err1 != nil || err2 != nil || elead.Name != "Павел" || elead.CompanyTitle != "ИП Лютиков" ||
				len(elead.ProductRows) != 1 || clead.Title != "ИП Лютиков" || len(clead.ProductRows) != 0 || countDeals(t, ps) != deals {
				t.Fatalf("a new company's order as two leads: %v; employee's %+v %v; company's %+v %v", no, elead, err1, clead, err2)
			}
		})
	}
}
