package web_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/facebook"
	"github.com/obmen/obmen/internal/crm"
)

// A contact who wrote to the shop's Facebook Page shows its PSID on the
// card beside the Page's connection, read-only: no export is offered.
func TestCardShowsFacebookPSID(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if _, err := e.app.Connections.Create(ctx, e.admin.UserID, connection.Input{Type: facebook.Type, Name: "Страница магазина",
			Settings: map[string]any{"page_access_token": "EAAG-page-token", "app_secret": "app-secret-1", "verify_token": "verify-1"}}); err != nil {
			t.Fatal(err)
		}
		c, err := e.app.Store.CreateContact(ctx, e.admin, crm.Contact{Name: "Ольга", Extra: crm.Extra{ExternalIDs: map[string]string{"facebook": "6543210987654321"}}})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		links := excerpt(b.get("/e/contact/"+strconv.FormatInt(c.ID, 10)).Body, `id="card-links"`)
		if !strings.Contains(links, "Страница магазина") || !strings.Contains(links, "6543210987654321") || strings.Contains(links, "/export/") {
			t.Errorf("the card's links: %s", links)
		}
	})
}
