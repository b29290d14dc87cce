package action

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// invoiceFromDealIn is invoice.from_deal's input, seed 003's "Создать счет
// на основании сделки". The seed's "run as" is the bundle's run_as_user_id:
// the step acts, and sees the deal, as that user.
type invoiceFromDealIn struct {
	DealID           int64 `json:"deal_id" auto:"required"`
	PayMethodCompany int64 `json:"pay_method_company" auto:"required"`
	PayMethodContact int64 `json:"pay_method_contact" auto:"required"`
	// SellerAccountID is "our company" (0: the setting
	// invoice.seller_account_id); a wrong one leaves the invoice without
	// the seller's requisites, as the seed says.
	SellerAccountID int64 `json:"seller_account_id"`
}

// invoiceFromDealOut is its output. On an error the step fails with the
// error's text and has no number nor payment_url: with on_error
// "continue", steps.<id>.number is empty and steps.<id>.error the text —
// the seed's contract of an empty number on error.
type invoiceFromDealOut struct {
	PaymentURL string   `json:"payment_url"`
	Number     string   `json:"number"`
	Error      string   `json:"error"`
	InvoiceID  int64    `json:"invoice_id"`
	PublicURL  string   `json:"public_url"`
	PDFURL     string   `json:"pdf_url"`
	Warnings   []string `json:"warnings"`
}

// invoiceFromDeal bills a deal (store.BillDeal), once per step however
// often it is tried.
func invoiceFromDeal(d Deps) automation.Action {
	spec := automation.Spec{Name: "invoice.from_deal", Group: GroupCRM, Writes: true, Entity: store.EntityInvoice}
	base := strings.TrimRight(d.PublicURL, "/") + "/i/"
	out := func(v crm.Invoice, warnings []string) invoiceFromDealOut {
		pub := store.PublicURL(base, v.PublicToken)
		o := invoiceFromDealOut{PaymentURL: v.PaymentURL, Number: v.Number, InvoiceID: v.ID, PublicURL: pub, Warnings: warnings}
		if pub != "" {
			o.PDFURL = pub + ".pdf"
		}
		if o.Warnings == nil {
			o.Warnings = []string{}
		}
		return o
	}
	return define[invoiceFromDealIn, invoiceFromDealOut](spec, func(ctx context.Context, c *automation.Call, in invoiceFromDealIn) (any, error) {
		if in.DealID <= 0 {
			return nil, automation.InputErrorf("deal_id", "%d is not a deal id", in.DealID)
		}
		if d.PublicURL == "" {
			return nil, errors.New("action: the server's public URL (OBMEN_PUBLIC_URL) is unknown: invoice links cannot be made")
		}
		get := func(ctx context.Context, id int64) (crm.Invoice, error) { return d.Store.GetInvoice(ctx, id) }
		idem := idempotencyOf(c, spec.Name, in)
		if !c.DryRun && !c.Fresh {
			if made, ok, err := replay(ctx, c, d.Store, idem, store.EntityInvoice, get); ok || err != nil {
				if err != nil {
					return nil, err
				}
				return out(made, nil), nil
			}
		}
		if c.DryRun {
			return previewBill(ctx, d, in)
		}
		var warnings []string
		v, err := createOnce(ctx, c, d.Store, idem, store.EntityInvoice, get, func(ctx context.Context) (crm.Invoice, error) {
			b, err := d.Store.BillDeal(ctx, c.Actor, in.DealID, store.BillOptions{CompanyMethodID: in.PayMethodCompany,
				ContactMethodID: in.PayMethodContact, SellerAccountID: in.SellerAccountID, PublicBase: base})
			warnings = b.Warnings
			return b.Invoice, err
		})
		if err != nil {
			return nil, failOn(err, store.EntityDeal, in.DealID)
		}
		for _, w := range warnings {
			logger(c).Warn("invoice.from_deal: "+w, "deal", in.DealID, "invoice", v.ID)
		}
		return out(v, warnings), nil
	})
}

// previewBill is invoice.from_deal in test mode: what it would bill,
// after the checks that need no write.
func previewBill(ctx context.Context, d Deps, in invoiceFromDealIn) (any, error) {
	deal, err := d.Store.GetDeal(ctx, in.DealID)
	if err != nil || deal.DeletedAt != nil {
		if err == nil {
			err = store.ErrNotFound
		}
		return nil, failOn(err, store.EntityDeal, in.DealID)
	}
	if len(deal.ProductRows) == 0 {
		return nil, automation.InputErrorf("deal_id", "deal %d has no products: an invoice needs at least one product row", in.DealID)
	}
	field, method := "pay_method_contact", in.PayMethodContact
	if deal.AccountID != 0 {
		field, method = "pay_method_company", in.PayMethodCompany
	}
	if _, err := d.Store.GetPaymentMethod(ctx, method); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, automation.InputErrorf(field, "no payment method with id %d", method)
		}
		return nil, fail(err)
	}
	return automation.Preview{DryRun: true, Would: fmt.Sprintf("invoice deal %d", in.DealID), Send: in}, nil
}

type invoiceStatusIn struct {
	ID int64 `json:"id" auto:"required"`
}

// invoiceStatusOut is the invoice's status: its letter as Bitrix24 letters
// invoice statuses (README, "Invoice statuses"), its name, and whether it
// means paid (success) or declined (failure).
type invoiceStatusOut struct {
	Status   string `json:"status"`
	Name     string `json:"name"`
	Paid     bool   `json:"paid"`
	Declined bool   `json:"declined"`
	Number   string `json:"number"`
}

// invoiceStatus is seed 003's "Слежение за статусом Счёта": the status of
// an invoice as one Latin letter.
func invoiceStatus(d Deps) automation.Action {
	spec := automation.Spec{Name: "invoice.status", Group: GroupCRM, Entity: store.EntityInvoice}
	return define[invoiceStatusIn, invoiceStatusOut](spec, func(ctx context.Context, c *automation.Call, in invoiceStatusIn) (any, error) {
		if err := positiveID(in.ID); err != nil {
			return nil, err
		}
		v, err := d.Store.GetInvoice(ctx, in.ID)
		if err != nil {
			return nil, failOn(err, store.EntityInvoice, in.ID)
		}
		o := invoiceStatusOut{Status: v.Status, Number: v.Number}
		sts, err := d.Store.ListStatuses(ctx, "INVOICE_STATUS")
		if err != nil {
			return nil, fail(err)
		}
		for _, st := range sts {
			if st.StatusID == v.Status {
				o.Name, o.Paid, o.Declined = st.Name, st.Semantics == "S", st.Semantics == "F"
			}
		}
		return o, nil
	})
}

// TriggerInvoiceStatusChanged runs a bundle when an invoice's status
// changes — to the letter in options.status when given ("P": paid) — so
// that a bundle reacts to a payment without polling. It is served by the
// change-event log as the crm.event trigger on invoices' "status" field
// (trigger.record is the invoice, trigger.old the invoice before).
const TriggerInvoiceStatusChanged = "invoice.status_changed"

func invoiceStatusChanged() automation.TriggerKind {
	eventFields := []automation.Field{{Name: "id", Type: "integer"}, {Name: "entity", Type: "string"}, {Name: "record_id", Type: "integer"},
		{Name: "action", Type: "string"}, {Name: "changes", Type: "object"}, {Name: "created_at", Type: "datetime"}}
	return automation.TriggerKind{Type: TriggerInvoiceStatusChanged, Group: GroupCRM,
		Data: []automation.Field{{Name: "event", Type: "object", Fields: eventFields}, {Name: "record", Type: "object"}, {Name: "old", Type: "object"}},
		Validate: func(spec automation.TriggerSpec) []automation.Problem {
			for k, v := range spec.Options {
				if k != "status" {
					return []automation.Problem{{Field: "trigger.options." + k, Message: "unknown option; the only one is status"}}
				}
				if s, ok := v.(string); !ok || strings.TrimSpace(s) == "" {
					return []automation.Problem{{Field: "trigger.options.status", Message: "must be a status letter such as P"}}
				}
			}
			return nil
		},
		Events: func(spec automation.TriggerSpec) automation.TriggerSpec {
			out := automation.TriggerSpec{Type: automation.TriggerCRMEvent, Entity: store.EntityInvoice,
				Actions: []string{"update"}, Fields: []string{"status"}}
			if s, ok := spec.Options["status"].(string); ok && strings.TrimSpace(s) != "" {
				out.ChangedTo = map[string]any{"status": strings.TrimSpace(s)}
			}
			return out
		},
	}
}
