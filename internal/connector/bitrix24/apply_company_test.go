package bitrix24_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/connector/bitrix24"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// A company changed in the portal (a second Obmen) comes back to its
// linked account: the name, the phones, the e-mails and the INN of its
// requisite; the same event again writes nothing; the company deleted
// there breaks the account's link, says so on its timeline, and keeps the
// account.
func TestApplyCompanySecondObmen(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			p := newPair(t, e)
			s, ps := p.shop.App.Store, p.portal.App.Store
			sys := "bitrix24:" + strings.TrimPrefix(p.portal.Srv.URL, "http://")
			acc, err := s.CreateAccount(ctx, p.shopActor, crm.Account{Title: "ООО Ромашка", Kind: "legal", INN: "7707083893", Comms: crm.Comms{
				Phones: []crm.Comm{{Value: "+7 495 111-22-33", ValueType: "WORK"}}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateRequisite(ctx, p.shopActor, acc.ID, crm.Requisite{PresetID: crm.PresetCompany, Name: "ООО Ромашка", INN: "7707083893", KPP: "773601001"}); err != nil {
				t.Fatal(err)
			}
			ex := out(t, p.call(t, bitrix24.ActionCompanyExport, map[string]any{"account_id": acc.ID}))
			company := id(ex["id"])
			if company == 0 {
				t.Fatalf("export: %v", ex)
			}
			admin := crm.Actor{UserID: p.portalAdmin}
			if _, err := ps.UpdateAccount(ctx, admin, company, func(x *crm.Account) error {
				x.Title = "ООО «Ромашка Плюс»"
				x.Phones = []crm.Comm{{Value: "+7 495 111-22-33", ValueType: "WORK"}, {Value: "+7 495 999-00-11", ValueType: "WORK"}}
				x.Emails = []crm.Comm{{Value: "office@romashka.ru", ValueType: "WORK"}}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			rqs, err := ps.ListRequisites(ctx, company)
			if err != nil || len(rqs) != 1 {
				t.Fatalf("the portal's requisites: %+v %v", rqs, err)
			}
			rq := rqs[0]
			rq.INN = "7736207543"
			rq.KPP = "773601001"
			if _, err := ps.UpdateRequisite(ctx, admin, rq.ID, rq); err != nil {
				t.Fatal(err)
			}
			apply := func() map[string]any {
				return out(t, p.call(t, bitrix24.ActionEventApply, map[string]any{"event": "ONCRMCOMPANYUPDATE", "id": company}))
			}
			if o := apply(); o["outcome"] != bitrix24.ApplyUpdated || id(o["account_id"]) != acc.ID || fmt.Sprint(o["changed"]) != "[title inn phones emails]" {
				t.Fatalf("apply: %v", o)
			}
			got, _ := s.GetAccount(ctx, acc.ID)
			if got.Title != "ООО «Ромашка Плюс»" || got.INN != "7736207543" || len(got.Phones) != 2 || len(got.Emails) != 1 || got.Emails[0].Value != "office@romashka.ru" {
				t.Fatalf("the account: %+v", got)
			}
			if o := apply(); o["outcome"] != bitrix24.ApplyUnchanged {
				t.Fatalf("the same event again: %v", o)
			}
			if again, _ := s.GetAccount(ctx, acc.ID); !again.UpdatedAt.Equal(got.UpdatedAt) {
				t.Fatal("the same event rewrote the account")
			}

			if err := ps.Delete(ctx, admin, store.EntityAccount, company); err != nil {
				t.Fatal(err)
			}
			if o := out(t, p.call(t, bitrix24.ActionEventApply, map[string]any{"event": "ONCRMCOMPANYDELETE", "id": company})); o["outcome"] != bitrix24.ApplyLinkBroken {
				t.Fatalf("delete: %v", o)
			}
			got, err = s.GetAccount(ctx, acc.ID)
			if err != nil || got.ExternalIDs[sys] != "" || got.ExternalIDs["bitrix24-deleted:"+strings.TrimPrefix(sys, "bitrix24:")] != fmt.Sprint(company) {
				t.Fatalf("the account after the delete: %v %v", got.ExternalIDs, err)
			}
			if cs, err := s.ListComments(ctx, store.EntityAccount, acc.ID); err != nil || len(cs) != 1 || !strings.Contains(cs[0].Body, "удалена в Битрикс24") {
				t.Fatalf("the account's timeline: %+v %v", cs, err)
			}
		})
	}
}
