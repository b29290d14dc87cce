package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
)

// Entity names, as written in events, comms, custom values and external ids.
const (
	EntityLead       = "lead"
	EntityContact    = "contact"
	EntityAccount    = "account"
	EntityDeal       = "deal"
	EntitySalesOrder = "sales_order"
	EntityProduct    = "product"
	EntityService    = "service"
	EntityCatalog    = "catalog"
	EntityInvoice    = "invoice"
	EntityTicket     = "ticket"
	EntityActivity   = "activity"
)

// newComm is a multi-field item with its kind and its sort number
// (unique within the record).
type newComm struct {
	kind string
	sort int
	it   *crm.Comm
}

// newComms are the items of a record's multi-fields in order, numbered.
func newComms(c *crm.Comms) []newComm {
	var out []newComm
	for _, group := range []struct {
		kind  string
		items []crm.Comm
	}{{crm.KindPhone, c.Phones}, {crm.KindEmail, c.Emails}, {crm.KindIM, c.IMs}, {crm.KindWeb, c.Webs}} {
		for i := range group.items {
			out = append(out, newComm{kind: group.kind, sort: len(out) + 1, it: &group.items[i]})
		}
	}
	return out
}

// saveComms makes the record's multi-fields equal to c. Items that carry
// the id of one of the record's rows keep it.
func (t *Tx) saveComms(entity string, id int64, c *crm.Comms, creating bool) error {
	existing := map[int64]bool{}
	if !creating {
		rows, err := t.tx.QueryContext(t.ctx, "SELECT id FROM comms WHERE entity = $1 AND record_id = $2", entity, id)
		if err != nil {
			return fmt.Errorf("store: %s %d: comms: %w", entity, id, err)
		}
		for rows.Next() {
			var cid int64
			if err := rows.Scan(&cid); err != nil {
				rows.Close()
				return fmt.Errorf("store: %s %d: comms: %w", entity, id, err)
			}
			existing[cid] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: %s %d: comms: %w", entity, id, err)
		}
	}
	kept := map[int64]bool{}
	// New items go in with one multi-row insert; RETURNING gives each id
	// back with its sort number, which is unique within the record.
	var fresh []*crm.Comm
	var ins strings.Builder
	var args []any
	for _, f := range newComms(c) {
		it := f.it
		if it.ID != 0 && existing[it.ID] && !kept[it.ID] {
			kept[it.ID] = true
			if _, err := t.tx.ExecContext(t.ctx, "UPDATE comms SET kind = $1, value = $2, value_type = $3, normalized = $4, sort = $5 WHERE id = $6",
				f.kind, it.Value, it.ValueType, it.Normalized, f.sort, it.ID); err != nil {
				return fmt.Errorf("store: %s %d: update %s: %w", entity, id, f.kind, err)
			}
			continue
		}
		if len(fresh) > 0 {
			ins.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&ins, "($%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7)
		args = append(args, entity, id, f.kind, it.Value, it.ValueType, it.Normalized, f.sort)
		it.ID = int64(f.sort) // placeholder until RETURNING maps it
		fresh = append(fresh, it)
	}
	if len(fresh) > 0 {
		rows, err := t.tx.QueryContext(t.ctx, "INSERT INTO comms (entity, record_id, kind, value, value_type, normalized, sort) VALUES "+ins.String()+" RETURNING id, sort", args...)
		if err != nil {
			return fmt.Errorf("store: %s %d: insert comms: %w", entity, id, err)
		}
		bySort := map[int64]int64{}
		for rows.Next() {
			var cid, sn int64
			if err := rows.Scan(&cid, &sn); err != nil {
				rows.Close()
				return fmt.Errorf("store: %s %d: insert comms: %w", entity, id, err)
			}
			bySort[sn] = cid
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: %s %d: insert comms: %w", entity, id, err)
		}
		for _, it := range fresh {
			it.ID = bySort[it.ID]
		}
	}
	for cid := range existing {
		if !kept[cid] {
			if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM comms WHERE id = $1", cid); err != nil {
				return fmt.Errorf("store: %s %d: delete comm: %w", entity, id, err)
			}
		}
	}
	return nil
}

// loadComms returns the multi-fields of the given records.
func loadComms(t txq, entity string, ids []int64) (map[int64]*crm.Comms, error) {
	out := make(map[int64]*crm.Comms, len(ids))
	for _, id := range ids {
		c := &crm.Comms{}
		c.Empty()
		out[id] = c
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.q.QueryContext(t.ctx, "SELECT id, record_id, kind, value, value_type, normalized FROM comms WHERE entity = $1 AND record_id IN ("+placeholders(2, len(ids))+") ORDER BY record_id, sort, id",
		append([]any{entity}, int64Args(ids)...)...)
	if err != nil {
		return nil, fmt.Errorf("store: load %s comms: %w", entity, err)
	}
	defer rows.Close()
	for rows.Next() {
		var it crm.Comm
		var rid int64
		var kind string
		if err := rows.Scan(&it.ID, &rid, &kind, &it.Value, &it.ValueType, &it.Normalized); err != nil {
			return nil, fmt.Errorf("store: load %s comms: %w", entity, err)
		}
		out[rid].Add(kind, it)
	}
	return out, rows.Err()
}

// saveItems replaces the line items of an owner. Rows that name a product
// or service without a name take its name and unit.
//
// A row that keeps the id of one of the owner's rows keeps that id, so
// that a row can be changed or removed by its id (crm.item.productrow.*);
// any other id is ignored and the row gets a new one.
func (t *Tx) saveItems(owner string, id int64, items []crm.LineItem, creating bool) error {
	kept := map[int64]bool{}
	if !creating {
		rows, err := t.tx.QueryContext(t.ctx, "SELECT id FROM line_items WHERE owner_type = $1 AND owner_id = $2", owner, id)
		if err != nil {
			return fmt.Errorf("store: %s %d: items: %w", owner, id, err)
		}
		for rows.Next() {
			var rid int64
			if err := rows.Scan(&rid); err != nil {
				rows.Close()
				return fmt.Errorf("store: %s %d: items: %w", owner, id, err)
			}
			kept[rid] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: %s %d: items: %w", owner, id, err)
		}
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM line_items WHERE owner_type = $1 AND owner_id = $2", owner, id); err != nil {
			return fmt.Errorf("store: %s %d: delete items: %w", owner, id, err)
		}
	}
	for i := range items {
		it := &items[i]
		props, err := json.Marshal(it.Properties)
		if err != nil {
			return fmt.Errorf("store: %s %d: item %d properties: %w", owner, id, i, err)
		}
		var vat any
		if it.VATRate != nil {
			vat = int64(*it.VATRate)
		}
		// A kept id is written; otherwise the table gives the next one.
		cols, vals := "", ""
		var variant any // NULL: the product itself
		if it.VariantID != 0 {
			variant = it.VariantID
		}
		args := []any{owner, id, it.ProductID, it.ServiceID, it.Name, int64(it.Price), int64(it.Quantity), it.Unit,
			int64(it.DiscountRate), int64(it.Discount), vat, it.VATIncluded, int64(it.Sum), int64(it.Tax), string(props), i, variant}
		if kept[it.ID] {
			cols, vals = "id, ", "$18, "
			args = append(args, it.ID)
			delete(kept, it.ID) // an id twice: the second row gets a new one
		}
		if err := t.tx.QueryRowContext(t.ctx, `INSERT INTO line_items (`+cols+`owner_type, owner_id, product_id, service_id, name, price, quantity, unit,
			discount_rate, discount, vat_rate, vat_included, sum, tax, properties, sort, variant_id)
			VALUES (`+vals+`$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id`,
			args...).Scan(&it.ID); err != nil {
			return fmt.Errorf("store: %s %d: insert item %d: %w", owner, id, i, err)
		}
	}
	return nil
}

// resolveItems checks product, variant and service references and fills
// names and units from them; field names the list in errors. A variant
// without a product names its product; with one, it must be that
// product's.
func resolveItems(t txq, field string, items []crm.LineItem) error {
	for i := range items {
		it := &items[i]
		if it.VariantID != 0 {
			var productID int64
			var name string
			err := t.q.QueryRowContext(t.ctx, "SELECT product_id, name FROM product_variants WHERE id = $1", it.VariantID).Scan(&productID, &name)
			if errors.Is(err, sql.ErrNoRows) {
				return crm.Invalid(fmt.Sprintf("%s[%d].variant_id", field, i), "no such variant: %d", it.VariantID)
			}
			if err != nil {
				return fmt.Errorf("store: %s[%d].variant_id: %w", field, i, err)
			}
			switch {
			case it.ServiceID != 0:
				return crm.Invalid(fmt.Sprintf("%s[%d].variant_id", field, i), "a service has no variants")
			case it.ProductID == 0:
				it.ProductID = productID
			case it.ProductID != productID:
				return crm.Invalid(fmt.Sprintf("%s[%d].variant_id", field, i), "variant %d belongs to product %d, not to product %d", it.VariantID, productID, it.ProductID)
			}
			if it.Name == "" {
				it.Name = strings.TrimSpace(name) // 1C's offer name: "Футболка (красный, XL)"
			}
		}
		var table string
		var ref int64
		switch {
		case it.ProductID != 0:
			table, ref = "products", it.ProductID
		case it.ServiceID != 0:
			table, ref = "services", it.ServiceID
		default:
			continue
		}
		var name, unit string
		err := t.q.QueryRowContext(t.ctx, "SELECT name, unit FROM "+table+" WHERE id = $1 AND deleted_at = 0", ref).Scan(&name, &unit)
		if err != nil {
			key := "product_id"
			if table == "services" {
				key = "service_id"
			}
			return crm.Invalid(fmt.Sprintf("%s[%d].%s", field, i, key), "no such %s: %d", table[:len(table)-1], ref)
		}
		if it.Name == "" {
			it.Name = name
		}
		if it.Unit == "" {
			it.Unit = unit
		}
	}
	return nil
}

// loadItems returns the line items of the given owners.
func loadItems(t txq, owner string, ids []int64) (map[int64][]crm.LineItem, error) {
	out := make(map[int64][]crm.LineItem, len(ids))
	for _, id := range ids {
		out[id] = []crm.LineItem{}
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.q.QueryContext(t.ctx, `SELECT id, owner_id, product_id, service_id, COALESCE(variant_id, 0), name, price, quantity, unit, discount_rate, discount,
		vat_rate, vat_included, sum, tax, properties FROM line_items WHERE owner_type = $1 AND owner_id IN (`+placeholders(2, len(ids))+`) ORDER BY owner_id, sort, id`,
		append([]any{owner}, int64Args(ids)...)...)
	if err != nil {
		return nil, fmt.Errorf("store: load %s items: %w", owner, err)
	}
	defer rows.Close()
	for rows.Next() {
		var it crm.LineItem
		var oid int64
		var vat *int64
		var props string
		if err := rows.Scan(&it.ID, &oid, &it.ProductID, &it.ServiceID, &it.VariantID, &it.Name, (*int64)(&it.Price), (*int64)(&it.Quantity), &it.Unit,
			(*int64)(&it.DiscountRate), (*int64)(&it.Discount), &vat, &it.VATIncluded, (*int64)(&it.Sum), (*int64)(&it.Tax), &props); err != nil {
			return nil, fmt.Errorf("store: load %s items: %w", owner, err)
		}
		if vat != nil {
			a := crm.Amount(*vat)
			it.VATRate = &a
		}
		if err := json.Unmarshal([]byte(props), &it.Properties); err != nil {
			return nil, fmt.Errorf("store: %s %d item %d: properties: %w", owner, oid, it.ID, err)
		}
		out[oid] = append(out[oid], it)
	}
	return out, rows.Err()
}

// saveExternal replaces a record's external ids.
func (t *Tx) saveExternal(entity string, id int64, ext map[string]string, creating bool) error {
	if !creating {
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM external_ids WHERE entity = $1 AND record_id = $2", entity, id); err != nil {
			return fmt.Errorf("store: %s %d: external ids: %w", entity, id, err)
		}
	}
	systems := make([]string, 0, len(ext))
	for k := range ext {
		systems = append(systems, k)
	}
	sort.Strings(systems)
	for _, sys := range systems {
		v := ext[sys]
		if sys == "" || len(sys) > 50 {
			return crm.Invalid("external_ids", "system name %q must have 1 to 50 characters", sys)
		}
		if v == "" {
			continue
		}
		var other int64
		err := t.tx.QueryRowContext(t.ctx, "SELECT record_id FROM external_ids WHERE entity = $1 AND system = $2 AND external_id = $3", entity, sys, v).Scan(&other)
		if err == nil && other != id {
			return crm.Invalid("external_ids."+sys, "%q already belongs to %s %d", v, entity, other)
		}
		if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO external_ids (entity, record_id, system, external_id) VALUES ($1, $2, $3, $4)", entity, id, sys, v); err != nil {
			if db.IsUniqueViolation(err) {
				return crm.Invalid("external_ids."+sys, "%q is already in use", v)
			}
			return fmt.Errorf("store: %s %d: external id: %w", entity, id, err)
		}
	}
	return nil
}

// loadExternal returns the external ids of the given records.
func loadExternal(t txq, entity string, ids []int64) (map[int64]map[string]string, error) {
	out := make(map[int64]map[string]string, len(ids))
	for _, id := range ids {
		out[id] = map[string]string{}
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.q.QueryContext(t.ctx, "SELECT record_id, system, external_id FROM external_ids WHERE entity = $1 AND record_id IN ("+placeholders(2, len(ids))+")",
		append([]any{entity}, int64Args(ids)...)...)
	if err != nil {
		return nil, fmt.Errorf("store: load %s external ids: %w", entity, err)
	}
	defer rows.Close()
	for rows.Next() {
		var rid int64
		var sys, v string
		if err := rows.Scan(&rid, &sys, &v); err != nil {
			return nil, fmt.Errorf("store: load %s external ids: %w", entity, err)
		}
		out[rid][sys] = v
	}
	return out, rows.Err()
}

// FindByExternalID returns the id of the live record of entity that has
// the given id in system.
func (s *Store) FindByExternalID(ctx context.Context, entity, system, externalID string) (int64, error) {
	var id int64
	err := s.db.Reader().QueryRowContext(ctx, "SELECT record_id FROM external_ids WHERE entity = $1 AND system = $2 AND external_id = $3", entity, system, externalID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, NotFound(entity+" with "+system+" id", externalID)
	}
	if err != nil {
		return 0, fmt.Errorf("store: find %s by %s id: %w", entity, system, err)
	}
	if _, ok := entityTables[entity]; ok {
		if err := allowedID(s.rq(ctx), entity, id); err != nil {
			return 0, NotFound(entity+" with "+system+" id", externalID)
		}
	}
	return id, nil
}

// txq is a querier with its context: the read pool, or a write's
// transaction when a write reads what it is about to change.
type txq struct {
	ctx   context.Context
	q     querier
	cache *lookupCache
}

func (s *Store) rq(ctx context.Context) txq {
	if ctx.Value(bulkKey{}) != nil {
		return txq{ctx, s.db.Bulk, &s.cache}
	}
	return txq{ctx, s.db.Reader(), &s.cache}
}

type bulkKey struct{}

// WithBulkReads marks ctx as that of a background job walking many
// records (the 1C exchange's staging): the store's reads under it go
// through the database's Bulk pool, which on SQLite does not map the file,
// so the walk does not grow the server's resident memory.
func WithBulkReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, bulkKey{}, true)
}
func (t *Tx) rq() txq { return txq{t.ctx, t.tx, &t.store.cache} }
