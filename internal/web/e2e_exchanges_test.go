package web_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/bitrix24"
	"github.com/obmen/obmen/internal/connector/bitrix24/bitrix24test"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

// An order's card lists its exchanges with the portal, read from the
// runs' steps: when, the action, what was sent in short and what the
// portal answered (the deal's ids), or its refusal in its words; on a
// phone and on a desktop, without a horizontal scroll of the page. The
// refusal (the webhook deleted) also marks the connection broken, shown
// on the connections page.
func TestBrowserOrderExchanges(t *testing.T) {
	ctx := context.Background()
	e := newEnvWith(t, storetest.OpenAny(t), func(c *config.Config) { c.OutboundAllow = []string{"127.0.0.1"} })
	startAutomation(t, e)
	portal := bitrix24test.New(t)
	conn, err := e.app.Connections.Create(ctx, e.admin.UserID, connection.Input{Type: bitrix24.Type, Name: "Портал",
		Settings: map[string]any{"portal_url": portal.URL, "user_id": portal.UserID, "webhook_code": portal.Code}})
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := e.app.Automation.Create(ctx, e.admin, automation.Definition{Name: "Заказ → сделка", Active: true,
		Trigger: automation.TriggerSpec{Type: automation.TriggerCRMEvent, Entity: "sales_order", Actions: []string{"create", "update"}},
		Steps: []automation.Step{{ID: "deal", Action: bitrix24.ActionDealUpsert, Connection: conn.ID,
			Input: map[string]any{"sales_order_id": "{{trigger.record.id}}"}}}})
	if err != nil {
		t.Fatal(err)
	}
	s := e.app.Store
	person, err := s.CreateContact(ctx, e.admin, crm.Contact{Name: "Ольга", LastName: "Иванова", Comms: crm.Comms{
		Phones: []crm.Comm{{Value: "+7 925 123-45-67", ValueType: "WORK"}}}})
	if err != nil {
		t.Fatal(err)
	}
	order, err := s.CreateSalesOrder(ctx, e.admin, crm.SalesOrder{ContactID: person.ID, FromSite: "photo.example.ru",
		Items: []crm.LineItem{{Name: "Фотокнига 30×30, 40 страниц, твёрдая обложка", Price: 250000, Quantity: 1000}}})
	if err != nil {
		t.Fatal(err)
	}
	runs := func(n int) []automation.Run {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			l, err := e.app.Automation.ListRuns(ctx, automation.RunQuery{BundleID: bundle.ID})
			if err != nil {
				t.Fatal(err)
			}
			done := 0
			for _, r := range l.Items {
				if r.Finished() {
					done++
				}
			}
			if done >= n {
				return l.Items
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d runs finished", done, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if r := runs(1); r[0].Status != automation.StatusOK {
		t.Fatalf("the send: %+v", r[0])
	}
	// The webhook is deleted in the portal: the next send is refused.
	portal.Mu.Lock()
	portal.Code = "deleted"
	portal.Mu.Unlock()
	if _, err := s.UpdateSalesOrder(ctx, e.admin, order.ID, func(x *crm.SalesOrder) error { x.Comments = "Доставка к 10:00"; return nil }); err != nil {
		t.Fatal(err)
	}
	if r := runs(2); r[0].Status != automation.StatusError {
		t.Fatalf("the refused send: %+v", r[0])
	}

	b := e.browser()
	b.signIn()
	page := b.get("/e/sales_order/" + strconv.FormatInt(order.ID, 10))
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `id="card-exchanges"`) {
		t.Fatalf("the order's card: %d, no exchanges", page.Status)
	}
	bs := newBrowserSession(t, e)
	url := e.srv.URL + "/e/sales_order/" + strconv.FormatInt(order.ID, 10)
	for _, vp := range []struct {
		name string
		w, h int64
	}{{"390", 390, 900}, {"1280", 1280, 900}} {
		bs.run("order card "+vp.name, chromedp.EmulateViewport(vp.w, vp.h), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`#card-exchanges`)))
		rows := bs.eval(`Array.from(document.querySelectorAll("#card-exchanges tbody tr")).map(r => r.className + " | " + r.innerText.replace(/\s+/g, " ")).join("\n")`)
		lines := strings.Split(rows, "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "failed") || !strings.Contains(lines[0], "HTTP 401") ||
			!strings.HasPrefix(lines[1], "ok") || !strings.Contains(lines[1], "outcome: created") || !strings.Contains(lines[1], "sales_order_id: "+strconv.FormatInt(order.ID, 10)) {
			t.Fatalf("the exchanges at %s:\n%s", vp.name, rows)
		}
		bs.noHorizontalScroll("the order card at " + vp.name)
		bs.run("screenshot", chromedp.ScrollIntoView(chromedp.CSS(`#card-exchanges`)), shot(bs.dir, "order-exchanges-"+vp.name),
			shotEl(bs.dir, "order-exchanges-block-"+vp.name, "#card-exchanges"))
	}
	bs.run("connections", chromedp.EmulateViewport(390, 900), chromedp.Navigate(e.srv.URL+"/admin/connections/"+strconv.FormatInt(conn.ID, 10)),
		chromedp.WaitVisible(chromedp.CSS(`#connection-broken`)))
	bs.noHorizontalScroll("the broken connection's page")
	bs.run("screenshot", shot(bs.dir, "connection-broken-390"))
}
