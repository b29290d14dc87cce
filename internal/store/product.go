package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/crm"
)

var productSpec = spec{
	entity: EntityProduct, table: "products",
	columns: map[string]Column{
		"name": {"name", KindText}, "article": {"article", KindText}, "unit": {"unit", KindText},
		"price": {"price", KindAmount}, "currency": {"currency", KindText}, "stock": {"stock", KindQty},
		"active":         {"active", KindBool},
		"assigned_by_id": {"assigned_by_id", KindInt}, "created_by_id": {"created_by_id", KindInt},
		"created_at": {"created_at", KindTime}, "updated_at": {"updated_at", KindTime}, "deleted_at": {"deleted_at", KindTime},
	},
}

const productColumns = `id, name, article, unit, price, currency, vat_rate, vat_included, stock, description, active,
	assigned_by_id, created_by_id, updated_by_id, created_at, updated_at, deleted_at, deleted_by_id`

var productLoader = loader[crm.Product]{
	entity: EntityProduct, name: "product", table: "products", columns: productColumns,
	meta:  func(p *crm.Product) *crm.Meta { return &p.Meta },
	extra: func(p *crm.Product) *crm.Extra { return &p.Extra },
	scan: func(rows rowScanner, p *crm.Product) error {
		var vat *int64
		var mt metaTimes
		if err := rows.Scan(&p.ID, &p.Name, &p.Article, &p.Unit, (*int64)(&p.Price), &p.Currency, &vat, &p.VATIncluded,
			(*int64)(&p.Stock), &p.Description, &p.Active,
			&p.AssignedByID, &p.CreatedByID, &p.UpdatedByID, &mt.created, &mt.updated, &mt.deleted, &p.DeletedByID); err != nil {
			return err
		}
		if vat != nil {
			a := crm.Amount(*vat)
			p.VATRate = &a
		}
		mt.set(&p.Meta)
		return nil
	},
	parts: []func(txq, []int64) (func(int64, *crm.Product), error){
		catalogsPart(EntityProduct, func(v *crm.Product) *[]int64 { return &v.CatalogIDs }),
	},
}

// GetProduct returns a product, live or in the recycle bin.
func (s *Store) GetProduct(ctx context.Context, id int64) (crm.Product, error) {
	return productLoader.get(s.rq(ctx), id)
}

// ListProducts returns a page of products.
func (s *Store) ListProducts(ctx context.Context, p ListParams) ([]crm.Product, string, error) {
	return productLoader.list(s, s.rq(ctx), productSpec, p)
}

// FindProduct returns the live product with exactly this name and article
// (the oldest, if several). An empty article is a value like any other: it
// matches only products without one.
func (s *Store) FindProduct(ctx context.Context, name, article string) (crm.Product, error) {
	name, article = strings.TrimSpace(name), strings.TrimSpace(article)
	var id int64
	err := s.db.Read.QueryRowContext(ctx, "SELECT id FROM products WHERE name = $1 AND article = $2 AND deleted_at = 0 ORDER BY id LIMIT 1",
		name, article).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return crm.Product{}, NotFound("product", fmt.Sprintf("%q with article %q", name, article))
	}
	if err != nil {
		return crm.Product{}, fmt.Errorf("store: find product %q: %w", name, err)
	}
	return s.GetProduct(ctx, id)
}

// checkProduct validates what a product refers to.
func checkProduct(t txq, p *crm.Product) error {
	r := refs{t: t}
	r.user("assigned_by_id", p.AssignedByID)
	r.currency("currency", p.Currency)
	r.catalogs("catalog_ids", p.CatalogIDs)
	r.custom(EntityProduct, &p.Custom)
	return r.err
}

// CreateProduct validates and stores a new product with its create event.
func (s *Store) CreateProduct(ctx context.Context, actor crm.Actor, p crm.Product) (crm.Product, error) {
	return createRecord(s, ctx, actor, EntityProduct, p, checkProduct, func(t *Tx, v *crm.Product) error { return t.insertProduct(v) })
}

// productVATArg is the nullable vat_rate of a product or service as a
// statement argument.
func productVATArg(a *crm.Amount) any {
	if a == nil {
		return nil
	}
	return int64(*a)
}

func (t *Tx) insertProduct(p *crm.Product) error {
	err := t.tx.QueryRowContext(t.ctx, `INSERT INTO products (name, article, unit, price, currency, vat_rate, vat_included, stock,
		description, active, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
		p.Name, p.Article, p.Unit, int64(p.Price), p.Currency, productVATArg(p.VATRate), p.VATIncluded, int64(p.Stock),
		p.Description, p.Active, p.SearchText(), p.AssignedByID, p.CreatedByID, p.UpdatedByID, micro(p.CreatedAt), micro(p.UpdatedAt)).Scan(&p.ID)
	if err != nil {
		return fmt.Errorf("store: insert product: %w", err)
	}
	if err := t.saveMemberships(EntityProduct, p.ID, p.CatalogIDs, true); err != nil {
		return err
	}
	if err := t.saveCustom(EntityProduct, p.ID, p.Custom, true); err != nil {
		return err
	}
	return t.saveExternal(EntityProduct, p.ID, p.ExternalIDs, true)
}

// UpdateProduct loads a live product, lets mutate change it, validates and
// stores the result with an update event naming the changed fields.
func (s *Store) UpdateProduct(ctx context.Context, actor crm.Actor, id int64, mutate func(*crm.Product) error) (crm.Product, error) {
	return updateRecord(s, ctx, actor, id, productOps, mutate)
}

var productOps = updateOps[crm.Product]{
	entity: EntityProduct, get: productLoader.get,
	check: func(q txq, _, cur *crm.Product) error { return checkProduct(q, cur) },
	save:  func(t *Tx, old, cur *crm.Product) error { return t.updateProduct(old, cur) },
}

func (t *Tx) updateProduct(old, p *crm.Product) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE products SET name = $1, article = $2, unit = $3, price = $4, currency = $5,
		vat_rate = $6, vat_included = $7, stock = $8, description = $9, active = $10, search = $11, assigned_by_id = $12,
		updated_by_id = $13, updated_at = $14 WHERE id = $15`,
		p.Name, p.Article, p.Unit, int64(p.Price), p.Currency, productVATArg(p.VATRate), p.VATIncluded, int64(p.Stock),
		p.Description, p.Active, p.SearchText(), p.AssignedByID, p.UpdatedByID, micro(p.UpdatedAt), p.ID)
	if err != nil {
		return fmt.Errorf("store: update product %d: %w", p.ID, err)
	}
	if !sameJSON(old.CatalogIDs, p.CatalogIDs) {
		if err := t.saveMemberships(EntityProduct, p.ID, p.CatalogIDs, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.Custom, p.Custom) {
		if err := t.saveCustom(EntityProduct, p.ID, p.Custom, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.ExternalIDs, p.ExternalIDs) {
		return t.saveExternal(EntityProduct, p.ID, p.ExternalIDs, false)
	}
	return nil
}
