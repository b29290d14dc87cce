package automation_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
)

// The seed's two processes as bundles: a deal moved to "Счёт на
// предоплату" is invoiced and the payment link goes to its timeline (a
// deal without products gets the error there, the number empty); the
// invoice paid moves the deal to WON — through invoice.status_changed,
// with no polling. On both engines, through the real server.
func TestInvoiceBundles(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		s, ctx, admin := e.app.Store, context.Background(), crm.Actor{UserID: e.admin.ID}
		pm, err := s.CreatePaymentMethod(ctx, admin, crm.PaymentMethod{Name: "Счёт", ClientType: crm.ClientCompany, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		buyer, err := s.CreateAccount(ctx, admin, crm.Account{Title: "Ромашка", INN: "7707083893"})
		if err != nil {
			t.Fatal(err)
		}
		newDeal := func(rows []crm.LineItem) int64 {
			d, err := s.CreateDeal(ctx, admin, crm.Deal{Title: "Поставка", AccountID: buyer.ID, ProductRows: rows})
			if err != nil {
				t.Fatal(err)
			}
			return d.ID
		}
		withRows := newDeal([]crm.LineItem{{Name: "Кирпич", Price: 1200, Quantity: 10000}})
		noRows := newDeal(nil)

		invoiceIt := e.bundle(jsonOf(t, fmt.Sprintf(`{"name": "Сделка → счёт", "active": true,
		 "trigger": {"type": "crm.event", "entity": "deal", "actions": ["update"], "changed_to": {"stage_id": "PREPAYMENT_INVOICE"}},
		 "steps": [
		   {"id": "inv", "action": "invoice.from_deal", "on_error": "continue",
		    "input": {"deal_id": "{{trigger.record.id}}", "pay_method_company": %d, "pay_method_contact": %d}},
		   {"id": "note", "action": "crm.timeline.add",
		    "input": {"entity": "deal", "id": "{{trigger.record.id}}", "text": "Счёт {{steps.inv.number}}: {{steps.inv.payment_url}}|{{steps.inv.error}}"}}
		 ]}`, pm.ID, pm.ID)))
		paid := e.bundle(jsonOf(t, `{"name": "Счёт оплачен → сделка успешна", "active": true,
		 "trigger": {"type": "invoice.status_changed", "options": {"status": "P"}},
		 "steps": [
		   {"id": "st", "action": "invoice.status", "input": {"id": "{{trigger.record.id}}"}},
		   {"id": "won", "action": "crm.deal.move", "input": {"id": "{{trigger.record.deal_id}}", "stage_id": "WON"}}
		 ]}`))

		for _, d := range []int64{withRows, noRows} {
			e.must(e.do("PATCH", fmt.Sprintf("/api/v1/deals/%d", d), map[string]any{"stage_id": "PREPAYMENT_INVOICE"}), http.StatusOK)
		}
		runs := e.waitRuns(invoiceIt.ID, 2)
		byDeal := map[int64]automation.Run{}
		for _, r := range runs {
			byDeal[r.RecordID] = e.run(r.ID)
		}
		ok := byDeal[withRows]
		number, _ := path(ok.Steps[0].Output, "number").(string)
		payURL, _ := path(ok.Steps[0].Output, "payment_url").(string)
		if ok.Status != automation.StatusOK || !strings.HasPrefix(number, "INV-") || !strings.HasPrefix(payURL, e.srv.URL+"/i/") {
			t.Fatalf("the invoicing run: %+v", ok)
		}
		if got := e.comments("deals", withRows); len(got) != 1 || got[0] != "Счёт "+number+": "+payURL+"|" {
			t.Fatalf("the deal's timeline: %q", got)
		}
		resp, err := e.client.Get(payURL)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(page), "Сто двадцать рублей 00 копеек") {
			t.Fatalf("the public page: %d\n%s", resp.StatusCode, page)
		}
		// The seed's contract: on an error the number is empty and the
		// error says why.
		bad := byDeal[noRows]
		if bad.Steps[0].Result != automation.ResultError || !strings.Contains(bad.Steps[0].Error, "has no products") {
			t.Fatalf("the run of a deal without products: %+v", bad)
		}
		if got := e.comments("deals", noRows); len(got) != 1 || !strings.HasPrefix(got[0], "Счёт : |") || !strings.Contains(got[0], "has no products") {
			t.Fatalf("the timeline of the deal without products: %q", got)
		}

		// Sent: not the status the bundle waits for. Paid: the deal is won.
		v, err := s.InvoiceByNumber(ctx, number)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []string{"S", "P"} {
			e.must(e.do("PATCH", fmt.Sprintf("/api/v1/invoices/%d", v.ID), map[string]any{"status": st}), http.StatusOK)
		}
		r := e.run(e.waitRuns(paid.ID, 1)[0].ID)
		if r.Status != automation.StatusOK || path(r.Steps[0].Output, "status") != "P" || path(r.Steps[0].Output, "paid") != true {
			t.Fatalf("the payment run: %+v", r)
		}
		d, err := s.GetDeal(ctx, withRows)
		if err != nil {
			t.Fatal(err)
		}
		if d.StageID != "WON" {
			t.Fatalf("the paid invoice's deal is at %s", d.StageID)
		}
		if n := len(e.runs(paid.ID, "")); n != 1 {
			t.Fatalf("%d runs of the payment bundle, want 1 (the move to S is not its)", n)
		}
	})
}
