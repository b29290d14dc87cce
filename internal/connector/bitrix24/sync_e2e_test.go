package bitrix24_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/automation/gallery"
	"github.com/obmen/obmen/internal/connector/bitrix24"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/delivery"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The built-in sync is the shipped templates and the connection's
// settings, nothing else: the sync is switched on through the API (the
// bundles installed from the gallery's templates, bound to the
// connection), the portal — a second Obmen — gets an outgoing webhook
// to the hook URL that answer gave, as an administrator sets one up in
// Bitrix24; then an order created in Obmen becomes a deal in the portal's
// mapped stage, and a manager's stage change in the portal comes back by
// the portal's own event post as the order's status. No test code calls
// an action or posts an event; each direction's run is the sync bundle's.
func TestSyncSwitchedOnEndToEnd(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			p := newPair(t, e)
			mapping, _ := json.Marshal(map[string]string{crm.OrderCreated: "NEW", crm.OrderApproved: "PREPAYMENT_INVOICE"})
			p.shop.Do(t, "PUT", fmt.Sprintf("/api/v1/connections/%d", p.conn.ID), map[string]any{"name": "Портал", "settings": map[string]any{
				"portal_url": p.portal.Srv.URL, "user_id": p.portalAdmin, "status_map": string(mapping)}}, http.StatusOK, nil)

			var st gallery.SyncState
			p.shop.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/sync", p.conn.ID), nil, http.StatusOK, &st)
			if !st.On || st.HookURL == "" || len(st.Parts) != 2 {
				t.Fatalf("the sync switched on: %+v", st)
			}
			parts := map[string]int64{}
			for _, pt := range st.Parts {
				parts[pt.Template] = pt.BundleID
			}
			send, apply := parts["bitrix24-order-deal"], parts["bitrix24-portal-changes"]
			if send == 0 || apply == 0 {
				t.Fatalf("the sync's bundles: %+v", st.Parts)
			}

			// The portal's administrator makes the outgoing webhook
			// (seed 002: the update and delete events) to the URL the
			// sync gave, with the token the connection holds. Changes
			// its incoming webhook makes are not sent back, as in
			// Bitrix24 an application's own changes.
			hooks, err := p.portal.App.Bitrix.ListWebhooks(ctx, p.portalAdmin)
			if err != nil || len(hooks) != 1 {
				t.Fatalf("the portal's webhooks: %v, %v", hooks, err)
			}
			p.portal.Do(t, "POST", "/api/v1/outbound-webhooks", map[string]any{"kind": delivery.KindBitrix, "name": "Обмен", "url": st.HookURL,
				"events": []string{"ONCRMDEALUPDATE", "ONCRMDEALDELETE", "ONCRMCONTACTUPDATE", "ONCRMCONTACTDELETE",
					"ONCRMCOMPANYUPDATE", "ONCRMCOMPANYDELETE", "ONCRMLEADUPDATE", "ONCRMLEADDELETE", "ONCRMPRODUCTDELETE"},
				"token": "outgoing-token", "integration": hooks[0].Actor().Integration}, http.StatusCreated, nil)

			s, ps := p.shop.App.Store, p.portal.App.Store
			person, err := s.CreateContact(ctx, p.shopActor, crm.Contact{Name: "Пётр", LastName: "Сидоров", Comms: crm.Comms{
				Phones: []crm.Comm{{Value: "+7 912 000-11-22", ValueType: "MOBILE"}}}})
			if err != nil {
				t.Fatal(err)
			}
			order, err := s.CreateSalesOrder(ctx, p.shopActor, crm.SalesOrder{ContactID: person.ID,
				Items: []crm.LineItem{{Name: "Холст 40×60", Price: 320000, Quantity: 2000}}})
			if err != nil {
				t.Fatal(err)
			}
			sys := "bitrix24:" + hostOf(p.portal.Srv.URL)
			var dealID int64
			waitFor(t, "the order's deal in the portal", func() bool {
				o, err := s.GetSalesOrder(ctx, order.ID)
				dealID = id(o.ExternalIDs[sys])
				return err == nil && dealID != 0
			})
			deal, err := ps.GetDeal(ctx, dealID)
			if err != nil || deal.StageID != "NEW" || deal.Opportunity != 640000 || len(deal.ContactIDs) != 1 {
				t.Fatalf("the portal's deal: %+v, %v", deal, err)
			}
			if r := lastRun(t, p, send); r.Status != automation.StatusOK {
				t.Fatalf("the send bundle's run: %+v", r)
			}

			// A manager moves the deal; the portal posts its event.
			if _, err := ps.UpdateDeal(ctx, crm.Actor{UserID: p.portalAdmin}, dealID, func(x *crm.Deal) error {
				x.StageID = "PREPAYMENT_INVOICE"
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the order's status from the portal's stage", func() bool {
				o, err := s.GetSalesOrder(ctx, order.ID)
				return err == nil && o.Status == crm.OrderApproved
			})
			if r := lastRun(t, p, apply); r.Status != automation.StatusOK || runOutput(t, p, r.ID)["outcome"] != bitrix24.ApplyUpdated {
				t.Fatalf("the apply bundle's run: %+v", r)
			}
			// The status the portal caused runs the send bundle again,
			// which sends nothing back.
			if runs := finishedRuns(t, p, send, 2); runOutput(t, p, runs[0].ID)["outcome"] != bitrix24.OutcomeUnchanged {
				t.Fatalf("the send after the portal's change: %+v", runs[0])
			}
			if deal, _ := ps.GetDeal(ctx, dealID); deal.StageID != "PREPAYMENT_INVOICE" {
				t.Fatalf("the portal's stage after the round trip: %q", deal.StageID)
			}
			// Every run is the two sync bundles'.
			var bs struct {
				Items []automation.Bundle `json:"items"`
			}
			p.shop.Do(t, "GET", "/api/v1/bundles", nil, http.StatusOK, &bs)
			if len(bs.Items) != 2 {
				t.Fatalf("%d bundles", len(bs.Items))
			}
		})
	}
}

func hostOf(s string) string {
	u, _ := url.Parse(s)
	return u.Host
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// lastRun waits for the bundle's newest run to finish.
func lastRun(t *testing.T, p *pair, bundleID int64) automation.Run {
	t.Helper()
	var r automation.Run
	waitFor(t, fmt.Sprintf("bundle %d's run", bundleID), func() bool {
		var l automation.RunList
		p.shop.Do(t, "GET", fmt.Sprintf("/api/v1/bundles/%d/runs?limit=1", bundleID), nil, http.StatusOK, &l)
		if len(l.Items) == 0 || !l.Items[0].Finished() {
			return false
		}
		r = l.Items[0]
		return true
	})
	return r
}
