package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
)

// BillOptions says how BillDeal makes an invoice out of a deal.
type BillOptions struct {
	// CompanyMethodID is the payment method when the deal has a company,
	// ContactMethodID when it has only a contact; each must exist and be
	// for that client type.
	CompanyMethodID, ContactMethodID int64
	// SellerAccountID is "our company": its first requisite (by id) and
	// that requisite's first bank account print as the seller's. 0: the
	// setting invoice.seller_account_id. A seller that is missing, in
	// the recycle bin or without requisites leaves the invoice without
	// the seller's requisites (a Warning), as the seed's action does.
	SellerAccountID int64
	// PublicBase is the absolute URL the public page's token is appended
	// to ("https://crm.example.ru/i/").
	PublicBase string
}

// Billed is what BillDeal made.
type Billed struct {
	Invoice crm.Invoice
	// PublicURL is the link of the invoice's public page.
	PublicURL string
	// Warnings are what the invoice lacks (no seller, no requisites).
	Warnings []string
}

// SellerSetting is the setting naming the seller's account.
const SellerSetting = "invoice.seller_account_id"

// PublicURL is the link of an invoice's public page under base.
func PublicURL(base, token string) string {
	if token == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + "/" + token
}

// BillDeal makes an invoice of a live deal, as invoice.from_deal of
// seed 003: the deal's company and its primary (else first) contact as
// the buyer, the payment method for companies when there is a company
// (else the one for contacts), the deal's product rows, a public page
// with an unguessable link, the payment link (the method's template
// filled in, else the public page), and the requisite link: the buyer's
// first requisite by id — of the company when there is one, else of the
// contact — with its first bank account, and the seller's. A deal
// without products, or with neither a company nor a contact, is refused
// naming that (field deal_id); a missing payment method names its field
// (pay_method_company, pay_method_contact). One transaction: the invoice,
// its link and its create event, or nothing.
func (s *Store) BillDeal(ctx context.Context, actor crm.Actor, dealID int64, o BillOptions) (Billed, error) {
	var out Billed
	base := strings.TrimSpace(o.PublicBase)
	if !strings.HasPrefix(base, "https://") && !strings.HasPrefix(base, "http://") {
		return out, fmt.Errorf("store: bill deal %d: the public base %q is not an http(s) URL", dealID, o.PublicBase)
	}
	err := s.Write(ctx, actor, func(t *Tx) error {
		out = Billed{}
		q := t.rq()
		if err := allowedID(q, EntityDeal, dealID); err != nil {
			return err
		}
		v, err := invoiceFromDeal(q, dealID)
		if err != nil {
			return err
		}
		if v.AccountID == 0 && v.ContactID == 0 {
			return crm.Invalid("deal_id", "deal %d has neither a company nor a contact: an invoice needs a buyer", dealID)
		}
		if len(v.Items) == 0 {
			return crm.Invalid("deal_id", "deal %d has no products: an invoice needs at least one product row", dealID)
		}
		field, methodID, want := "pay_method_contact", o.ContactMethodID, crm.ClientContact
		if v.AccountID != 0 {
			field, methodID, want = "pay_method_company", o.CompanyMethodID, crm.ClientCompany
		}
		method, err := getPaymentMethod(q, methodID)
		if errors.Is(err, ErrNotFound) {
			return crm.Invalid(field, "no payment method with id %d", methodID)
		}
		if err != nil {
			return err
		}
		if method.ClientType != want {
			return crm.Invalid(field, "payment method %d (%s) is for %s clients, not %s", method.ID, method.Name, method.ClientType, want)
		}
		if !method.Active {
			return crm.Invalid(field, "payment method %d (%s) is switched off", method.ID, method.Name)
		}
		v.PaymentMethodID = method.ID
		if v.PublicToken, err = newPublicToken(); err != nil {
			return err
		}
		out.PublicURL = PublicURL(base, v.PublicToken)
		v.InvoiceDate = t.now.UTC().Format(time.DateOnly)
		// The number is taken now, so that the payment link can name it.
		if v.Number, err = t.nextDocNumber("invoice", "invoice.prefix", "INV-", "invoices"); err != nil {
			return err
		}
		normExtra(&v.Extra)
		if err := v.Normalize(); err != nil {
			return err
		}
		if err := checkInvoice(q, &v); err != nil {
			return err
		}
		t.stampNew(&v.Meta)
		if err := t.insertInvoice(&v); err != nil {
			return err
		}
		v.PaymentURL = method.FillURL(&v, out.PublicURL)
		if v.PaymentURL == "" {
			v.PaymentURL = out.PublicURL
		}
		if err := v.Normalize(); err != nil {
			return crm.Invalid("payment_url", "the payment method %d's link %q: %v", method.ID, v.PaymentURL, err)
		}
		if _, err := t.tx.ExecContext(t.ctx, "UPDATE invoices SET payment_url = $1 WHERE id = $2", v.PaymentURL, v.ID); err != nil {
			return fmt.Errorf("store: invoice %d payment url: %w", v.ID, err)
		}
		link, warnings, err := billLink(t, &v, o.SellerAccountID)
		if err != nil {
			return err
		}
		out.Warnings = warnings
		if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO requisite_links (`+requisiteLinkColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			link.Entity, link.RecordID, link.RequisiteID, link.BankDetailID, link.MCRequisiteID, link.MCBankDetailID); err != nil {
			return fmt.Errorf("store: requisite link of invoice %d: %w", v.ID, err)
		}
		out.Invoice = v
		return t.EmitDiff(EntityInvoice, v.ID, events.Create, nil, v)
	})
	return out, err
}

// billLink is the requisite link of a new invoice: the buyer's first
// requisite by id with its first bank account (the company's when the
// invoice has one, else the contact's), and the seller's.
func billLink(t *Tx, v *crm.Invoice, sellerID int64) (crm.RequisiteLink, []string, error) {
	q := t.rq()
	l := crm.RequisiteLink{Entity: EntityInvoice, RecordID: v.ID}
	var warnings []string
	buyer, buyerID := EntityContact, v.ContactID
	if v.AccountID != 0 {
		buyer, buyerID = EntityAccount, v.AccountID
	}
	var err error
	l.RequisiteID, l.BankDetailID, err = firstRequisite(q, buyer, buyerID)
	if err != nil {
		return l, nil, err
	}
	if l.RequisiteID == 0 {
		warnings = append(warnings, fmt.Sprintf("the buyer (%s %d) has no requisites: the invoice names the buyer by the card", buyer, buyerID))
	}
	if sellerID == 0 {
		var setting string
		err := q.q.QueryRowContext(q.ctx, "SELECT value FROM settings WHERE key = $1", SellerSetting).Scan(&setting)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return l, nil, fmt.Errorf("store: setting %s: %w", SellerSetting, err)
		}
		sellerID, _ = strconv.ParseInt(strings.TrimSpace(setting), 10, 64)
	}
	switch {
	case sellerID <= 0:
		warnings = append(warnings, "no seller account is given (nor the setting "+SellerSetting+"): the invoice has no seller's requisites")
	default:
		var deleted int64
		err := q.q.QueryRowContext(q.ctx, "SELECT deleted_at FROM accounts WHERE id = $1", sellerID).Scan(&deleted)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && deleted != 0) {
			warnings = append(warnings, fmt.Sprintf("the seller account %d is not found: the invoice has no seller's requisites", sellerID))
			break
		}
		if err != nil {
			return l, nil, fmt.Errorf("store: seller account %d: %w", sellerID, err)
		}
		if l.MCRequisiteID, l.MCBankDetailID, err = firstRequisite(q, EntityAccount, sellerID); err != nil {
			return l, nil, err
		}
		if l.MCRequisiteID == 0 {
			warnings = append(warnings, fmt.Sprintf("the seller account %d has no requisites: the invoice has no seller's requisites", sellerID))
		}
	}
	return l, warnings, nil
}

// firstRequisite is the first requisite by id of an account or a contact
// and the first bank account by id of that requisite (0: none) — the one
// created before the others, as the seed's action chooses, whatever the
// sort order shown.
func firstRequisite(q txq, entity string, id int64) (int64, int64, error) {
	var rq, bd int64
	err := q.q.QueryRowContext(q.ctx, "SELECT MIN(id) FROM requisites WHERE entity = $1 AND record_id = $2", entity, id).Scan(&nullable{&rq})
	if err != nil {
		return 0, 0, fmt.Errorf("store: first requisite of %s %d: %w", entity, id, err)
	}
	if rq == 0 {
		return 0, 0, nil
	}
	if err := q.q.QueryRowContext(q.ctx, "SELECT MIN(id) FROM bank_details WHERE requisite_id = $1", rq).Scan(&nullable{&bd}); err != nil {
		return 0, 0, fmt.Errorf("store: first bank detail of requisite %d: %w", rq, err)
	}
	return rq, bd, nil
}

// nullable scans a NULL as 0.
type nullable struct{ p *int64 }

func (n *nullable) Scan(src any) error {
	var v sql.NullInt64
	if err := v.Scan(src); err != nil {
		return err
	}
	*n.p = v.Int64
	return nil
}

// newPublicToken is 32 random bytes, base64url: a link nobody guesses.
func newPublicToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("store: invoice token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// InvoiceByToken returns the live invoice whose public page has this
// token; ErrNotFound for any other (unknown, empty, in the recycle bin).
// It is read without a user's scope: the token is the permission.
func (s *Store) InvoiceByToken(ctx context.Context, token string) (crm.Invoice, error) {
	if len(token) < 32 {
		return crm.Invoice{}, NotFound("invoice page", "")
	}
	var id int64
	err := s.db.Read.QueryRowContext(ctx, "SELECT id FROM invoices WHERE public_token = $1 AND deleted_at = 0", token).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return crm.Invoice{}, NotFound("invoice page", "")
	}
	if err != nil {
		return crm.Invoice{}, fmt.Errorf("store: invoice page: %w", err)
	}
	return invoiceLoader.get(s.rq(ctx), id)
}

// InvoicePrint is what a printed invoice shows beyond the invoice: its
// buyer's company and contact cards, the linked requisites and bank
// accounts of the buyer and the seller (nil when none).
type InvoicePrint struct {
	Account            *crm.Account
	Contact            *crm.Contact
	Requisite          *crm.Requisite
	BankDetail         *crm.BankDetail
	SellerRequisite    *crm.Requisite
	SellerBankDetail   *crm.BankDetail
	SellerAccountTitle string
}

// InvoicePrintData reads what invoice v's printed form shows, without a
// user's scope (the public page's token is the permission).
func (s *Store) InvoicePrintData(ctx context.Context, v crm.Invoice) (InvoicePrint, error) {
	var p InvoicePrint
	q := s.rq(ctx)
	if v.AccountID != 0 {
		as, err := accountLoader.load(q, []int64{v.AccountID})
		if err != nil {
			return p, err
		}
		if len(as) == 1 {
			p.Account = &as[0]
		}
	}
	if v.ContactID != 0 {
		cs, err := contactLoader.load(q, []int64{v.ContactID})
		if err != nil {
			return p, err
		}
		if len(cs) == 1 {
			p.Contact = &cs[0]
		}
	}
	l, err := scanRequisiteLink(q.q.QueryRowContext(q.ctx, "SELECT "+requisiteLinkRead+" FROM requisite_links l WHERE l.entity = $1 AND l.record_id = $2", EntityInvoice, v.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("store: invoice %d requisite link: %w", v.ID, err)
	}
	pick := func(rqID, bdID int64) (*crm.Requisite, *crm.BankDetail, error) {
		if rqID == 0 {
			return nil, nil, nil
		}
		all, err := queryRequisites(q, "r.id = $1", rqID)
		if err != nil || len(all) == 0 {
			return nil, nil, err
		}
		r := all[0]
		for i := range r.BankDetails {
			if r.BankDetails[i].ID == bdID {
				return &r, &r.BankDetails[i], nil
			}
		}
		return &r, nil, nil
	}
	if p.Requisite, p.BankDetail, err = pick(l.RequisiteID, l.BankDetailID); err != nil {
		return p, err
	}
	if p.SellerRequisite, p.SellerBankDetail, err = pick(l.MCRequisiteID, l.MCBankDetailID); err != nil {
		return p, err
	}
	if p.SellerRequisite != nil && p.SellerRequisite.AccountID != 0 {
		err := q.q.QueryRowContext(q.ctx, "SELECT title FROM accounts WHERE id = $1", p.SellerRequisite.AccountID).Scan(&p.SellerAccountTitle)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return p, fmt.Errorf("store: seller account %d: %w", p.SellerRequisite.AccountID, err)
		}
	}
	return p, nil
}
