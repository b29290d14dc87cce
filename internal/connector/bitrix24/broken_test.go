package bitrix24_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/bitrix24"
	"github.com/obmen/obmen/internal/notify"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The portal deletes the webhook: the next action's call is refused
// (401 INVALID_CREDENTIALS, as portals answer a deleted webhook), the connection is marked broken in the portal's
// words (the connections API shows it, in the list and alone), and the
// administrators are told once however many runs fail; a new webhook's
// code and a call that succeeds clear the mark; a check answered
// NO_AUTH_FOUND marks it again, a check that passes clears it.
func TestBrokenConnectionSecondObmen(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			p := newPair(t, e)
			hooks, err := p.portal.App.Bitrix.ListWebhooks(ctx, p.portalAdmin)
			if err != nil || len(hooks) != 1 {
				t.Fatalf("the portal's webhooks: %+v %v", hooks, err)
			}
			if err := p.portal.App.Bitrix.DeleteWebhook(ctx, hooks[0].ID); err != nil {
				t.Fatal(err)
			}
			contact := map[string]any{"name": "Анна", "phone": "+79251112233"}
			adminNotes := func() int {
				t.Helper()
				if _, err := p.shop.App.Notify.Scan(ctx); err != nil {
					t.Fatal(err)
				}
				list, err := p.shop.App.Notify.List(ctx, p.shopActor.UserID, 50)
				if err != nil {
					t.Fatal(err)
				}
				k := 0
				for _, n := range list {
					if n.Kind == notify.KindConnectionBroken {
						k++
						if !strings.Contains(n.Body, "HTTP 401") || n.Link() != fmt.Sprintf("/admin/connections/%d", p.conn.ID) {
							t.Fatalf("the notification: %+v", n)
						}
					}
				}
				return k
			}
			for i := range 3 {
				if cr := p.call(t, bitrix24.ActionContactUpsert, map[string]any{"name": "Анна", "phone": "+79251112233"}); cr.Result == "OK" {
					t.Fatalf("a call through a deleted webhook: %+v", cr)
				}
				var c connection.Connection
				p.shop.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d", p.conn.ID), nil, http.StatusOK, &c)
				if c.Broken == nil || !strings.Contains(c.Broken.Reason, "HTTP 401: INVALID_CREDENTIALS") || c.Broken.At.IsZero() {
					t.Fatalf("run %d: the connection %+v", i, c.Broken)
				}
				if k := adminNotes(); k != 1 {
					t.Fatalf("run %d: %d notifications", i, k)
				}
			}
			var list connection.List
			p.shop.Do(t, "GET", "/api/v1/connections", nil, http.StatusOK, &list)
			if len(list.Items) != 1 || list.Items[0].Broken == nil {
				t.Fatalf("the list: %+v", list.Items)
			}

			// A new webhook: the first call that succeeds clears the mark.
			_, code, err := p.portal.App.Bitrix.CreateWebhook(ctx, p.portalAdmin, "obmen shop 2", []string{"crm", "user"})
			if err != nil {
				t.Fatal(err)
			}
			p.shop.Do(t, "PUT", fmt.Sprintf("/api/v1/connections/%d", p.conn.ID), map[string]any{"name": "Портал", "settings": map[string]any{
				"portal_url": p.portal.Srv.URL, "user_id": p.portalAdmin, "webhook_code": code}}, http.StatusOK, nil)
			out(t, p.call(t, bitrix24.ActionContactUpsert, contact))
			var c connection.Connection // a fresh one: an absent "broken" leaves a field as it was
			p.shop.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d", p.conn.ID), nil, http.StatusOK, &c)
			if c.Broken != nil {
				t.Fatalf("a call succeeded, the mark stays: %+v", c.Broken)
			}

			// A check: refused marks, passed clears.
			p.shop.Do(t, "PUT", fmt.Sprintf("/api/v1/connections/%d", p.conn.ID), map[string]any{"name": "Портал", "settings": map[string]any{
				"portal_url": p.portal.Srv.URL, "user_id": p.portalAdmin, "webhook_code": "wrong-code"}}, http.StatusOK, nil)
			var res connection.CheckResult
			p.shop.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/check", p.conn.ID), nil, http.StatusOK, &res)
			p.shop.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d", p.conn.ID), nil, http.StatusOK, &c)
			if res.OK || c.Broken == nil || strings.Contains(c.Broken.Reason, "wrong-code") {
				t.Fatalf("a refused check: %+v, %+v", res, c.Broken)
			}
			if k := adminNotes(); k != 2 {
				t.Fatalf("a second break: %d notifications", k)
			}
			p.shop.Do(t, "PUT", fmt.Sprintf("/api/v1/connections/%d", p.conn.ID), map[string]any{"name": "Портал", "settings": map[string]any{
				"portal_url": p.portal.Srv.URL, "user_id": p.portalAdmin, "webhook_code": code}}, http.StatusOK, nil)
			res, c = connection.CheckResult{}, connection.Connection{}
			p.shop.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/check", p.conn.ID), nil, http.StatusOK, &res)
			p.shop.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d", p.conn.ID), nil, http.StatusOK, &c)
			if !res.OK || c.Broken != nil {
				t.Fatalf("a passed check: %+v, %+v", res, c.Broken)
			}
		})
	}
}
