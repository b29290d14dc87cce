package bitrix24_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/app/apptest"
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/bitrix24"
	"github.com/obmen/obmen/internal/connector/bitrix24/bitrix24test"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/store/storetest"
)

// Against the fake portal through a whole Obmen: 503s on the way are
// waited out and nothing is made twice, a repeat makes nothing new, a
// deleted webhook fails the call with the portal's words and the check
// says so in Russian; refresh reads both pipelines' stages.
func TestDealUpsertAgainstFake(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := bitrix24test.New(t)
		s := apptest.Start(t, d)
		var conn connection.Connection
		s.Do(t, "POST", "/api/v1/connections", map[string]any{"type": bitrix24.Type, "name": "Fake", "settings": map[string]any{
			"portal_url": f.URL, "user_id": f.UserID, "webhook_code": f.Code, "category_id": 3, "responsible_id": 7,
			"status_map": `{"Created": "C3:NEW"}`}}, http.StatusCreated, &conn)
		if conn.Settings["webhook_code"] != connection.Mask {
			t.Fatalf("the webhook code is shown: %v", conn.Settings)
		}
		var rr connection.RefreshResult
		s.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/refresh", conn.ID), nil, http.StatusOK, &rr)
		cats, _ := rr.Connection.Dictionaries["categories"].([]any)
		if len(cats) != 2 || fmt.Sprint(cats[1].(map[string]any)["stages"].([]any)[0].(map[string]any)["id"]) != "C3:NEW" {
			t.Fatalf("refresh: %v", rr.Connection.Dictionaries)
		}
		u, _ := s.App.Store.UserByLogin(ctx, "admin")
		actor := crm.Actor{UserID: u.ID}
		c, err := s.App.Store.CreateContact(ctx, actor, crm.Contact{Name: "Анна", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 900 111-22-33", ValueType: "WORK"}}}})
		if err != nil {
			t.Fatal(err)
		}
		o, err := s.App.Store.CreateSalesOrder(ctx, actor, crm.SalesOrder{ContactID: c.ID, Items: []crm.LineItem{{Name: "Кружка", Price: 50000, Quantity: 3000}}})
		if err != nil {
			t.Fatal(err)
		}
		f.Mu.Lock()
		f.Force, f.ForceStatus, f.ForceCode = 2, http.StatusServiceUnavailable, bitrix24.CodeQueryLimit
		f.Mu.Unlock()
		var cr automation.CallResponse
		s.Do(t, "POST", "/api/v1/actions/"+bitrix24.ActionDealUpsert, map[string]any{"connection": conn.ID, "sales_order_id": o.ID}, http.StatusOK, &cr)
		out, _ := cr.Output.(map[string]any)
		if cr.Result != "OK" || out["outcome"] != bitrix24.OutcomeCreated {
			t.Fatalf("deal.upsert through two 503: %+v", cr)
		}
		f.Mu.Lock()
		var deal map[string]any
		for _, x := range f.Records["DEAL"] {
			deal = x
		}
		rows := f.Rows
		f.Mu.Unlock()
		if f.Count("DEAL") != 1 || f.Count("CONTACT") != 1 || deal["CATEGORY_ID"] != "3" || deal["STAGE_ID"] != "C3:NEW" || deal["ASSIGNED_BY_ID"] != "7" ||
			deal["OPPORTUNITY"] != "1500.00" || deal["ORIGIN_ID"] != fmt.Sprint("sales_order:", o.ID) || len(rows) != 1 {
			t.Fatalf("the fake's deal %v, rows %v", deal, rows)
		}
		for _, r := range rows {
			row := r[0].(map[string]any)
			if row["PRICE"] != "500.00" || row["QUANTITY"] != "3" || row["PRODUCT_NAME"] != "Кружка" {
				t.Fatalf("row %v", row)
			}
		}
		// A repeat of what the portal has sends nothing; force sends it.
		s.Do(t, "POST", "/api/v1/actions/"+bitrix24.ActionDealUpsert, map[string]any{"connection": conn.ID, "sales_order_id": o.ID}, http.StatusOK, &cr)
		if out, _ := cr.Output.(map[string]any); cr.Result != "OK" || out["outcome"] != bitrix24.OutcomeUnchanged || f.Methods["crm.deal.update"] != 0 {
			t.Fatalf("unchanged repeat: %+v, methods %v", cr, f.Methods)
		}
		s.Do(t, "POST", "/api/v1/actions/"+bitrix24.ActionDealUpsert, map[string]any{"connection": conn.ID, "sales_order_id": o.ID, "force": true}, http.StatusOK, &cr)
		if cr.Result != "OK" || f.Count("DEAL") != 1 || f.Count("CONTACT") != 1 || f.Methods["crm.deal.update"] != 1 {
			t.Fatalf("repeat: %+v, %d deals, methods %v", cr, f.Count("DEAL"), f.Methods)
		}

		// The answer of the first attempt lost: the Obmen order has no
		// deal id, the portal has the deal; it is found by ORIGIN_ID.
		if _, err := s.App.Store.UpdateSalesOrder(ctx, actor, o.ID, func(x *crm.SalesOrder) error { x.ExternalIDs = map[string]string{}; return nil }); err != nil {
			t.Fatal(err)
		}
		s.Do(t, "POST", "/api/v1/actions/"+bitrix24.ActionDealUpsert, map[string]any{"connection": conn.ID, "sales_order_id": o.ID}, http.StatusOK, &cr)
		if out, _ := cr.Output.(map[string]any); cr.Result != "OK" || out["outcome"] != bitrix24.OutcomeUpdated || f.Count("DEAL") != 1 {
			t.Fatalf("after a lost answer: %+v, %d deals", cr, f.Count("DEAL"))
		}

		// The webhook deleted.
		f.Mu.Lock()
		f.Code = "another"
		f.Mu.Unlock()
		s.Do(t, "POST", "/api/v1/actions/"+bitrix24.ActionDealUpsert, map[string]any{"connection": conn.ID, "sales_order_id": o.ID, "force": true}, http.StatusOK, &cr)
		if out, _ := cr.Output.(map[string]any); cr.Result != "ERROR" || out["error"] != bitrix24.CodeNoAuth {
			t.Fatalf("a deleted webhook: %+v", cr)
		}
		var res connection.CheckResult
		s.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/check", conn.ID), nil, http.StatusOK, &res)
		if res.OK || res.Class != bitrix24.ClassNoAuth || !strings.Contains(res.Message, "вебхук удалён") {
			t.Fatalf("check of a deleted webhook: %+v", res)
		}
		// Settings: a webhook or OAuth, a map that is JSON.
		var bad map[string]any
		s.Do(t, "POST", "/api/v1/connections", map[string]any{"type": bitrix24.Type, "name": "Bad", "settings": map[string]any{
			"portal_url": f.URL + "/rest/1/x/", "status_map": "Created=NEW"}}, http.StatusUnprocessableEntity, &bad)
		for _, field := range []string{"settings.portal_url", "settings.user_id", "settings.webhook_code", "settings.status_map"} {
			if !strings.Contains(fmt.Sprint(bad), field) {
				t.Errorf("no problem named %s: %v", field, bad)
			}
		}
	})
}

// The actions' fields and the connection's have labels in both
// languages.
func TestLabels(t *testing.T) {
	s := apptest.Start(t, storetest.OpenAny(t))
	reg := s.App.Automation.Registry()
	msgs := reg.Messages()
	keys := []string{"group." + bitrix24.Group}
	for _, name := range []string{bitrix24.ActionContactUpsert, bitrix24.ActionLeadCreate, bitrix24.ActionTimelineAdd, bitrix24.ActionCompanyExport, bitrix24.ActionDealUpsert, bitrix24.ActionEventApply} {
		a, ok := reg.Action(name)
		if !ok {
			t.Fatalf("%s not registered", name)
		}
		d := a.Describe()
		keys = append(keys, "action."+name, "action."+name+".hint")
		for _, f := range d.Input {
			keys = append(keys, "action."+name+".in."+f.Name)
		}
		for _, f := range d.Output {
			keys = append(keys, "action."+name+".out."+f.Name)
		}
	}
	info, ok := s.App.Connections.Registry().Info(bitrix24.Type)
	if !ok {
		t.Fatal("the connection type is not registered")
	}
	tk, ok := reg.Trigger(bitrix24.TriggerEvent)
	if !ok {
		t.Fatalf("%s not registered", bitrix24.TriggerEvent)
	}
	keys = append(keys, "trigger."+tk.Type, "trigger."+tk.Type+".hint")
	for _, f := range tk.Data {
		keys = append(keys, "trigger."+tk.Type+".data."+f.Name)
	}
	keys = append(keys, "connection."+bitrix24.Type, "connection."+bitrix24.Type+".hint")
	for _, f := range info.Fields {
		keys = append(keys, "connection."+bitrix24.Type+"."+f.Name)
	}
	for _, c := range []string{bitrix24.ClassNoAuth, bitrix24.ClassExpired, bitrix24.ClassRights} {
		keys = append(keys, "connection.check."+c)
	}
	for _, lang := range []string{i18n.Ru, i18n.En} {
		for _, k := range keys {
			if v, ok := msgs.Lookup(lang, k); !ok || strings.TrimSpace(v) == "" {
				t.Errorf("%s: no label %s", lang, k)
			}
		}
	}
}

// ParseAnswer never panics and gives a result or an *Error.
func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{`{"result":{"ID":"1"},"time":{"start":1}}`, `{"result":[],"next":50,"total":120}`,
		`{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}`, `{"error":"OPERATION_TIME_LIMIT","time":{"operating_reset_at":1778747792}}`,
		`<html>`, `{"result":{"result":[],"result_error":{"a":{"error":"x"}}}}`, `{"next":"x"}`} {
		f.Add(200, []byte(s))
		f.Add(503, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		a, err := bitrix24.ParseAnswer("m", status, body)
		if (a == nil) == (err == nil) {
			t.Fatalf("answer %v and error %v", a, err)
		}
	})
}

// Runs at once for one order, and for two orders of one new client, make
// one deal per order and one contact: the lookup and the write are under
// the order's and the client's locks.
func TestDealUpsertConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := bitrix24test.New(t)
		f.Delay = 20 * time.Millisecond // the lookups overlap
		shop := apptest.Start(t, d)
		su, _ := shop.App.Store.UserByLogin(ctx, "admin")
		actor := crm.Actor{UserID: su.ID}
		conn, err := shop.App.Connections.Create(ctx, su.ID, connection.Input{Type: bitrix24.Type, Name: "Fake", Settings: map[string]any{
			"portal_url": f.URL, "user_id": f.UserID, "webhook_code": f.Code}})
		if err != nil {
			t.Fatal(err)
		}
		act := dealAction(t, shop, &bitrix24.Limiters{Rate: 1000, Burst: 100})
		first := newOrder(t, shop, actor, 1)
		o1, _ := shop.App.Store.GetSalesOrder(ctx, first)
		second, err := shop.App.Store.CreateSalesOrder(ctx, actor, crm.SalesOrder{ContactID: o1.ContactID, Items: []crm.LineItem{{Name: "Ещё", Price: 100, Quantity: 1000}}})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, o := range []int64{first, first, second.ID, first} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := act.Run(ctx, &automation.Call{Connection: conn.ID, Actor: actor}, map[string]any{"sales_order_id": o}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if f.Count("DEAL") != 2 || f.Count("CONTACT") != 1 {
			t.Fatalf("%d deals and %d contacts for two orders of one client", f.Count("DEAL"), f.Count("CONTACT"))
		}
	})
}
