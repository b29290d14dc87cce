package bitrix24_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/bitrix24"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestParseEvent(t *testing.T) {
	t.Parallel()
	form := func(kv ...string) []byte {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return []byte(v.Encode())
	}
	tests := []struct {
		name, body      string
		wantErr         string
		known           bool
		entity          string
		id              int64
		token, appToken string
		tokenOK         bool
	}{
		{name: "deal update", body: string(form("event", "ONCRMDEALUPDATE", "event_handler_id", "7", "data[FIELDS][ID]", "39", "ts", "1707749333",
			"auth[domain]", "b24.example.ru", "auth[application_token]", "tok-123")), known: true, entity: "deal", id: 39, appToken: "tok-123", tokenOK: true},
		{name: "lower-case event", body: string(form("event", "onCrmLeadDelete", "data[FIELDS][ID]", "5", "auth[application_token]", "x")), known: true, entity: "lead", id: 5, appToken: "y"},
		{name: "product delete", body: string(form("event", "ONCRMPRODUCTDELETE", "data[FIELDS][ID]", "12", "auth[application_token]", "t")), known: true, entity: "product", id: 12, appToken: "t", tokenOK: true},
		{name: "empty app_token takes nothing", body: string(form("event", "ONCRMDEALUPDATE", "data[FIELDS][ID]", "1", "auth[application_token]", "")), known: true, entity: "deal", id: 1},
		{name: "no token in the form", body: string(form("event", "ONCRMDEALUPDATE", "data[FIELDS][ID]", "1")), known: true, entity: "deal", id: 1, appToken: "t"},
		{name: "an event not taken", body: string(form("event", "ONCRMINVOICEADD", "data[FIELDS][ID]", "1", "auth[application_token]", "t")), appToken: "t", tokenOK: true},
		{name: "no event", body: string(form("data[FIELDS][ID]", "1")), wantErr: "event: required"},
		{name: "bad id", body: string(form("event", "ONCRMDEALUPDATE", "data[FIELDS][ID]", "abc")), wantErr: `data[FIELDS][ID] "abc"`},
		{name: "zero id", body: string(form("event", "ONCRMDEALDELETE", "data[FIELDS][ID]", "0")), wantErr: `data[FIELDS][ID] "0"`},
		{name: "bad form", body: "event=%zz", wantErr: "does not parse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := bitrix24.ParseEvent([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Known != tc.known || ev.Entity != tc.entity || ev.ID != tc.id {
				t.Fatalf("got %+v", ev)
			}
			if got := ev.CheckToken(tc.appToken); got != tc.tokenOK {
				t.Fatalf("CheckToken(%q) = %v", tc.appToken, got)
			}
		})
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte("event=ONCRMDEALUPDATE&data%5BFIELDS%5D%5BID%5D=39&ts=1&auth%5Bapplication_token%5D=t"))
	f.Add([]byte("event=&data=1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := bitrix24.ParseEvent(b)
		if err == nil && ev.Known && ev.ID <= 0 {
			t.Fatalf("a known event without a record id: %+v", ev)
		}
		if ev.CheckToken("") {
			t.Fatal("an empty app_token took an event")
		}
	})
}

// postForm posts an outgoing webhook's form as the portal does.
func postForm(t *testing.T, hookURL string, v url.Values) (int, string) {
	t.Helper()
	res, err := http.Post(hookURL, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func eventForm(event string, id int64, token string, ts int) url.Values {
	return url.Values{"event": {event}, "event_handler_id": {"3"}, "data[FIELDS][ID]": {strconv.FormatInt(id, 10)},
		"ts": {strconv.Itoa(ts)}, "auth[domain]": {"portal.example.ru"}, "auth[member_id]": {"m1"}, "auth[application_token]": {token}}
}

func bundleRuns(t *testing.T, p *pair, bundleID int64, n int) []automation.Run {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var l automation.RunList
		p.shop.Do(t, "GET", fmt.Sprintf("/api/v1/bundles/%d/runs?limit=100", bundleID), nil, http.StatusOK, &l)
		if len(l.Items) >= n {
			return l.Items
		}
		if time.Now().After(deadline) {
			t.Fatalf("bundle %d: %d runs, want %d: %+v", bundleID, len(l.Items), n, l.Items)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// The portal's outgoing webhook to the connection's hook URL: a wrong or
// missing application token is refused 401 and journalled on the
// bundle; a deal update becomes one run of the bitrix24.event bundle with
// the deal read back from the portal (a second Obmen); the portal's
// repeat of the same call is the same run; a delete carries no record;
// an event the connector does not take is answered and left alone.
func TestOutgoingWebhookTrigger(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			p := newPair(t, e)
			s := p.shop.App.Store
			person, err := s.CreateContact(ctx, p.shopActor, crm.Contact{Name: "Анна", LastName: "Смирнова", Comms: crm.Comms{
				Phones: []crm.Comm{{Value: "+7 926 000-11-22", ValueType: "WORK"}}}})
			if err != nil {
				t.Fatal(err)
			}
			order, err := s.CreateSalesOrder(ctx, p.shopActor, crm.SalesOrder{ContactID: person.ID, Items: []crm.LineItem{{Name: "Календарь", Price: 90000, Quantity: 1000}}})
			if err != nil {
				t.Fatal(err)
			}
			o := out(t, p.call(t, bitrix24.ActionDealUpsert, map[string]any{"sales_order_id": order.ID}))
			dealID := id(o["id"])

			var b automation.Bundle
			p.shop.Do(t, "POST", "/api/v1/bundles", map[string]any{"name": "события портала", "active": true,
				"trigger": map[string]any{"type": bitrix24.TriggerEvent, "connection": p.conn.ID},
				"steps":   []any{map[string]any{"id": "who", "action": "user.info", "input": map[string]any{"id": p.shopActor.UserID}}}},
				http.StatusCreated, &b)
			var hook connection.Hook
			p.shop.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/hook", p.conn.ID), nil, http.StatusOK, &hook)

			for _, tok := range []string{"wrong-token", ""} {
				if st, body := postForm(t, hook.URL, eventForm("ONCRMDEALUPDATE", dealID, tok, 100)); st != http.StatusUnauthorized {
					t.Fatalf("token %q: %d %s", tok, st, body)
				}
			}
			runs := bundleRuns(t, p, b.ID, 2)
			for _, r := range runs {
				if r.Status != automation.StatusError || !strings.Contains(r.Error, "application token") {
					t.Fatalf("a refused call's journal: %+v", r)
				}
			}

			if st, body := postForm(t, hook.URL, eventForm("ONCRMDEALUPDATE", dealID, "outgoing-token", 101)); st != http.StatusOK || !strings.Contains(body, `"runs":1`) {
				t.Fatalf("deal update: %d %s", st, body)
			}
			// The portal sends the same call again: no second run.
			if st, body := postForm(t, hook.URL, eventForm("ONCRMDEALUPDATE", dealID, "outgoing-token", 101)); st != http.StatusOK || !strings.Contains(body, `"runs":0`) {
				t.Fatalf("the repeat: %d %s", st, body)
			}
			if st, body := postForm(t, hook.URL, eventForm("ONCRMDEALDELETE", dealID+1000, "outgoing-token", 102)); st != http.StatusOK || !strings.Contains(body, `"runs":1`) {
				t.Fatalf("deal delete: %d %s", st, body)
			}
			if st, body := postForm(t, hook.URL, eventForm("ONCRMINVOICEADD", 1, "outgoing-token", 103)); st != http.StatusOK || !strings.Contains(body, "ignored") {
				t.Fatalf("an event not taken: %d %s", st, body)
			}
			runs = bundleRuns(t, p, b.ID, 4)
			if len(runs) != 4 {
				t.Fatalf("%d runs: %+v", len(runs), runs)
			}
			byEvent := map[string]map[string]any{}
			for _, r := range runs {
				if r.TriggerType != bitrix24.TriggerEvent || r.Status == automation.StatusError {
					continue
				}
				var full automation.Run
				p.shop.Do(t, "GET", fmt.Sprintf("/api/v1/runs/%d", r.ID), nil, http.StatusOK, &full)
				tr, _ := full.Trigger.(map[string]any)
				byEvent[fmt.Sprint(tr["event"])] = tr
				if want := fmt.Sprintf("bitrix24:deal:%d", id(tr["id"])); r.OrderKey != want {
					t.Errorf("order key %q, want %q", r.OrderKey, want)
				}
			}
			up := byEvent["ONCRMDEALUPDATE"]
			rec, _ := up["record"].(map[string]any)
			if up["entity"] != "deal" || id(up["id"]) != dealID || up["ts"] != "101" || up["domain"] != "portal.example.ru" ||
				rec == nil || id(rec["ID"]) != dealID || rec["OPPORTUNITY"] != "900.00" {
				t.Fatalf("deal update's trigger data: %v", up)
			}
			del := byEvent["ONCRMDEALDELETE"]
			if del == nil || del["record"] != nil || id(del["id"]) != dealID+1000 {
				t.Fatalf("deal delete's trigger data: %v", del)
			}
		})
	}
}
