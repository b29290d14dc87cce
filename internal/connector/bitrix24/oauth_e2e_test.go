package bitrix24_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/app/apptest"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/bitrix24"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The OAuth path end to end: a second Obmen plays the portal and its
// authorization server (/oauth/token/); the shop's connection holds an
// application's client id, secret and first refresh token. The first
// call renews the pair (the settings' refresh token is spent), later ones
// use the stored access token, an access token the portal has expired is
// renewed once and the call repeated, and a refresh token the portal no
// longer knows gives the check's "tokens expired" class.
func TestOAuthSecondObmen(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			shop, portal := apptest.Start(t, e.Open(t)), apptest.Start(t, e.Open(t))
			u, err := portal.App.Store.UserByLogin(ctx, "admin")
			if err != nil {
				t.Fatal(err)
			}
			hook, _, err := portal.App.Bitrix.CreateWebhook(ctx, u.ID, "oauth app", []string{"crm", "user"})
			if err != nil {
				t.Fatal(err)
			}
			app, secret, err := portal.App.Bitrix.CreateApp(ctx, hook.ID)
			if err != nil {
				t.Fatal(err)
			}
			first, err := portal.App.Bitrix.IssueTokens(ctx, hook.ID)
			if err != nil {
				t.Fatal(err)
			}
			var conn connection.Connection
			settings := map[string]any{"portal_url": portal.Srv.URL, "client_id": app.ClientID, "client_secret": secret,
				"refresh_token": first.RefreshToken, "oauth_url": portal.Srv.URL + "/oauth/token/", "app_token": "outgoing"}
			shop.Do(t, "POST", "/api/v1/connections", map[string]any{"type": bitrix24.Type, "name": "Портал (OAuth)", "settings": settings}, http.StatusCreated, &conn)
			if strings.Contains(fmt.Sprint(conn.Settings), secret) || strings.Contains(fmt.Sprint(conn.Settings), first.RefreshToken) {
				t.Fatalf("secrets readable: %v", conn.Settings)
			}
			check := func() connection.CheckResult {
				var res connection.CheckResult
				shop.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/check", conn.ID), nil, http.StatusOK, &res)
				return res
			}
			if res := check(); !res.OK {
				t.Fatalf("check through OAuth: %+v", res)
			}
			// The settings' refresh token was spent on the first renewal:
			// the portal refuses it now, so the shop must use its stored pair.
			if _, err := portal.App.Bitrix.Grant(ctx, "refresh_token", app.ClientID, secret, first.RefreshToken); err == nil {
				t.Fatal("the portal accepted a spent refresh token")
			}
			call := func(phone string) map[string]any {
				var cr struct {
					Result string         `json:"result"`
					Error  string         `json:"error"`
					Output map[string]any `json:"output"`
				}
				shop.Do(t, "POST", "/api/v1/actions/"+bitrix24.ActionContactUpsert, map[string]any{"connection": conn.ID, "name": "Иван", "phone": phone}, http.StatusOK, &cr)
				if cr.Result != "OK" {
					t.Fatalf("contact.upsert through OAuth: %+v", cr)
				}
				return cr.Output
			}
			c1 := call("+79250000001")
			if c1["outcome"] != bitrix24.OutcomeCreated {
				t.Fatalf("contact.upsert: %v", c1)
			}
			if pc, err := portal.App.Store.GetContact(ctx, id(c1["id"])); err != nil || len(pc.Phones) != 1 {
				t.Fatalf("the portal's contact %+v, %v", pc, err)
			}
			// The portal expires every access token (an hour passed): the
			// next call is refused with expired_token, renewed, repeated.
			if err := portal.App.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, "UPDATE bitrix_oauth_tokens SET expires_at = 1 WHERE kind = 'access'")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if c2 := call("+79250000001"); c2["outcome"] != bitrix24.OutcomeUpdated || id(c2["id"]) != id(c1["id"]) {
				t.Fatalf("after the access token expired: %v", c2)
			}
			// Every refresh token the portal gave is withdrawn (the
			// application was reinstalled): the check names the class.
			if err := portal.App.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, "DELETE FROM bitrix_oauth_tokens")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if res := check(); res.OK || res.Class != bitrix24.ClassExpired {
				t.Fatalf("check with withdrawn tokens: %+v", res)
			}
		})
	}
}
