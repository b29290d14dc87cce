package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
)

var invoiceSpec = spec{
	entity: EntityInvoice, table: "invoices",
	columns: map[string]Column{
		"number": {"number", KindText}, "status": {"status", KindText},
		"invoice_date": {"invoice_date", KindDate}, "due_date": {"due_date", KindDate},
		"deal_id": {"deal_id", KindInt}, "account_id": {"account_id", KindInt}, "contact_id": {"contact_id", KindInt},
		"currency": {"currency", KindText}, "subtotal": {"subtotal", KindAmount}, "total": {"total", KindAmount},
		"assigned_by_id": {"assigned_by_id", KindInt}, "created_by_id": {"created_by_id", KindInt},
		"created_at": {"created_at", KindTime}, "updated_at": {"updated_at", KindTime}, "deleted_at": {"deleted_at", KindTime},
	},
}

const invoiceColumns = `id, number, status, invoice_date, due_date, deal_id, account_id, contact_id, currency,
	subtotal, discount, tax, total, payment_url, comments, assigned_by_id, created_by_id, updated_by_id,
	created_at, updated_at, deleted_at, deleted_by_id, payment_method_id, public_token`

var invoiceLoader = loader[crm.Invoice]{
	entity: EntityInvoice, name: "invoice", table: "invoices", columns: invoiceColumns,
	meta:  func(v *crm.Invoice) *crm.Meta { return &v.Meta },
	extra: func(v *crm.Invoice) *crm.Extra { return &v.Extra },
	scan: func(rows rowScanner, v *crm.Invoice) error {
		var mt metaTimes
		if err := rows.Scan(&v.ID, &v.Number, &v.Status, &v.InvoiceDate, &v.DueDate, &v.DealID, &v.AccountID, &v.ContactID, &v.Currency,
			(*int64)(&v.Subtotal), (*int64)(&v.Discount), (*int64)(&v.Tax), (*int64)(&v.Total), &v.PaymentURL, &v.Comments,
			&v.AssignedByID, &v.CreatedByID, &v.UpdatedByID, &mt.created, &mt.updated, &mt.deleted, &v.DeletedByID, &v.PaymentMethodID, &v.PublicToken); err != nil {
			return err
		}
		mt.set(&v.Meta)
		return nil
	},
	parts: []func(txq, []int64) (func(int64, *crm.Invoice), error){
		itemsPart(EntityInvoice, func(v *crm.Invoice) *[]crm.LineItem { return &v.Items }),
	},
}

// GetInvoice returns an invoice, live or in the recycle bin.
func (s *Store) GetInvoice(ctx context.Context, id int64) (crm.Invoice, error) {
	v, err := invoiceLoader.get(s.rq(ctx), id)
	return scoped1(ctx, EntityInvoice, v, err)
}

// InvoiceByNumber returns the invoice with the given number, live or in
// the recycle bin (numbers are never reused).
func (s *Store) InvoiceByNumber(ctx context.Context, number string) (crm.Invoice, error) {
	id, err := idByNumber(ctx, s, invoiceLoader, number)
	if err != nil {
		return crm.Invoice{}, err
	}
	return s.GetInvoice(ctx, id)
}

// ListInvoices returns a page of invoices.
func (s *Store) ListInvoices(ctx context.Context, p ListParams) ([]crm.Invoice, string, error) {
	return invoiceLoader.list(s, s.rq(ctx), invoiceSpec, p)
}

// checkInvoice validates what a new invoice refers to.
func checkInvoice(t txq, v *crm.Invoice) error {
	return checkInvoiceRefs(t, v, nil)
}

// checkInvoiceRefs validates what v refers to. On an update (old set)
// links that did not change are not checked again, as for sales orders.
func checkInvoiceRefs(t txq, v, old *crm.Invoice) error {
	r := refs{t: t}
	r.user("assigned_by_id", v.AssignedByID)
	r.status("status", "INVOICE_STATUS", v.Status)
	r.currency("currency", v.Currency)
	if old == nil || v.DealID != old.DealID {
		r.record("deal_id", EntityDeal, v.DealID)
	}
	if old == nil || v.AccountID != old.AccountID {
		r.record("account_id", EntityAccount, v.AccountID)
	}
	if old == nil || v.ContactID != old.ContactID {
		r.record("contact_id", EntityContact, v.ContactID)
	}
	r.items("items", v.Items)
	r.custom(EntityInvoice, &v.Custom)
	if r.err == nil && v.PaymentMethodID != 0 && (old == nil || v.PaymentMethodID != old.PaymentMethodID) {
		if _, err := getPaymentMethod(t, v.PaymentMethodID); errors.Is(err, ErrNotFound) {
			return crm.Invalid("payment_method_id", "no payment method with id %d", v.PaymentMethodID)
		} else if err != nil {
			return err
		}
	}
	return r.err
}

// CreateInvoice validates and stores a new invoice with its create event.
// The number is the system's (the caller's is replaced); an empty
// invoice_date is today (UTC).
func (s *Store) CreateInvoice(ctx context.Context, actor crm.Actor, v crm.Invoice) (crm.Invoice, error) {
	v.Number = "" // given by the system
	if strings.TrimSpace(v.InvoiceDate) == "" {
		v.InvoiceDate = s.now().UTC().Format(time.DateOnly)
	}
	return createRecord(s, ctx, actor, EntityInvoice, v, checkInvoice, func(t *Tx, v *crm.Invoice) error { return t.insertInvoice(v) })
}

// CreateInvoiceFromDeal bills a live deal: the new invoice takes the
// deal's account, its primary (else first) live contact, its currency,
// its responsible user when still active, and a copy of its product rows.
// The deal is read in the invoice's own transaction, so the copy is of one
// consistent state.
func (s *Store) CreateInvoiceFromDeal(ctx context.Context, actor crm.Actor, dealID int64) (crm.Invoice, error) {
	var v crm.Invoice
	err := s.Write(ctx, actor, func(t *Tx) error {
		if err := allowedID(t.rq(), EntityDeal, dealID); err != nil {
			return err
		}
		var err error
		if v, err = invoiceFromDeal(t.rq(), dealID); err != nil {
			return err
		}
		v.InvoiceDate = t.now.UTC().Format(time.DateOnly)
		normExtra(&v.Extra)
		if err := v.Normalize(); err != nil {
			return err
		}
		if err := checkInvoice(t.rq(), &v); err != nil {
			return err
		}
		t.stampNew(&v.Meta)
		if err := t.insertInvoice(&v); err != nil {
			return err
		}
		return t.EmitDiff(EntityInvoice, v.ID, events.Create, nil, v)
	})
	return v, err
}

// invoiceFromDeal builds an unsaved invoice from a deal's rows. It reads
// the deals, deal_contacts and line_items tables directly. Links to
// records now in the recycle bin are left out, and product rows whose
// product or service is gone keep their name and price as free rows.
func invoiceFromDeal(t txq, dealID int64) (crm.Invoice, error) {
	var v crm.Invoice
	var assigned, deleted int64
	err := t.q.QueryRowContext(t.ctx, "SELECT account_id, currency, assigned_by_id, deleted_at FROM deals WHERE id = $1", dealID).
		Scan(&v.AccountID, &v.Currency, &assigned, &deleted)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && deleted != 0) {
		return v, NotFound("deal", dealID)
	}
	if err != nil {
		return v, fmt.Errorf("store: invoice from deal %d: %w", dealID, err)
	}
	v.DealID = dealID
	live := func(query string, args ...any) (bool, error) {
		var one int
		err := t.q.QueryRowContext(t.ctx, query, args...).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("store: invoice from deal %d: %w", dealID, err)
		}
		return true, nil
	}
	if v.AccountID != 0 {
		ok, err := live("SELECT 1 FROM accounts WHERE id = $1 AND deleted_at = 0", v.AccountID)
		if err != nil {
			return v, err
		}
		if !ok {
			v.AccountID = 0
		}
	}
	if ok, err := live("SELECT 1 FROM users WHERE id = $1 AND active = TRUE", assigned); err != nil {
		return v, err
	} else if ok {
		v.AssignedByID = assigned
	}
	err = t.q.QueryRowContext(t.ctx, `SELECT dc.contact_id FROM deal_contacts dc JOIN contacts c ON c.id = dc.contact_id
		WHERE dc.deal_id = $1 AND c.deleted_at = 0 ORDER BY dc.is_primary DESC, dc.sort, dc.contact_id LIMIT 1`, dealID).Scan(&v.ContactID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("store: invoice from deal %d: contact: %w", dealID, err)
	}
	rows, err := loadItems(t, EntityDeal, []int64{dealID})
	if err != nil {
		return v, err
	}
	v.Items = rows[dealID]
	for i := range v.Items {
		it := &v.Items[i]
		it.ID = 0
		if it.ProductID != 0 {
			ok, err := live("SELECT 1 FROM products WHERE id = $1 AND deleted_at = 0", it.ProductID)
			if err != nil {
				return v, err
			}
			if !ok {
				it.ProductID = 0
			}
		}
		if it.ServiceID != 0 {
			ok, err := live("SELECT 1 FROM services WHERE id = $1 AND deleted_at = 0", it.ServiceID)
			if err != nil {
				return v, err
			}
			if !ok {
				it.ServiceID = 0
			}
		}
	}
	return v, nil
}

// insertInvoice inserts the row and its children. An empty Number is taken
// from the counter here, inside the transaction.
func (t *Tx) insertInvoice(v *crm.Invoice) error {
	if v.Number == "" {
		n, err := t.nextDocNumber("invoice", "invoice.prefix", "INV-", "invoices")
		if err != nil {
			return err
		}
		v.Number = n
	}
	err := t.tx.QueryRowContext(t.ctx, `INSERT INTO invoices (number, status, invoice_date, due_date, deal_id, account_id, contact_id, currency,
		subtotal, discount, tax, total, payment_url, comments, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at,
		payment_method_id, public_token)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
		RETURNING id`,
		v.Number, v.Status, v.InvoiceDate, v.DueDate, v.DealID, v.AccountID, v.ContactID, v.Currency,
		int64(v.Subtotal), int64(v.Discount), int64(v.Tax), int64(v.Total), v.PaymentURL, v.Comments, v.SearchText(),
		v.AssignedByID, v.CreatedByID, v.UpdatedByID, micro(v.CreatedAt), micro(v.UpdatedAt), v.PaymentMethodID, v.PublicToken).Scan(&v.ID)
	if err != nil {
		return fmt.Errorf("store: insert invoice %s: %w", v.Number, err)
	}
	if err := t.saveItems(EntityInvoice, v.ID, v.Items, true); err != nil {
		return err
	}
	if err := t.saveCustom(EntityInvoice, v.ID, v.Custom, true); err != nil {
		return err
	}
	return t.saveExternal(EntityInvoice, v.ID, v.ExternalIDs, true)
}

// UpdateInvoice loads a live invoice, lets mutate change it, validates and
// stores the result with an update event naming the changed fields. The
// number cannot be changed.
func (s *Store) UpdateInvoice(ctx context.Context, actor crm.Actor, id int64, mutate func(*crm.Invoice) error) (crm.Invoice, error) {
	return updateRecord(s, ctx, actor, id, updateOps[crm.Invoice]{
		entity: EntityInvoice, get: invoiceLoader.get,
		fix:   keepNumber(func(v *crm.Invoice) *string { return &v.Number }),
		check: func(q txq, old, cur *crm.Invoice) error { return checkInvoiceRefs(q, cur, old) },
		save:  func(t *Tx, old, cur *crm.Invoice) error { return t.updateInvoice(old, cur) },
	}, mutate)
}

func (t *Tx) updateInvoice(old, v *crm.Invoice) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE invoices SET status = $1, invoice_date = $2, due_date = $3, deal_id = $4,
		account_id = $5, contact_id = $6, currency = $7, subtotal = $8, discount = $9, tax = $10, total = $11,
		payment_url = $12, comments = $13, search = $14, assigned_by_id = $15, updated_by_id = $16, updated_at = $17,
		payment_method_id = $18 WHERE id = $19`,
		v.Status, v.InvoiceDate, v.DueDate, v.DealID, v.AccountID, v.ContactID, v.Currency,
		int64(v.Subtotal), int64(v.Discount), int64(v.Tax), int64(v.Total), v.PaymentURL, v.Comments,
		v.SearchText(), v.AssignedByID, v.UpdatedByID, micro(v.UpdatedAt), v.PaymentMethodID, v.ID)
	if err != nil {
		return fmt.Errorf("store: update invoice %d: %w", v.ID, err)
	}
	if !sameJSON(old.Items, v.Items) {
		if err := t.saveItems(EntityInvoice, v.ID, v.Items, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.Custom, v.Custom) {
		if err := t.saveCustom(EntityInvoice, v.ID, v.Custom, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.ExternalIDs, v.ExternalIDs) {
		return t.saveExternal(EntityInvoice, v.ID, v.ExternalIDs, false)
	}
	return nil
}
