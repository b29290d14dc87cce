package bitrix24_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/bitrix24"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// methodCounter stands between the shop and the portal and counts the
// portal's methods called, alone or inside a batch.
type methodCounter struct {
	srv           *httptest.Server
	updates, adds atomic.Int64
	// Any update of the portal's records (deal, contact, company).
	anyUpdates atomic.Int64
}

func newMethodCounter(t *testing.T, portal string) *methodCounter {
	u, _ := url.Parse(portal)
	m := &methodCounter{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		all := r.URL.Path + " " + string(b)
		m.updates.Add(int64(strings.Count(all, "crm.deal.update")))
		m.adds.Add(int64(strings.Count(all, "crm.deal.add")))
		m.anyUpdates.Add(int64(strings.Count(all, "crm.deal.update") + strings.Count(all, "crm.contact.update") + strings.Count(all, "crm.company.update")))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

// finishedRuns waits until a bundle has n finished runs.
func finishedRuns(t *testing.T, p *pair, bundleID int64, n int) []automation.Run {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var l automation.RunList
		p.shop.Do(t, "GET", fmt.Sprintf("/api/v1/bundles/%d/runs?limit=100", bundleID), nil, http.StatusOK, &l)
		done := 0
		for _, r := range l.Items {
			if r.Finished() {
				done++
			}
		}
		if done >= n && done == len(l.Items) {
			return l.Items
		}
		if time.Now().After(deadline) {
			t.Fatalf("bundle %d: %d of %d runs finished, want %d: %+v", bundleID, done, len(l.Items), n, l.Items)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func runOutput(t *testing.T, p *pair, runID int64) map[string]any {
	t.Helper()
	var r automation.Run
	p.shop.Do(t, "GET", fmt.Sprintf("/api/v1/runs/%d", runID), nil, http.StatusOK, &r)
	if len(r.Steps) == 0 {
		t.Fatalf("run %d has no steps: %+v", runID, r)
	}
	var o map[string]any
	b, _ := json.Marshal(r.Steps[len(r.Steps)-1].Output)
	_ = json.Unmarshal(b, &o)
	return o
}

// Both directions as shipped bundles run them, against a second Obmen as
// the portal, with a counter of the portal's deal methods between them:
// an order becomes a deal (one crm.deal.add); the stage a manager moves
// in the portal comes back through the outgoing webhook as the order's
// status; the status change Obmen makes of it makes the "order changed"
// bundle run but sends no crm.deal.update; the portal's echo of a state
// Obmen already has writes nothing; the deal given to another manager
// (mapped by user_map, or matched by e-mail through user.get) and in
// another currency makes the order's responsible and currency follow,
// and nothing goes back; the contact renamed and given another phone in
// the portal changes the Obmen contact, its echo writes nothing, and no
// update of any kind is sent back (the counter of crm.*.update); a deal
// deleted in the portal breaks the order's link, says so on the order's
// timeline, keeps the order, and is not made again; a contact deleted
// there breaks the contact's link the same way.
func TestEchoSuppressionSecondObmen(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			p := newPair(t, e)
			mc := newMethodCounter(t, p.portal.Srv.URL)
			mapping, _ := json.Marshal(map[string]string{crm.OrderCreated: "NEW", crm.OrderApproved: "PREPAYMENT_INVOICE"})
			// Two managers on each side: Мария mapped by user_map, Пётр
			// matched by his e-mail (user.get).
			s, ps := p.shop.App.Store, p.portal.App.Store
			admin := crm.Actor{UserID: p.portalAdmin}
			mkUser := func(st *store.Store, actor crm.Actor, login, email string) int64 {
				u, err := st.CreateUser(ctx, actor, crm.User{Login: login, FirstName: login, Email: email, Role: crm.RoleManager, Active: true}, "password-"+login)
				if err != nil {
					t.Fatal(err)
				}
				return u.ID
			}
			maria, portalMaria := mkUser(s, p.shopActor, "maria", "maria@shop.ru"), mkUser(ps, admin, "maria", "maria@portal.ru")
			petr, portalPetr := mkUser(s, p.shopActor, "petr", "Petr@Shop.ru"), mkUser(ps, admin, "petr", "petr@shop.ru")
			users, _ := json.Marshal(map[string]int64{fmt.Sprint(portalMaria): maria})
			p.shop.Do(t, "PUT", fmt.Sprintf("/api/v1/connections/%d", p.conn.ID), map[string]any{"name": "Портал", "settings": map[string]any{
				"portal_url": mc.srv.URL, "user_id": p.portalAdmin, "status_map": string(mapping), "user_map": string(users)}}, http.StatusOK, nil)
			sys := "bitrix24:" + mc.srv.Listener.Addr().String()

			var send, apply automation.Bundle
			p.shop.Do(t, "POST", "/api/v1/bundles", map[string]any{"name": "заказ → сделка", "active": true,
				"trigger": map[string]any{"type": "crm.event", "entity": "sales_order", "actions": []string{"create", "update"}},
				"steps": []any{map[string]any{"id": "deal", "action": bitrix24.ActionDealUpsert, "connection": p.conn.ID,
					"input": map[string]any{"sales_order_id": "{{trigger.record.id}}"}}}}, http.StatusCreated, &send)
			p.shop.Do(t, "POST", "/api/v1/bundles", map[string]any{"name": "портал → заказ", "active": true,
				"trigger": map[string]any{"type": bitrix24.TriggerEvent, "connection": p.conn.ID},
				"steps": []any{map[string]any{"id": "apply", "action": bitrix24.ActionEventApply, "connection": p.conn.ID,
					"input": map[string]any{"event": "{{trigger.event}}", "id": "{{trigger.id}}"}}}}, http.StatusCreated, &apply)
			var hook connection.Hook
			p.shop.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/hook", p.conn.ID), nil, http.StatusOK, &hook)

			person, err := s.CreateContact(ctx, p.shopActor, crm.Contact{Name: "Ольга", LastName: "Иванова", Comms: crm.Comms{
				Emails: []crm.Comm{{Value: "olga@example.ru", ValueType: "WORK"}}}})
			if err != nil {
				t.Fatal(err)
			}
			order, err := s.CreateSalesOrder(ctx, p.shopActor, crm.SalesOrder{ContactID: person.ID, Items: []crm.LineItem{{Name: "Фотокнига", Price: 150000, Quantity: 1000}}})
			if err != nil {
				t.Fatal(err)
			}
			runs := finishedRuns(t, p, send.ID, 1)
			if o := runOutput(t, p, runs[0].ID); o["outcome"] != bitrix24.OutcomeCreated {
				t.Fatalf("the order's first send: %v (%+v)", o, runs[0])
			}
			order, _ = s.GetSalesOrder(ctx, order.ID)
			dealID := id(order.ExternalIDs[sys])
			if dealID == 0 || mc.adds.Load() != 1 || mc.updates.Load() != 0 {
				t.Fatalf("deal %d, %d crm.deal.add, %d crm.deal.update; external ids %v", dealID, mc.adds.Load(), mc.updates.Load(), order.ExternalIDs)
			}

			// A manager moves the deal in the portal; the portal posts
			// its outgoing webhook.
			if _, err := ps.UpdateDeal(ctx, admin, dealID, func(x *crm.Deal) error { x.StageID = "PREPAYMENT_INVOICE"; return nil }); err != nil {
				t.Fatal(err)
			}
			if st, body := postForm(t, hook.URL, eventForm("ONCRMDEALUPDATE", dealID, "outgoing-token", 200)); st != http.StatusOK || !strings.Contains(body, `"runs":1`) {
				t.Fatalf("deal update: %d %s", st, body)
			}
			ar := finishedRuns(t, p, apply.ID, 1)
			if o := runOutput(t, p, ar[0].ID); o["outcome"] != bitrix24.ApplyUpdated || o["status"] != crm.OrderApproved || id(o["sales_order_id"]) != order.ID {
				t.Fatalf("apply: %v (%+v)", o, ar[0])
			}
			if order, _ = s.GetSalesOrder(ctx, order.ID); order.Status != crm.OrderApproved {
				t.Fatalf("the order's status %q", order.Status)
			}
			// The status change runs the send bundle: it sends nothing.
			runs = finishedRuns(t, p, send.ID, 2)
			if o := runOutput(t, p, runs[0].ID); o["outcome"] != bitrix24.OutcomeUnchanged {
				t.Fatalf("the send after the portal's change: %v (%+v)", o, runs[0])
			}
			if n := mc.updates.Load(); n != 0 {
				t.Fatalf("%d crm.deal.update calls after the portal's own change", n)
			}

			// The portal echoes a state Obmen already has: nothing written.
			before := order.UpdatedAt
			if st, body := postForm(t, hook.URL, eventForm("ONCRMDEALUPDATE", dealID, "outgoing-token", 201)); st != http.StatusOK {
				t.Fatalf("echo: %d %s", st, body)
			}
			ar = finishedRuns(t, p, apply.ID, 2)
			if o := runOutput(t, p, ar[0].ID); o["outcome"] != bitrix24.ApplyUnchanged {
				t.Fatalf("the echo's apply: %v", o)
			}
			if order, _ = s.GetSalesOrder(ctx, order.ID); !order.UpdatedAt.Equal(before) {
				t.Fatalf("the echo rewrote the order: %v → %v", before, order.UpdatedAt)
			}

			// A change made in Obmen still goes: one crm.deal.update.
			if _, err := s.UpdateSalesOrder(ctx, p.shopActor, order.ID, func(x *crm.SalesOrder) error {
				x.Items = append(x.Items, crm.LineItem{Name: "Упаковка", Price: 5000, Quantity: 1000})
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			runs = finishedRuns(t, p, send.ID, 3)
			if o := runOutput(t, p, runs[0].ID); o["outcome"] != bitrix24.OutcomeUpdated || mc.updates.Load() != 1 {
				t.Fatalf("an Obmen change: %v, %d crm.deal.update", o, mc.updates.Load())
			}
			if deal, _ := ps.GetDeal(ctx, dealID); deal.StageID != "PREPAYMENT_INVOICE" || deal.Opportunity != 155000 {
				t.Fatalf("the portal's deal %+v", deal)
			}

			// From here on every change is the portal's: nothing is sent
			// back (the Obmen change above sent the deal and its contact).
			sentBefore := mc.anyUpdates.Load()

			// The manager gives the deal to Мария (user_map) in dollars:
			// the order follows; the send it makes sends nothing.
			if _, err := ps.UpdateDeal(ctx, admin, dealID, func(x *crm.Deal) error { x.AssignedByID, x.Currency = portalMaria, "USD"; return nil }); err != nil {
				t.Fatal(err)
			}
			if st, body := postForm(t, hook.URL, eventForm("ONCRMDEALUPDATE", dealID, "outgoing-token", 203)); st != http.StatusOK {
				t.Fatalf("reassign: %d %s", st, body)
			}
			ar = finishedRuns(t, p, apply.ID, 3)
			if o := runOutput(t, p, ar[0].ID); o["outcome"] != bitrix24.ApplyUpdated || id(o["assigned_by_id"]) != maria || o["currency"] != "USD" {
				t.Fatalf("the reassignment's apply: %v", o)
			}
			if order, _ = s.GetSalesOrder(ctx, order.ID); order.AssignedByID != maria || order.Currency != "USD" {
				t.Fatalf("the order after the reassignment: assigned %d, %s", order.AssignedByID, order.Currency)
			}
			runs = finishedRuns(t, p, send.ID, 4)
			if o := runOutput(t, p, runs[0].ID); o["outcome"] != bitrix24.OutcomeUnchanged || mc.updates.Load() != 1 {
				t.Fatalf("the send after the reassignment: %v, %d crm.deal.update", o, mc.updates.Load())
			}
			// Then to Пётр, known by e-mail only.
			if _, err := ps.UpdateDeal(ctx, admin, dealID, func(x *crm.Deal) error { x.AssignedByID = portalPetr; return nil }); err != nil {
				t.Fatal(err)
			}
			if st, body := postForm(t, hook.URL, eventForm("ONCRMDEALUPDATE", dealID, "outgoing-token", 204)); st != http.StatusOK {
				t.Fatalf("reassign: %d %s", st, body)
			}
			ar = finishedRuns(t, p, apply.ID, 4)
			if o := runOutput(t, p, ar[0].ID); o["outcome"] != bitrix24.ApplyUpdated || id(o["assigned_by_id"]) != petr {
				t.Fatalf("the apply of a user matched by e-mail: %v", o)
			}
			runs = finishedRuns(t, p, send.ID, 5)
			if o := runOutput(t, p, runs[0].ID); o["outcome"] != bitrix24.OutcomeUnchanged || mc.updates.Load() != 1 {
				t.Fatalf("the send after the second reassignment: %v, %d crm.deal.update", o, mc.updates.Load())
			}

			// The manager renames the client and gives another phone in
			// the portal: the Obmen contact follows, nothing goes back;
			// the portal's echo of it writes nothing.
			person, _ = s.GetContact(ctx, person.ID)
			portalContact := id(person.ExternalIDs[sys])
			if portalContact == 0 {
				t.Fatalf("the contact has no portal id: %v", person.ExternalIDs)
			}
			if _, err := ps.UpdateContact(ctx, admin, portalContact, func(x *crm.Contact) error {
				x.Name, x.Phones = "Ольга Петровна", []crm.Comm{{Value: "+7 926 555-44-33", ValueType: "MOBILE"}}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			before = time.Time{}
			for i, want := range []string{bitrix24.ApplyUpdated, bitrix24.ApplyUnchanged} {
				if st, body := postForm(t, hook.URL, eventForm("ONCRMCONTACTUPDATE", portalContact, "outgoing-token", 205+i)); st != http.StatusOK {
					t.Fatalf("contact update: %d %s", st, body)
				}
				ar = finishedRuns(t, p, apply.ID, 5+i)
				if o := runOutput(t, p, ar[0].ID); o["outcome"] != want || id(o["contact_id"]) != person.ID {
					t.Fatalf("contact update %d: %v", i, o)
				}
				c, _ := s.GetContact(ctx, person.ID)
				if c.Name != "Ольга Петровна" || len(c.Phones) != 1 || c.Phones[0].Value != "+79265554433" && c.Phones[0].Value != "+7 926 555-44-33" {
					t.Fatalf("the contact after the portal's change: %+v", c)
				}
				if i == 1 && !c.UpdatedAt.Equal(before) {
					t.Fatalf("the echo rewrote the contact")
				}
				before = c.UpdatedAt
			}
			if n := mc.anyUpdates.Load() - sentBefore; n != 0 {
				t.Fatalf("%d updates sent back to the portal after its own changes", n)
			}

			// The manager deletes the deal.
			if err := ps.Delete(ctx, admin, store.EntityDeal, dealID); err != nil {
				t.Fatal(err)
			}
			if st, body := postForm(t, hook.URL, eventForm("ONCRMDEALDELETE", dealID, "outgoing-token", 202)); st != http.StatusOK {
				t.Fatalf("delete: %d %s", st, body)
			}
			ar = finishedRuns(t, p, apply.ID, 7)
			if o := runOutput(t, p, ar[0].ID); o["outcome"] != bitrix24.ApplyLinkBroken {
				t.Fatalf("the delete's apply: %v", o)
			}
			order, err = s.GetSalesOrder(ctx, order.ID)
			if err != nil || order.ExternalIDs[sys] != "" || order.ExternalIDs["bitrix24-deleted:"+mc.srv.Listener.Addr().String()] != fmt.Sprint(dealID) {
				t.Fatalf("the order after the delete: %v, %v", order.ExternalIDs, err)
			}
			if cs, err := s.ListComments(ctx, store.EntitySalesOrder, order.ID); err != nil || len(cs) != 1 || !strings.Contains(cs[0].Body, "удалена в Битрикс24") {
				t.Fatalf("the order's timeline: %+v, %v", cs, err)
			}
			runs = finishedRuns(t, p, send.ID, 6)
			if o := runOutput(t, p, runs[0].ID); o["outcome"] != bitrix24.OutcomeLinkBroken || mc.adds.Load() != 1 {
				t.Fatalf("the send after the delete: %v, %d crm.deal.add", o, mc.adds.Load())
			}

			// The manager deletes the contact: the link breaks, the
			// contact stays, its timeline says so.
			if err := ps.Delete(ctx, admin, store.EntityContact, portalContact); err != nil {
				t.Fatal(err)
			}
			if st, body := postForm(t, hook.URL, eventForm("ONCRMCONTACTDELETE", portalContact, "outgoing-token", 210)); st != http.StatusOK {
				t.Fatalf("contact delete: %d %s", st, body)
			}
			ar = finishedRuns(t, p, apply.ID, 8)
			if o := runOutput(t, p, ar[0].ID); o["outcome"] != bitrix24.ApplyLinkBroken {
				t.Fatalf("the contact delete's apply: %v", o)
			}
			c, err := s.GetContact(ctx, person.ID)
			if err != nil || c.ExternalIDs[sys] != "" || c.ExternalIDs["bitrix24-deleted:"+mc.srv.Listener.Addr().String()] != fmt.Sprint(portalContact) {
				t.Fatalf("the contact after the delete: %v, %v", c.ExternalIDs, err)
			}
			if cs, err := s.ListComments(ctx, store.EntityContact, person.ID); err != nil || len(cs) != 1 || !strings.Contains(cs[0].Body, "удалён в Битрикс24") {
				t.Fatalf("the contact's timeline: %+v, %v", cs, err)
			}
			if n := mc.anyUpdates.Load() - sentBefore; n != 0 {
				t.Fatalf("%d updates sent back to the portal after its own changes", n)
			}

			// The order card's exchanges: every send of the order and
			// every deal event applied to it, newest first.
			steps, err := p.shop.App.Automation.RecordSteps(ctx, automation.RecordStepsQuery{Entity: store.EntitySalesOrder, RecordID: order.ID,
				ActionPrefix: "bitrix24.", OutputKey: "sales_order_id", OutputActions: []string{bitrix24.ActionEventApply}, Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			for i, st := range steps {
				count[st.Action]++
				if i > 0 && st.StartedAt.After(steps[i-1].StartedAt) {
					t.Fatalf("the exchanges are not newest first: %v after %v", st.StartedAt, steps[i-1].StartedAt)
				}
			}
			// 6 sends; 5 deal events (the contact's name no order).
			if count[bitrix24.ActionDealUpsert] != 6 || count[bitrix24.ActionEventApply] != 5 || len(steps) != 11 {
				t.Fatalf("the order's exchanges: %v", count)
			}
		})
	}
}
