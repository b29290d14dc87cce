package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
)

// This file serves imports that prepare their records outside the write
// lock (the 1C catalog exchange stages a whole catalog in small
// transactions) and then apply them in one short write: ids reserved
// ahead, look-ups on committed data, and set-based statements that copy
// prepared rows into products with their change events.

// reservable are the tables whose ids can be reserved ahead.
var reservable = map[string]bool{"products": true, "catalogs": true}

// ReserveIDs hands out n ids of table that no insert will take, for
// records written later with InsertProductsFrom or CreateCatalogWithID.
// On SQLite (AUTOINCREMENT) it moves the table's sqlite_sequence on, in a
// write of its own; on PostgreSQL it takes them from the identity's
// sequence. Ids reserved and never used leave gaps, as rolled-back
// inserts do.
func (s *Store) ReserveIDs(ctx context.Context, table string, n int) ([]int64, error) {
	if !reservable[table] || n <= 0 {
		return nil, fmt.Errorf("store: reserve %d ids of %q: not allowed", n, table)
	}
	out := make([]int64, 0, n)
	if s.db.Dialect == db.SQLite {
		err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq)
				SELECT $1, (SELECT COALESCE(MAX(id), 0) FROM `+table+`) WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = $1)`, table); err != nil {
				return err
			}
			var last int64
			if err := tx.QueryRowContext(ctx, "UPDATE sqlite_sequence SET seq = seq + $1 WHERE name = $2 RETURNING seq", n, table).Scan(&last); err != nil {
				return err
			}
			out = out[:0]
			for id := last - int64(n) + 1; id <= last; id++ {
				out = append(out, id)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("store: reserve ids of %s: %w", table, err)
		}
		return out, nil
	}
	rows, err := s.db.Read.QueryContext(ctx, "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)", table, n)
	if err != nil {
		return nil, fmt.Errorf("store: reserve ids of %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: reserve ids of %s: %w", table, err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// CreateCatalogWithID is CreateCatalog inside t with an id reserved by
// ReserveIDs.
func (t *Tx) CreateCatalogWithID(c crm.Catalog) (crm.Catalog, error) {
	if c.ID <= 0 {
		return c, errors.New("store: create catalog with id: no id")
	}
	id := c.ID
	return createInTx(t, EntityCatalog, c, checkCatalog, func(t *Tx, v *crm.Catalog) error { return t.insertCatalog(v, id) })
}

// Look-ups on committed data, outside any write: what Tx's look-ups of
// the same name do inside one. They run on the Bulk pool (see db.DB.Bulk):
// an import makes one per entity it reads.

// ProductIDByNameArticle is Tx.ProductIDByNameArticle on committed data.
func (s *Store) ProductIDByNameArticle(ctx context.Context, name, article string) (int64, error) {
	return oneIDq(ctx, s.db.Bulk, "product", productByNameArticle, strings.TrimSpace(name), strings.TrimSpace(article))
}

// ProductsByNameArticle is Tx.ProductsByNameArticle on committed data.
func (s *Store) ProductsByNameArticle(ctx context.Context, name, article, system string) ([]NamedProduct, error) {
	return namedProducts(ctx, s.db.Bulk, name, article, system)
}

// IDByExternal is Tx.IDByExternal on committed data.
func (s *Store) IDByExternal(ctx context.Context, entity, system, externalID string) (int64, error) {
	q, err := byExternalSQL(entity)
	if err != nil {
		return 0, err
	}
	return oneIDq(ctx, s.db.Bulk, entity+" by "+system+" id", q, entity, system, externalID)
}

// ProductStamp is a product's updated_at in stored form (0: no live
// product): an import that prepared a change of the product applies it
// only if the product is still as it was then.
func ProductStamp(p crm.Product) int64 {
	if p.DeletedAt != nil {
		return 0
	}
	return micro(p.UpdatedAt)
}

// StampNew fills the meta of a product prepared for InsertProductsFrom
// as creating it inside a write would.
func StampNew(m *crm.Meta, actor crm.Actor, now time.Time) { stampNew(m, actor, now) }

// StampUpdate fills the meta of a product prepared for UpdateProductsFrom.
func StampUpdate(m *crm.Meta, actor crm.Actor, now time.Time) {
	m.UpdatedByID = actor.UserID
	m.UpdatedAt = now.Truncate(time.Microsecond)
}

func oneIDq(ctx context.Context, q querier, what, query string, args ...any) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, query, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: find %s: %w", what, err)
	}
	return id, nil
}

// ProductBatch names prepared product rows: Table has the columns of
// products (id as record_id) and batch_id, op ('create' or 'update'),
// base_updated_at (updates: the product's updated_at when prepared),
// ext_id (an id of System to give the product, ” none), set_cats (the
// catalog memberships become those of Items), changes (the event's
// changes as JSON, ” for none) and ord (the order of events); the rows
// are those of Batch that pass Filter (a condition on Table's own
// columns, no arguments). Items has batch_id, record_id and catalog_id.
// Both are read only inside the write.
type ProductBatch struct {
	Table, Items string
	Batch        int64
	Filter       string
	System       string
}

func (b ProductBatch) where(op string) string {
	w := "batch_id = $1 AND (" + b.Filter + ")"
	if op != "" {
		w += " AND op = '" + op + "'"
	}
	return w
}

// MarkStaleProducts sets column mark (a boolean of b.Table) on the rows
// that may no longer apply as prepared because of a write since the time
// since (stored form): a create whose name and article a product created,
// renamed or restored since has, or whose external id such a product
// now holds; an update of a product changed or deleted since. The caller
// applies those rows one by one, with the rules of a fresh import. Only
// what changed since is read, not the whole batch. (A product purged from
// the recycle bin since is not seen: its update then changes nothing.)
func (t *Tx) MarkStaleProducts(b ProductBatch, mark string, since int64) (int64, error) {
	var total int64
	tb := b.Table
	for _, q := range []struct {
		cond string
		args []any
	}{
		// CROSS JOIN: SQLite then reads the products changed since
		// first (few) instead of probing products for every staged row.
		// (and then finds the few staged rows by record_id). Rows of any
		// kind with such a name are marked: going one by one is always
		// right, only slower.
		{`batch_id = $1 AND record_id IN (SELECT s.record_id FROM products p CROSS JOIN ` + tb + ` s
			WHERE s.batch_id = $1 AND s.name = p.name AND s.article = p.article AND p.deleted_at = 0 AND p.updated_at >= $2)`, []any{since}},
		{b.where("update") + ` AND record_id IN (SELECT id FROM products WHERE updated_at >= $2 OR deleted_at >= $2)`, []any{since}},
		{b.where("") + ` AND ext_id <> '' AND ext_id IN (SELECT x.external_id FROM external_ids x JOIN products p ON p.id = x.record_id
			WHERE x.entity = 'product' AND x.system = $2 AND p.updated_at >= $3)`, []any{b.System, since}},
	} {
		res, err := t.tx.ExecContext(t.ctx, "UPDATE "+tb+" SET "+mark+" = TRUE WHERE "+q.cond, append([]any{b.Batch}, q.args...)...)
		if err != nil {
			return 0, fmt.Errorf("store: check prepared products: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// ApplyProducts writes the prepared rows of b into products, their
// catalog memberships and external ids, and appends their change events
// (after the events t logged so far, which it flushes first), each step
// one statement whatever the number of rows. It returns the products
// created and updated.
func (t *Tx) ApplyProducts(b ProductBatch) (created, updated int64, err error) {
	if err := t.FlushEvents(); err != nil {
		return 0, 0, err
	}
	fail := func(what string, err error) (int64, int64, error) {
		return 0, 0, fmt.Errorf("store: apply prepared products: %s: %w", what, err)
	}
	exec := func(q string, args ...any) (int64, error) {
		res, err := t.tx.ExecContext(t.ctx, q, append([]any{b.Batch}, args...)...)
		if err != nil {
			return 0, err
		}
		n, _ := res.RowsAffected()
		return n, nil
	}
	cols := "name, article, unit, price, currency, vat_rate, vat_included, stock, description, active, search, assigned_by_id, updated_by_id, updated_at"
	created, err = exec(`INSERT INTO products (id, created_by_id, created_at, ` + cols + `)
		SELECT record_id, created_by_id, created_at, ` + cols + ` FROM ` + b.Table + ` WHERE ` + b.where("create"))
	if err != nil {
		return fail("insert", err)
	}
	var set []string
	for _, c := range strings.Split(cols, ", ") {
		set = append(set, c+" = s."+c)
	}
	updated, err = exec(`UPDATE products SET ` + strings.Join(set, ", ") + `
		FROM (SELECT * FROM ` + b.Table + ` WHERE ` + b.where("update") + `) s WHERE products.id = s.record_id`)
	if err != nil {
		return fail("update", err)
	}
	if _, err := exec(`DELETE FROM catalog_items WHERE item_type = 'product'
		AND item_id IN (SELECT record_id FROM ` + b.Table + ` WHERE ` + b.where("update") + ` AND set_cats)
		AND catalog_id IN (SELECT id FROM catalogs WHERE deleted_at = 0)`); err != nil {
		return fail("catalogs", err)
	}
	if _, err := exec(`INSERT INTO catalog_items (catalog_id, item_type, item_id)
		SELECT i.catalog_id, 'product', i.record_id FROM ` + b.Items + ` i WHERE i.batch_id = $1
		AND i.record_id IN (SELECT record_id FROM ` + b.Table + ` WHERE ` + b.where("") + ` AND (op = 'create' OR set_cats))`); err != nil {
		return fail("catalogs", err)
	}
	if _, err := exec(`DELETE FROM external_ids WHERE entity = 'product' AND system = $2
		AND record_id IN (SELECT record_id FROM `+b.Table+` WHERE `+b.where("update")+` AND ext_id <> '')`, b.System); err != nil {
		return fail("external ids", err)
	}
	if _, err := exec(`INSERT INTO external_ids (entity, record_id, system, external_id)
		SELECT 'product', record_id, $2, ext_id FROM `+b.Table+` WHERE `+b.where("")+` AND ext_id <> ''`, b.System); err != nil {
		return fail("external ids", err)
	}
	if _, err := events.AppendFrom(t.ctx, t.tx, t.store.db.Dialect == db.SQLite, t.actor.String(), t.actor.UserID, t.actor.Integration, t.now,
		`SELECT 'product' AS entity, record_id, op AS action, changes, record_id AS ord FROM `+b.Table+` WHERE `+b.where("")+` AND changes <> ''`, b.Batch); err != nil {
		return 0, 0, err
	}
	return created, updated, nil
}

// DeactivateProducts makes inactive, with an update event each, the live
// active products that carry an id of system and are not among keep, a
// query of record ids (with args); it returns how many.
func (t *Tx) DeactivateProducts(system, keep string, args ...any) (int64, error) {
	if err := t.FlushEvents(); err != nil {
		return 0, err
	}
	n := len(args)
	cond := fmt.Sprintf(`deleted_at = 0 AND active AND id IN (SELECT record_id FROM external_ids WHERE entity = 'product' AND system = $%d)
		AND id NOT IN (%s)`, n+1, keep)
	args = append(args, system)
	if _, err := events.AppendFrom(t.ctx, t.tx, t.store.db.Dialect == db.SQLite, t.actor.String(), t.actor.UserID, t.actor.Integration, t.now,
		`SELECT 'product' AS entity, id AS record_id, 'update' AS action, '{"active":{"old":true,"new":false}}' AS changes, id AS ord FROM products WHERE `+cond,
		args...); err != nil {
		return 0, err
	}
	res, err := t.tx.ExecContext(t.ctx, fmt.Sprintf("UPDATE products SET active = FALSE, updated_by_id = $%d, updated_at = $%d WHERE ", n+2, n+3)+cond,
		append(args, t.actor.UserID, micro(t.now))...)
	if err != nil {
		return 0, fmt.Errorf("store: deactivate products: %w", err)
	}
	k, _ := res.RowsAffected()
	return k, nil
}

// ServiceIDsWithExternal lists the live active services that carry an id
// of system, for an import that deactivates those it no longer sends.
func (t *Tx) ServiceIDsWithExternal(system string) ([]int64, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT s.id FROM services s JOIN external_ids x ON x.entity = 'service' AND x.record_id = s.id
		WHERE x.system = $1 AND s.deleted_at = 0 AND s.active ORDER BY s.id`, system)
	if err != nil {
		return nil, fmt.Errorf("store: services of %s: %w", system, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// EachProductKey calls fn with the name and article of every live
// product, reading committed data in one pass (an import builds a filter
// of what may match from it).
func (s *Store) EachProductKey(ctx context.Context, fn func(name, article string)) error {
	rows, err := s.db.Bulk.QueryContext(ctx, "SELECT name, article FROM products WHERE deleted_at = 0")
	if err != nil {
		return fmt.Errorf("store: product keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n, a string
		if err := rows.Scan(&n, &a); err != nil {
			return fmt.Errorf("store: product keys: %w", err)
		}
		fn(n, a)
	}
	return rows.Err()
}

// EachExternalID calls fn with every id of system that records of entity
// carry (in the recycle bin too), from committed data in one pass.
func (s *Store) EachExternalID(ctx context.Context, entity, system string, fn func(id string)) error {
	rows, err := s.db.Bulk.QueryContext(ctx, "SELECT external_id FROM external_ids WHERE entity = $1 AND system = $2", entity, system)
	if err != nil {
		return fmt.Errorf("store: external ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("store: external ids: %w", err)
		}
		fn(id)
	}
	return rows.Err()
}
