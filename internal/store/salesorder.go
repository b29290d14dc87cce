package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

var salesOrderSpec = spec{
	entity: EntitySalesOrder, table: "sales_orders",
	columns: map[string]Column{
		"number": {"number", KindText}, "status": {"status", KindText}, "order_date": {"order_date", KindDate},
		"account_id": {"account_id", KindInt}, "contact_id": {"contact_id", KindInt}, "deal_id": {"deal_id", KindInt},
		"currency": {"currency", KindText}, "subtotal": {"subtotal", KindAmount}, "total": {"total", KindAmount},
		"from_site":      {"from_site", KindText},
		"assigned_by_id": {"assigned_by_id", KindInt}, "created_by_id": {"created_by_id", KindInt},
		"created_at": {"created_at", KindTime}, "updated_at": {"updated_at", KindTime}, "deleted_at": {"deleted_at", KindTime},
	},
}

const salesOrderColumns = `id, number, status, order_date, account_id, contact_id, deal_id, currency,
	subtotal, discount, tax, total, from_site, comments, assigned_by_id, created_by_id, updated_by_id,
	created_at, updated_at, deleted_at, deleted_by_id`

var salesOrderLoader = loader[crm.SalesOrder]{
	entity: EntitySalesOrder, name: "sales order", table: "sales_orders", columns: salesOrderColumns,
	meta:  func(o *crm.SalesOrder) *crm.Meta { return &o.Meta },
	extra: func(o *crm.SalesOrder) *crm.Extra { return &o.Extra },
	scan: func(rows rowScanner, o *crm.SalesOrder) error {
		var mt metaTimes
		if err := rows.Scan(&o.ID, &o.Number, &o.Status, &o.OrderDate, &o.AccountID, &o.ContactID, &o.DealID, &o.Currency,
			(*int64)(&o.Subtotal), (*int64)(&o.Discount), (*int64)(&o.Tax), (*int64)(&o.Total), &o.FromSite, &o.Comments,
			&o.AssignedByID, &o.CreatedByID, &o.UpdatedByID, &mt.created, &mt.updated, &mt.deleted, &o.DeletedByID); err != nil {
			return err
		}
		mt.set(&o.Meta)
		return nil
	},
	parts: []func(txq, []int64) (func(int64, *crm.SalesOrder), error){
		itemsPart(EntitySalesOrder, func(v *crm.SalesOrder) *[]crm.LineItem { return &v.Items }),
	},
}

// GetSalesOrder returns a sales order, live or in the recycle bin.
func (s *Store) GetSalesOrder(ctx context.Context, id int64) (crm.SalesOrder, error) {
	v, err := salesOrderLoader.get(s.rq(ctx), id)
	return scoped1(ctx, EntitySalesOrder, v, err)
}

// SalesOrderByNumber returns the sales order with the given number, live
// or in the recycle bin (numbers are never reused).
func (s *Store) SalesOrderByNumber(ctx context.Context, number string) (crm.SalesOrder, error) {
	id, err := idByNumber(ctx, s, salesOrderLoader, number)
	if err != nil {
		return crm.SalesOrder{}, err
	}
	return s.GetSalesOrder(ctx, id)
}

// ListSalesOrders returns a page of sales orders.
func (s *Store) ListSalesOrders(ctx context.Context, p ListParams) ([]crm.SalesOrder, string, error) {
	return salesOrderLoader.list(s, s.rq(ctx), salesOrderSpec, p)
}

// checkSalesOrder validates what a new sales order refers to.
func checkSalesOrder(t txq, o *crm.SalesOrder) error {
	return checkSalesOrderRefs(t, o, nil)
}

// checkSalesOrderRefs validates what o refers to. On an update (old set)
// links that did not change are not checked again: an order whose account
// went to the recycle bin can still change status, and keeps the link so
// that restoring the account brings it back.
func checkSalesOrderRefs(t txq, o, old *crm.SalesOrder) error {
	r := refs{t: t}
	r.user("assigned_by_id", o.AssignedByID)
	r.status("status", "ORDER_STATUS", o.Status)
	r.currency("currency", o.Currency)
	if old == nil || o.AccountID != old.AccountID {
		r.record("account_id", EntityAccount, o.AccountID)
	}
	if old == nil || o.ContactID != old.ContactID {
		r.record("contact_id", EntityContact, o.ContactID)
	}
	if old == nil || o.DealID != old.DealID {
		r.record("deal_id", EntityDeal, o.DealID)
	}
	r.items("items", o.Items)
	r.custom(EntitySalesOrder, &o.Custom)
	return r.err
}

// CreateSalesOrder validates and stores a new sales order with its create
// event. The number is the system's: whatever the caller sent is replaced
// by the next one from the configured prefix and counter. An empty
// order_date is today (UTC).
func (s *Store) CreateSalesOrder(ctx context.Context, actor crm.Actor, o crm.SalesOrder) (crm.SalesOrder, error) {
	o.Number = "" // given by the system
	if strings.TrimSpace(o.OrderDate) == "" {
		o.OrderDate = s.now().UTC().Format(time.DateOnly)
	}
	return createRecord(s, ctx, actor, EntitySalesOrder, o, checkSalesOrder, func(t *Tx, v *crm.SalesOrder) error { return t.insertSalesOrder(v) })
}

// insertSalesOrder inserts the row and its children. An empty Number is
// taken from the counter here, inside the transaction.
func (t *Tx) insertSalesOrder(o *crm.SalesOrder) error {
	if o.Number == "" {
		n, err := t.nextDocNumber("sales_order", "sales_order.prefix", "SO-", "sales_orders")
		if err != nil {
			return err
		}
		o.Number = n
	}
	err := t.tx.QueryRowContext(t.ctx, `INSERT INTO sales_orders (number, status, order_date, account_id, contact_id, deal_id, currency,
		subtotal, discount, tax, total, from_site, comments, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
		RETURNING id`,
		o.Number, o.Status, o.OrderDate, o.AccountID, o.ContactID, o.DealID, o.Currency,
		int64(o.Subtotal), int64(o.Discount), int64(o.Tax), int64(o.Total), o.FromSite, o.Comments, o.SearchText(),
		o.AssignedByID, o.CreatedByID, o.UpdatedByID, micro(o.CreatedAt), micro(o.UpdatedAt)).Scan(&o.ID)
	if err != nil {
		return fmt.Errorf("store: insert sales order %s: %w", o.Number, err)
	}
	if err := t.saveItems(EntitySalesOrder, o.ID, o.Items, true); err != nil {
		return err
	}
	if err := t.saveCustom(EntitySalesOrder, o.ID, o.Custom, true); err != nil {
		return err
	}
	return t.saveExternal(EntitySalesOrder, o.ID, o.ExternalIDs, true)
}

// UpdateSalesOrder loads a live sales order, lets mutate change it,
// validates and stores the result with an update event naming the changed
// fields. The number cannot be changed.
func (s *Store) UpdateSalesOrder(ctx context.Context, actor crm.Actor, id int64, mutate func(*crm.SalesOrder) error) (crm.SalesOrder, error) {
	return updateRecord(s, ctx, actor, id, salesOrderOps, mutate)
}

var salesOrderOps = updateOps[crm.SalesOrder]{
	entity: EntitySalesOrder, get: salesOrderLoader.get,
	fix:   keepNumber(func(v *crm.SalesOrder) *string { return &v.Number }),
	check: func(q txq, old, cur *crm.SalesOrder) error { return checkSalesOrderRefs(q, cur, old) },
	save:  func(t *Tx, old, cur *crm.SalesOrder) error { return t.updateSalesOrder(old, cur) },
}

func (t *Tx) updateSalesOrder(old, o *crm.SalesOrder) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE sales_orders SET status = $1, order_date = $2, account_id = $3, contact_id = $4,
		deal_id = $5, currency = $6, subtotal = $7, discount = $8, tax = $9, total = $10, from_site = $11, comments = $12,
		search = $13, assigned_by_id = $14, updated_by_id = $15, updated_at = $16 WHERE id = $17`,
		o.Status, o.OrderDate, o.AccountID, o.ContactID, o.DealID, o.Currency,
		int64(o.Subtotal), int64(o.Discount), int64(o.Tax), int64(o.Total), o.FromSite, o.Comments,
		o.SearchText(), o.AssignedByID, o.UpdatedByID, micro(o.UpdatedAt), o.ID)
	if err != nil {
		return fmt.Errorf("store: update sales order %d: %w", o.ID, err)
	}
	if !sameJSON(old.Items, o.Items) {
		if err := t.saveItems(EntitySalesOrder, o.ID, o.Items, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.Custom, o.Custom) {
		if err := t.saveCustom(EntitySalesOrder, o.ID, o.Custom, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.ExternalIDs, o.ExternalIDs) {
		return t.saveExternal(EntitySalesOrder, o.ID, o.ExternalIDs, false)
	}
	return nil
}

// nextDocNumber takes the next number of a document counter: the prefix
// from settings (defPrefix when unset) and the counter zero-padded to six
// digits. The UPDATE locks the counter row until commit, so concurrent
// creates get distinct, contiguous numbers, and a rolled-back create
// gives its number back. Numbers already in table (a prefix changed back,
// a counter reset by hand) are skipped rather than failing the create.
func (t *Tx) nextDocNumber(counter, prefixKey, defPrefix, table string) (string, error) {
	prefix := defPrefix
	err := t.tx.QueryRowContext(t.ctx, "SELECT value FROM settings WHERE key = $1", prefixKey).Scan(&prefix)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: %s number prefix: %w", counter, err)
	}
	for range 1000 {
		var n int64
		err := t.tx.QueryRowContext(t.ctx, "UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value", counter).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			// The migration seeds the row; recreate it if someone removed it.
			n = 1
			_, err = t.tx.ExecContext(t.ctx, "INSERT INTO counters (name, value) VALUES ($1, $2)", counter, n)
		}
		if err != nil {
			return "", fmt.Errorf("store: %s number: %w", counter, err)
		}
		number := fmt.Sprintf("%s%06d", prefix, n)
		var one int
		err = t.tx.QueryRowContext(t.ctx, "SELECT 1 FROM "+table+" WHERE number = $1", number).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return number, nil
		}
		if err != nil {
			return "", fmt.Errorf("store: %s number: %w", counter, err)
		}
	}
	return "", fmt.Errorf("store: %s number: no free number after 1000 tries", counter)
}
