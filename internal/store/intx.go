package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
)

// The methods of this file create, update and find records inside one
// write (Store.Write) for imports that must land whole or not at all, such
// as a 1C catalog: each does what the Store method of the same name does,
// on the write's transaction.

// CreateProduct is Store.CreateProduct inside t.
func (t *Tx) CreateProduct(p crm.Product) (crm.Product, error) {
	return createInTx(t, EntityProduct, p, checkProduct, func(t *Tx, v *crm.Product) error { return t.insertProduct(v) })
}

// UpdateProduct is Store.UpdateProduct inside t.
func (t *Tx) UpdateProduct(id int64, mutate func(*crm.Product) error) (crm.Product, error) {
	return updateInTx(t, id, productOps, mutate)
}

// CreateService is Store.CreateService inside t.
func (t *Tx) CreateService(v crm.Service) (crm.Service, error) {
	return createInTx(t, EntityService, v, checkService, func(t *Tx, v *crm.Service) error { return t.insertService(v) })
}

// UpdateService is Store.UpdateService inside t.
func (t *Tx) UpdateService(id int64, mutate func(*crm.Service) error) (crm.Service, error) {
	return updateInTx(t, id, serviceOps, mutate)
}

// CreateCatalog is Store.CreateCatalog inside t.
func (t *Tx) CreateCatalog(c crm.Catalog) (crm.Catalog, error) {
	c.ID = 0
	return createInTx(t, EntityCatalog, c, checkCatalog, func(t *Tx, v *crm.Catalog) error { return t.insertCatalog(v, 0) })
}

// UpdateCatalog is Store.UpdateCatalog inside t.
func (t *Tx) UpdateCatalog(id int64, mutate func(*crm.Catalog) error) (crm.Catalog, error) {
	return updateInTx(t, id, catalogOps, mutate)
}

// CreateAccount is Store.CreateAccount inside t.
func (t *Tx) CreateAccount(a crm.Account) (crm.Account, error) {
	a.Requisites = []crm.Requisite{}
	return createInTx(t, EntityAccount, a, checkAccount, func(t *Tx, v *crm.Account) error { return t.insertAccount(v) })
}

// UpdateAccount is Store.UpdateAccount inside t.
func (t *Tx) UpdateAccount(id int64, mutate func(*crm.Account) error) (crm.Account, error) {
	return updateInTx(t, id, accountOps, mutate)
}

// UpdateSalesOrder is Store.UpdateSalesOrder inside t.
func (t *Tx) UpdateSalesOrder(id int64, mutate func(*crm.SalesOrder) error) (crm.SalesOrder, error) {
	return updateInTx(t, id, salesOrderOps, mutate)
}

// EnsureUnit is Store.EnsureUnit inside t.
func (t *Tx) EnsureUnit(name string) error {
	u := crm.Unit{Name: name}
	if err := u.Normalize(); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO units (name, title, okei) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
		u.Name, u.Title, u.OKEI); err != nil {
		return fmt.Errorf("store: ensure unit %q: %w", u.Name, err)
	}
	return nil
}

// EnsureUnitCoded is EnsureUnit for a unit that comes with its full name
// and ОКЕИ code (a 1C catalog): a unit of that name that has none yet
// takes them; one that has them keeps its own.
func (t *Tx) EnsureUnitCoded(u crm.Unit) error {
	if err := u.Normalize(); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO units (name, title, okei) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE
		SET title = CASE WHEN units.title = '' OR units.title = units.name THEN excluded.title ELSE units.title END,
		okei = CASE WHEN units.okei = '' THEN excluded.okei ELSE units.okei END`, u.Name, u.Title, u.OKEI); err != nil {
		return fmt.Errorf("store: ensure unit %q: %w", u.Name, err)
	}
	return nil
}

// oneID runs a query for one id; 0 when there is no row.
func (t *Tx) oneID(what, query string, args ...any) (int64, error) {
	return oneIDq(t.ctx, t.tx, what, query, args...)
}

// ProductIDByNameArticle is the live product with exactly this name and
// article (an empty article matches only products without one), 0 if none.
func (t *Tx) ProductIDByNameArticle(name, article string) (int64, error) {
	return t.oneID("product", productByNameArticle, strings.TrimSpace(name), strings.TrimSpace(article))
}

const productByNameArticle = "SELECT id FROM products WHERE name = $1 AND article = $2 AND deleted_at = 0 ORDER BY id LIMIT 1"

// NamedProduct is a live product found by its name and article, with
// the id of an external system it carries ("" none).
type NamedProduct struct {
	ID         int64
	ExternalID string
}

// productsByNameArticle lists the live products with a name and article
// and the id of system $3 each carries, oldest first (a few at most: an
// import that links goods by name and article needs to see all of them).
const productsByNameArticle = `SELECT p.id, COALESCE(x.external_id, '') FROM products p
	LEFT JOIN external_ids x ON x.entity = 'product' AND x.system = $3 AND x.record_id = p.id
	WHERE p.name = $1 AND p.article = $2 AND p.deleted_at = 0 ORDER BY p.id LIMIT 100`

func namedProducts(ctx context.Context, q querier, name, article, system string) ([]NamedProduct, error) {
	rows, err := q.QueryContext(ctx, productsByNameArticle, strings.TrimSpace(name), strings.TrimSpace(article), system)
	if err != nil {
		return nil, fmt.Errorf("store: products named %q (article %q): %w", name, article, err)
	}
	defer rows.Close()
	var out []NamedProduct
	for rows.Next() {
		var p NamedProduct
		if err := rows.Scan(&p.ID, &p.ExternalID); err != nil {
			return nil, fmt.Errorf("store: products named %q (article %q): %w", name, article, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ProductsByNameArticle lists the live products with exactly this name
// and article (an empty article matches only products without one), with
// the id of system each carries.
func (t *Tx) ProductsByNameArticle(name, article, system string) ([]NamedProduct, error) {
	return namedProducts(t.ctx, t.tx, name, article, system)
}

// ServiceIDByName is the live service with exactly this name, 0 if none.
func (t *Tx) ServiceIDByName(name string) (int64, error) {
	return t.oneID("service", "SELECT id FROM services WHERE name = $1 AND deleted_at = 0 ORDER BY id LIMIT 1", strings.TrimSpace(name))
}

// AccountIDByTitle is the live account with exactly this title, 0 if none
// (of those the write's caller may see, like every lookup of Tx; the
// system's lookups go through t.Unscoped()).
func (t *Tx) AccountIDByTitle(title string) (int64, error) {
	args := []any{strings.TrimSpace(title)}
	return t.oneID("account", "SELECT id FROM accounts r WHERE title = $1 AND deleted_at = 0"+t.scopeAnd(EntityAccount, "r", &args)+" ORDER BY id LIMIT 1", args...)
}

// SalesOrderIDByNumber is the live sales order with this number, 0 if none.
func (t *Tx) SalesOrderIDByNumber(number string) (int64, error) {
	args := []any{strings.TrimSpace(number)}
	return t.oneID("sales order", "SELECT id FROM sales_orders r WHERE number = $1 AND deleted_at = 0"+t.scopeAnd(EntitySalesOrder, "r", &args), args...)
}

// scopeAnd is " AND <condition>" limiting a query over entity's table
// (aliased alias) to the records the write's caller may see, binding its
// values after args; "" when the write is not limited.
func (t *Tx) scopeAnd(entity, alias string, args *[]any) string {
	c := ScopeCondition(t.ctx, entity, alias, func(v any) string {
		*args = append(*args, v)
		return "$" + strconv.Itoa(len(*args))
	})
	if c == "" {
		return ""
	}
	return " AND " + c
}

// IDByExternal is the live record of entity with this id in system, 0 if
// none (a record in the recycle bin does not match).
func (t *Tx) IDByExternal(entity, system, externalID string) (int64, error) {
	q, err := byExternalSQL(entity)
	if err != nil {
		return 0, err
	}
	args := []any{entity, system, externalID}
	return t.oneID(entity+" by "+system+" id", q+t.scopeAnd(entity, "r", &args), args...)
}

func byExternalSQL(entity string) (string, error) {
	table := map[string]string{EntityProduct: "products", EntityService: "services", EntityCatalog: "catalogs",
		EntityAccount: "accounts", EntitySalesOrder: "sales_orders", EntityContact: "contacts", EntityLead: "leads"}[entity]
	if table == "" {
		return "", fmt.Errorf("store: external ids of %q are not looked up", entity)
	}
	return `SELECT x.record_id FROM external_ids x JOIN ` + table + ` r ON r.id = x.record_id
		WHERE x.entity = $1 AND x.system = $2 AND x.external_id = $3 AND r.deleted_at = 0`, nil
}

// FlushEvents appends the events logged so far, so that a write of many
// records does not hold them all in memory. The write's ordering
// guarantee holds: on SQLite the writer holds the database until commit,
// and on PostgreSQL ids are given at commit.
func (t *Tx) FlushEvents() error {
	t = t.root()
	if len(t.events) == 0 {
		return nil
	}
	err := events.Append(t.ctx, t.tx, t.store.db.Dialect == db.SQLite, t.events)
	t.flushed += len(t.events)
	t.events = t.events[:0]
	return err
}

// CurrencyActive reports whether a currency is known and active.
func (t *Tx) CurrencyActive(code string) (bool, error) {
	var active bool
	err := t.tx.QueryRowContext(t.ctx, "SELECT active FROM currencies WHERE code = $1", code).Scan(&active)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: currency %s: %w", code, err)
	}
	return active, nil
}

// Exec runs a statement of the caller's own tables in the write.
func (t *Tx) Exec(query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, query, args...)
}

// Query runs a query of the caller's own tables in the write.
func (t *Tx) Query(query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(t.ctx, query, args...)
}

// QueryRow runs a one-row query in the write.
func (t *Tx) QueryRow(query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(t.ctx, query, args...)
}

// SalesOrdersByIDs returns the sales orders with these ids, in that order
// (ids that do not exist are left out), for exports that page by id.
func (s *Store) SalesOrdersByIDs(ctx context.Context, ids []int64) ([]crm.SalesOrder, error) {
	return salesOrderLoader.load(s.rq(ctx), ids)
}

// ProductsByIDs returns the products with these ids, in that order.
func (s *Store) ProductsByIDs(ctx context.Context, ids []int64) ([]crm.Product, error) {
	return productLoader.load(s.rq(ctx), ids)
}

// ServicesByIDs returns the services with these ids, in that order.
func (s *Store) ServicesByIDs(ctx context.Context, ids []int64) ([]crm.Service, error) {
	return serviceLoader.load(s.rq(ctx), ids)
}

// AccountsByIDs returns the accounts with these ids, in that order.
func (s *Store) AccountsByIDs(ctx context.Context, ids []int64) ([]crm.Account, error) {
	return accountLoader.load(s.rq(ctx), ids)
}

// UpdateLead is Store.UpdateLead inside t.
func (t *Tx) UpdateLead(id int64, mutate func(*crm.Lead) error) (crm.Lead, error) {
	return updateInTx(t, id, updateOps[crm.Lead]{
		entity: EntityLead, get: leadLoader.get,
		check: func(q txq, _, cur *crm.Lead) error { return checkLead(q, cur) },
		save:  func(t *Tx, old, cur *crm.Lead) error { return t.updateLead(old, cur) },
	}, mutate)
}

// UpdateContact is Store.UpdateContact inside t.
func (t *Tx) UpdateContact(id int64, mutate func(*crm.Contact) error) (crm.Contact, error) {
	return updateInTx(t, id, contactUpdate, mutate)
}
