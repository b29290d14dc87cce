package bitrix24_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/connector/bitrix24"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// An order that went to the portal as a lead follows the lead: converted
// by a manager into a deal, the deal becomes the order's (a timeline
// comment says so) and the next send updates it, not the lead; the lead
// event again changes nothing; the lead deleted afterwards drops only its
// link, with a comment.
func TestApplyLeadSecondObmen(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			p := newPair(t, e)
			s, ps := p.shop.App.Store, p.portal.App.Store
			host := strings.TrimPrefix(p.portal.Srv.URL, "http://")
			p.shop.Do(t, "PUT", fmt.Sprintf("/api/v1/connections/%d", p.conn.ID), map[string]any{"name": "Портал", "settings": map[string]any{
				"portal_url": p.portal.Srv.URL, "user_id": p.portalAdmin, "leads_for_new_clients": true}}, http.StatusOK, nil)
			newbie, err := s.CreateContact(ctx, p.shopActor, crm.Contact{Name: "Олег", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 916 555-44-33", ValueType: "WORK"}}}})
			if err != nil {
				t.Fatal(err)
			}
			order, err := s.CreateSalesOrder(ctx, p.shopActor, crm.SalesOrder{ContactID: newbie.ID, Items: []crm.LineItem{{Name: "Магнит", Price: 20000, Quantity: 5000}}})
			if err != nil {
				t.Fatal(err)
			}
			lo := out(t, p.call(t, bitrix24.ActionDealUpsert, map[string]any{"sales_order_id": order.ID}))
			lead := id(lo["lead_id"])
			if lo["outcome"] != bitrix24.OutcomeLeadCreated || lead == 0 {
				t.Fatalf("the order as a lead: %v", lo)
			}
			apply := func(ev string) map[string]any {
				return out(t, p.call(t, bitrix24.ActionEventApply, map[string]any{"event": ev, "id": lead}))
			}
			// Not converted yet: nothing.
			if o := apply("ONCRMLEADUPDATE"); o["outcome"] != bitrix24.ApplyUnchanged || id(o["sales_order_id"]) != order.ID {
				t.Fatalf("a lead not converted: %v", o)
			}
			admin := crm.Actor{UserID: p.portalAdmin}
			deal, err := ps.CreateDeal(ctx, admin, crm.Deal{Title: "Магниты для Олега", LeadID: lead})
			if err != nil {
				t.Fatal(err)
			}
			if o := apply("ONCRMLEADUPDATE"); o["outcome"] != bitrix24.ApplyLinked {
				t.Fatalf("the converted lead: %v", o)
			}
			order, _ = s.GetSalesOrder(ctx, order.ID)
			if order.ExternalIDs["bitrix24:"+host] != fmt.Sprint(deal.ID) || order.ExternalIDs["bitrix24-lead:"+host] != fmt.Sprint(lead) {
				t.Fatalf("the order's links: %v", order.ExternalIDs)
			}
			if o := apply("ONCRMLEADUPDATE"); o["outcome"] != bitrix24.ApplyUnchanged {
				t.Fatalf("the converted lead again: %v", o)
			}
			if do := out(t, p.call(t, bitrix24.ActionDealUpsert, map[string]any{"sales_order_id": order.ID})); do["outcome"] != bitrix24.OutcomeUpdated || id(do["id"]) != deal.ID {
				t.Fatalf("the send after the conversion: %v", do)
			}
			if d, _ := ps.GetDeal(ctx, deal.ID); d.Opportunity != order.Total {
				t.Fatalf("the converted deal after the send: %+v", d)
			}
			if err := ps.Delete(ctx, admin, store.EntityLead, lead); err != nil {
				t.Fatal(err)
			}
			if o := apply("ONCRMLEADDELETE"); o["outcome"] != bitrix24.ApplyLinkBroken {
				t.Fatalf("the lead deleted: %v", o)
			}
			order, _ = s.GetSalesOrder(ctx, order.ID)
			if order.ExternalIDs["bitrix24:"+host] != fmt.Sprint(deal.ID) || order.ExternalIDs["bitrix24-lead:"+host] != "" || order.ExternalIDs["bitrix24-deleted:"+host] != "" {
				t.Fatalf("the order's links after the lead's delete: %v", order.ExternalIDs)
			}
			cs, err := s.ListComments(ctx, store.EntitySalesOrder, order.ID)
			if err != nil || len(cs) != 2 {
				t.Fatalf("the order's timeline: %+v %v", cs, err)
			}
			text := cs[0].Body + "\n" + cs[1].Body
			if !strings.Contains(text, "сконвертирован") || !strings.Contains(text, "удалён в Битрикс24") {
				t.Fatalf("the order's timeline: %s", text)
			}
		})
	}
}
