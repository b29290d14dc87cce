package bitrix24_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/bitrix24"
	"github.com/obmen/obmen/internal/crm"
)

// The latency from a stage moved in the portal (a second Obmen) to the
// order's status in Obmen: the outgoing webhook's POST (token check, the
// deal read back, the run stored), the run of event.apply (the deal read
// again, the status written). SQLite. Two portal requests an event, under
// the process's real bucket (1.8 req/s, burst 49): run -benchtime=20x for
// the latency with the bucket free, more to see the pace.
func BenchmarkPortalStageToStatus(b *testing.B) {
	p := newPairB(b)
	ctx := context.Background()
	mapping, _ := json.Marshal(map[string]string{crm.OrderCreated: "NEW", crm.OrderApproved: "PREPAYMENT_INVOICE"})
	if _, err := p.shop.App.Connections.Update(ctx, p.shopActor.UserID, p.conn.ID, connection.Input{Type: bitrix24.Type, Name: "Портал", Settings: map[string]any{
		"portal_url": p.portal.Srv.URL, "user_id": p.portalAdmin, "webhook_code": p.code, "app_token": "outgoing-token", "status_map": string(mapping)}}); err != nil {
		b.Fatal(err)
	}
	p.shop.Do(b, "POST", "/api/v1/bundles", map[string]any{"name": "портал → заказ", "active": true,
		"trigger": map[string]any{"type": bitrix24.TriggerEvent, "connection": p.conn.ID},
		"steps": []any{map[string]any{"id": "apply", "action": bitrix24.ActionEventApply, "connection": p.conn.ID,
			"input": map[string]any{"event": "{{trigger.event}}", "id": "{{trigger.id}}"}}}}, http.StatusCreated, nil)
	var hook connection.Hook
	p.shop.Do(b, "POST", fmt.Sprintf("/api/v1/connections/%d/hook", p.conn.ID), nil, http.StatusOK, &hook)
	orderID := newOrder(b, p.shop, p.shopActor, 0)
	var cr struct {
		Result string `json:"result"`
		Output struct {
			ID int64 `json:"id"`
		} `json:"output"`
	}
	p.shop.Do(b, "POST", "/api/v1/actions/"+bitrix24.ActionDealUpsert, map[string]any{"connection": p.conn.ID, "sales_order_id": orderID}, http.StatusOK, &cr)
	dealID := cr.Output.ID
	if cr.Result != "OK" || dealID == 0 {
		b.Fatalf("deal.upsert: %+v", cr)
	}
	admin := crm.Actor{UserID: p.portalAdmin}
	s, ps := p.shop.App.Store, p.portal.App.Store
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		stage, status := "PREPAYMENT_INVOICE", crm.OrderApproved
		if i%2 == 1 {
			stage, status = "NEW", crm.OrderCreated
		}
		b.StopTimer()
		if _, err := ps.UpdateDeal(ctx, admin, dealID, func(x *crm.Deal) error { x.StageID = stage; return nil }); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := http.Post(hook.URL, "application/x-www-form-urlencoded", strings.NewReader(eventForm("ONCRMDEALUPDATE", dealID, "outgoing-token", 1000+i).Encode()))
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("the event: status %d", res.StatusCode)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			cur, err := s.GetSalesOrder(ctx, orderID)
			if err != nil {
				b.Fatal(err)
			}
			if cur.Status == status {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("the order's status %q, want %q", cur.Status, status)
			}
			time.Sleep(time.Millisecond)
		}
	}
}
