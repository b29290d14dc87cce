package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// An account's card offers "Отправить в «Портал»" for a Bitrix24
// connection while the account has no id in that portal; the button
// exports it (company, requisite, bank details) to a second Obmen playing
// the portal, and the card shows the portal's id instead afterwards. A
// manager without the "actions" permission sees no button and is refused.
func TestCardExportToBitrix24(t *testing.T) {
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			shop := newEnvWith(t, eng.Open(t), func(c *config.Config) { c.OutboundAllow = []string{"127.0.0.0/8"} })
			testCardExport(t, shop, newEnv(t, eng.Open(t)))
		})
	}
}

func testCardExport(t *testing.T, e, portal *env) {
	{
		ctx := context.Background()
		pu, err := portal.app.Store.UserByLogin(ctx, "admin")
		if err != nil {
			t.Fatal(err)
		}
		_, code, err := portal.app.Bitrix.CreateWebhook(ctx, pu.ID, "shop", []string{"crm", "user"})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := e.app.Connections.Create(ctx, e.admin.UserID, connection.Input{Type: "bitrix24", Name: "Портал", Settings: map[string]any{
			"portal_url": portal.srv.URL, "user_id": pu.ID, "webhook_code": code}})
		if err != nil {
			t.Fatal(err)
		}
		s := e.app.Store
		acc, err := s.CreateAccount(ctx, e.admin, crm.Account{Title: "ООО Ромашка", Kind: "legal"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateRequisite(ctx, e.admin, acc.ID, crm.Requisite{PresetID: crm.PresetCompany, Name: "ООО Ромашка", INN: "7707083893", KPP: "773601001",
			BankDetails: []crm.BankDetail{{Name: "Основной", Bank: "ПАО Сбербанк", BIK: "044525225", Account: "40702810938000000001"}}}); err != nil {
			t.Fatal(err)
		}
		card := "/e/account/" + strconv.FormatInt(acc.ID, 10)
		export := fmt.Sprintf("%s/export/%d", card, conn.ID)

		// A manager who may see the account but not call actions.
		anna, err := s.CreateUser(ctx, e.admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateAccount(ctx, e.admin, acc.ID, func(a *crm.Account) error { a.AssignedByID = anna.ID; return nil }); err != nil {
			t.Fatal(err)
		}
		m := e.browser()
		if p := m.login(url.Values{"login": {"anna"}, "password": {"anna-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("manager sign in: %d", p.Status)
		}
		if p := m.get(card); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="card-links"`) || strings.Contains(p.Body, export) {
			t.Fatalf("the manager's card: %d, links shown %v, button shown %v", p.Status, strings.Contains(p.Body, `id="card-links"`), strings.Contains(p.Body, export))
		}
		if p := m.post(export, nil); p.Status != http.StatusForbidden {
			t.Fatalf("the manager's export: %d %s", p.Status, p.Body)
		}

		b := e.browser()
		b.signIn()
		p := b.get(card)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `action="`+export+`"`) || !strings.Contains(p.Body, "Отправить в «Портал»") {
			t.Fatalf("the admin's card offers no export: %d", p.Status)
		}
		p = b.post(export, nil)
		if p.Status != http.StatusSeeOther || !strings.Contains(p.Location, "flash=conn.exported") {
			t.Fatalf("export: %d %q %s", p.Status, p.Location, p.Body)
		}
		acc, err = s.GetAccount(ctx, acc.ID)
		if err != nil {
			t.Fatal(err)
		}
		sys := "bitrix24:" + portal.srv.Listener.Addr().String()
		bid, _ := strconv.ParseInt(acc.ExternalIDs[sys], 10, 64)
		if bid == 0 {
			t.Fatalf("no portal id on the account: %v", acc.ExternalIDs)
		}
		if co, err := portal.app.Store.GetAccount(ctx, bid); err != nil || co.Title != "ООО Ромашка" {
			t.Fatalf("the portal's company: %+v, %v", co, err)
		}
		p = b.get(card)
		if !strings.Contains(p.Body, "ID: "+strconv.FormatInt(bid, 10)) || strings.Contains(p.Body, `action="`+export+`"`) {
			t.Fatalf("the card after the export shows no id, or still the button")
		}
		// Sending it again changes nothing (the action finds the id).
		if p := b.post(export, nil); p.Status != http.StatusSeeOther {
			t.Fatalf("a repeat: %d", p.Status)
		}
		if list, _, err := portal.app.Store.ListAccounts(ctx, store.ListParams{Limit: 10}); err != nil || len(list) != 1 {
			t.Fatalf("the portal has %d companies (%v)", len(list), err)
		}
	}
}
