package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
)

var catalogSpec = spec{
	entity: EntityCatalog, table: "catalogs",
	columns: map[string]Column{
		"name": {"name", KindText}, "parent_id": {"parent_id", KindInt},
		"assigned_by_id": {"assigned_by_id", KindInt}, "created_by_id": {"created_by_id", KindInt},
		"created_at": {"created_at", KindTime}, "updated_at": {"updated_at", KindTime}, "deleted_at": {"deleted_at", KindTime},
	},
}

const catalogColumns = `id, name, parent_id, description, assigned_by_id, created_by_id, updated_by_id,
	created_at, updated_at, deleted_at, deleted_by_id`

var catalogLoader = loader[crm.Catalog]{
	entity: EntityCatalog, name: "catalog", table: "catalogs", columns: catalogColumns,
	meta:  func(c *crm.Catalog) *crm.Meta { return &c.Meta },
	extra: func(c *crm.Catalog) *crm.Extra { return &c.Extra },
	scan: func(rows rowScanner, c *crm.Catalog) error {
		var mt metaTimes
		if err := rows.Scan(&c.ID, &c.Name, &c.ParentID, &c.Description, &c.AssignedByID, &c.CreatedByID, &c.UpdatedByID,
			&mt.created, &mt.updated, &mt.deleted, &c.DeletedByID); err != nil {
			return err
		}
		mt.set(&c.Meta)
		return nil
	},
}

// GetCatalog returns a catalog, live or in the recycle bin.
func (s *Store) GetCatalog(ctx context.Context, id int64) (crm.Catalog, error) {
	return catalogLoader.get(s.rq(ctx), id)
}

// ListCatalogs returns a page of catalogs.
func (s *Store) ListCatalogs(ctx context.Context, p ListParams) ([]crm.Catalog, string, error) {
	return catalogLoader.list(s, s.rq(ctx), catalogSpec, p)
}

// checkCatalog validates what a catalog refers to.
func checkCatalog(t txq, c *crm.Catalog) error {
	return checkCatalogChange(t, nil, c)
}

// checkCatalogChange is checkCatalog for an update from old: a parent that
// has not changed is not checked again, so a catalog whose parent went to
// the recycle bin can still be edited.
func checkCatalogChange(t txq, old, c *crm.Catalog) error {
	r := refs{t: t}
	r.user("assigned_by_id", c.AssignedByID)
	if old == nil || old.ParentID != c.ParentID {
		r.record("parent_id", EntityCatalog, c.ParentID)
		if r.err == nil && c.ID != 0 && c.ParentID != 0 {
			r.err = catalogCycle(t, c.ID, c.ParentID)
		}
	}
	r.custom(EntityCatalog, &c.Custom)
	return r.err
}

// catalogCycle refuses parent as the parent of id when id is parent or one
// of its ancestors. Deleted catalogs count: restoring one must not close a
// loop.
func catalogCycle(t txq, id, parent int64) error {
	seen := map[int64]bool{}
	for cur := parent; cur != 0; {
		if cur == id {
			return crm.Invalid("parent_id", "catalog %d is inside catalog %d: a catalog cannot be its own ancestor", parent, id)
		}
		if seen[cur] {
			return nil // an older loop that does not pass through id
		}
		seen[cur] = true
		if err := t.q.QueryRowContext(t.ctx, "SELECT parent_id FROM catalogs WHERE id = $1", cur).Scan(&cur); err != nil {
			return fmt.Errorf("store: catalog %d ancestors: %w", id, err)
		}
	}
	return nil
}

// CreateCatalog validates and stores a new catalog with its create event.
func (s *Store) CreateCatalog(ctx context.Context, actor crm.Actor, c crm.Catalog) (crm.Catalog, error) {
	c.ID = 0
	return createRecord(s, ctx, actor, EntityCatalog, c, checkCatalog, func(t *Tx, v *crm.Catalog) error { return t.insertCatalog(v, 0) })
}

// insertCatalog inserts c with the id given (reserved by ReserveIDs), or
// a new one when id is 0, and sets c.ID.
func (t *Tx) insertCatalog(c *crm.Catalog, id int64) error {
	args := []any{c.Name, c.ParentID, c.Description, c.SearchText(), c.AssignedByID, c.CreatedByID, c.UpdatedByID, micro(c.CreatedAt), micro(c.UpdatedAt)}
	idCol, idVal := "", ""
	if id > 0 {
		idCol, idVal = "id, ", "$10, "
		args = append(args, id)
	}
	err := t.tx.QueryRowContext(t.ctx, `INSERT INTO catalogs (`+idCol+`name, parent_id, description, search,
		assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
		VALUES (`+idVal+`$1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, args...).Scan(&c.ID)
	if err != nil {
		return fmt.Errorf("store: insert catalog: %w", err)
	}
	if err := t.saveCustom(EntityCatalog, c.ID, c.Custom, true); err != nil {
		return err
	}
	return t.saveExternal(EntityCatalog, c.ID, c.ExternalIDs, true)
}

// UpdateCatalog loads a live catalog, lets mutate change it, validates and
// stores the result with an update event naming the changed fields.
func (s *Store) UpdateCatalog(ctx context.Context, actor crm.Actor, id int64, mutate func(*crm.Catalog) error) (crm.Catalog, error) {
	return updateRecord(s, ctx, actor, id, catalogOps, mutate)
}

var catalogOps = updateOps[crm.Catalog]{
	entity: EntityCatalog, get: catalogLoader.get,
	check: checkCatalogChange,
	save:  func(t *Tx, old, cur *crm.Catalog) error { return t.updateCatalog(old, cur) },
}

func (t *Tx) updateCatalog(old, c *crm.Catalog) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE catalogs SET name = $1, parent_id = $2, description = $3, search = $4,
		assigned_by_id = $5, updated_by_id = $6, updated_at = $7 WHERE id = $8`,
		c.Name, c.ParentID, c.Description, c.SearchText(), c.AssignedByID, c.UpdatedByID, micro(c.UpdatedAt), c.ID)
	if err != nil {
		return fmt.Errorf("store: update catalog %d: %w", c.ID, err)
	}
	if !sameJSON(old.Custom, c.Custom) {
		if err := t.saveCustom(EntityCatalog, c.ID, c.Custom, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.ExternalIDs, c.ExternalIDs) {
		return t.saveExternal(EntityCatalog, c.ID, c.ExternalIDs, false)
	}
	return nil
}

// Catalog membership. A catalog_items row stays when either side goes to
// the recycle bin; reads show only rows whose both sides are live, so a
// restore brings the membership back.

// catalogItemTypes maps catalog_items.item_type to the item's table.
var catalogItemTypes = map[string]string{EntityProduct: "products", EntityService: "services"}

// loadMemberships returns the live catalogs each item belongs to, by id.
func loadMemberships(t txq, itemType string, ids []int64) (map[int64][]int64, error) {
	out := make(map[int64][]int64, len(ids))
	for _, id := range ids {
		out[id] = []int64{}
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.q.QueryContext(t.ctx, `SELECT ci.item_id, ci.catalog_id FROM catalog_items ci JOIN catalogs c ON c.id = ci.catalog_id
		WHERE ci.item_type = $1 AND c.deleted_at = 0 AND ci.item_id IN (`+placeholders(2, len(ids))+`) ORDER BY ci.item_id, ci.catalog_id`,
		append([]any{itemType}, int64Args(ids)...)...)
	if err != nil {
		return nil, fmt.Errorf("store: load %s catalogs: %w", itemType, err)
	}
	defer rows.Close()
	for rows.Next() {
		var item, cat int64
		if err := rows.Scan(&item, &cat); err != nil {
			return nil, fmt.Errorf("store: load %s catalogs: %w", itemType, err)
		}
		out[item] = append(out[item], cat)
	}
	return out, rows.Err()
}

// catalogs checks that every id names a live catalog.
func (r *refs) catalogs(field string, ids []int64) {
	for i, id := range ids {
		r.check(r.exists(field, "SELECT 1 FROM catalogs WHERE id = $1 AND deleted_at = 0", id), fmt.Sprintf("%s[%d]", field, i), "no catalog with id %d", id)
	}
}

// saveMemberships makes the live catalogs of an item equal to catalogIDs
// (which must have passed refs.catalogs). Rows of deleted catalogs stay.
func (t *Tx) saveMemberships(itemType string, id int64, catalogIDs []int64, creating bool) error {
	if !creating {
		if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM catalog_items WHERE item_type = $1 AND item_id = $2
			AND catalog_id IN (SELECT id FROM catalogs WHERE deleted_at = 0)`, itemType, id); err != nil {
			return fmt.Errorf("store: %s %d: catalogs: %w", itemType, id, err)
		}
	}
	for _, cat := range catalogIDs {
		if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO catalog_items (catalog_id, item_type, item_id) VALUES ($1, $2, $3)", cat, itemType, id); err != nil {
			return fmt.Errorf("store: %s %d: add to catalog %d: %w", itemType, id, cat, err)
		}
	}
	return nil
}

// catalogItems lists the live items of one type in a catalog, by id.
func catalogItems(t txq, catalogID int64, itemType string) ([]int64, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT ci.item_id FROM catalog_items ci JOIN `+catalogItemTypes[itemType]+` x ON x.id = ci.item_id
		WHERE ci.catalog_id = $1 AND ci.item_type = $2 AND x.deleted_at = 0 ORDER BY ci.item_id`, catalogID, itemType)
	if err != nil {
		return nil, fmt.Errorf("store: catalog %d %ss: %w", catalogID, itemType, err)
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: catalog %d %ss: %w", catalogID, itemType, err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// CatalogItems returns the live products and services of a catalog (live
// or in the recycle bin), each by id.
func (s *Store) CatalogItems(ctx context.Context, catalogID int64) (productIDs, serviceIDs []int64, err error) {
	t := s.rq(ctx)
	if _, err := catalogLoader.get(t, catalogID); err != nil {
		return nil, nil, err
	}
	if productIDs, err = catalogItems(t, catalogID, EntityProduct); err != nil {
		return nil, nil, err
	}
	if serviceIDs, err = catalogItems(t, catalogID, EntityService); err != nil {
		return nil, nil, err
	}
	return productIDs, serviceIDs, nil
}

// catalogItemsChange is the "items" field of a catalog's update event.
type catalogItemsChange struct {
	ProductIDs []int64 `json:"product_ids"`
	ServiceIDs []int64 `json:"service_ids"`
}

// SetCatalogItems makes the live products and services of a live catalog
// exactly the ones given, with an update event on the catalog whose
// change "items" holds the lists before and after. Memberships of items in
// the recycle bin stay, to come back with them.
func (s *Store) SetCatalogItems(ctx context.Context, actor crm.Actor, catalogID int64, productIDs, serviceIDs []int64) error {
	products, err := crm.SortedUniqueIDs("product_ids", productIDs)
	if err != nil {
		return err
	}
	services, err := crm.SortedUniqueIDs("service_ids", serviceIDs)
	if err != nil {
		return err
	}
	return s.Write(ctx, actor, func(t *Tx) error {
		c, err := catalogLoader.get(t.rq(), catalogID)
		if err != nil {
			return err
		}
		if c.DeletedAt != nil {
			return NotFound("catalog", catalogID)
		}
		r := refs{t: t.rq()}
		for i, id := range productIDs {
			r.check(r.exists("product_ids", "SELECT 1 FROM products WHERE id = $1 AND deleted_at = 0", id), fmt.Sprintf("product_ids[%d]", i), "no product with id %d", id)
		}
		for i, id := range serviceIDs {
			r.check(r.exists("service_ids", "SELECT 1 FROM services WHERE id = $1 AND deleted_at = 0", id), fmt.Sprintf("service_ids[%d]", i), "no service with id %d", id)
		}
		if r.err != nil {
			return r.err
		}
		var old catalogItemsChange
		if old.ProductIDs, err = catalogItems(t.rq(), catalogID, EntityProduct); err != nil {
			return err
		}
		if old.ServiceIDs, err = catalogItems(t.rq(), catalogID, EntityService); err != nil {
			return err
		}
		cur := catalogItemsChange{ProductIDs: products, ServiceIDs: services}
		if slices.Equal(old.ProductIDs, cur.ProductIDs) && slices.Equal(old.ServiceIDs, cur.ServiceIDs) {
			return nil
		}
		for _, set := range []struct {
			itemType string
			ids      []int64
		}{{EntityProduct, products}, {EntityService, services}} {
			itemType, ids := set.itemType, set.ids
			if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM catalog_items WHERE catalog_id = $1 AND item_type = $2
				AND item_id IN (SELECT id FROM `+catalogItemTypes[itemType]+` WHERE deleted_at = 0)`, catalogID, itemType); err != nil {
				return fmt.Errorf("store: catalog %d: clear %ss: %w", catalogID, itemType, err)
			}
			for _, id := range ids {
				if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO catalog_items (catalog_id, item_type, item_id) VALUES ($1, $2, $3)", catalogID, itemType, id); err != nil {
					return fmt.Errorf("store: catalog %d: add %s %d: %w", catalogID, itemType, id, err)
				}
			}
		}
		if _, err := t.tx.ExecContext(t.ctx, "UPDATE catalogs SET updated_by_id = $1, updated_at = $2 WHERE id = $3", t.actor.UserID, micro(t.now), catalogID); err != nil {
			return fmt.Errorf("store: catalog %d: %w", catalogID, err)
		}
		t.Emit(EntityCatalog, catalogID, events.Update, map[string]events.Change{
			"items": {Old: jsonRaw(old), New: jsonRaw(cur)},
		})
		return nil
	})
}
