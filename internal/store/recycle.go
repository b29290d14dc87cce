package store

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
)

// Delete moves a live record of entity into the recycle bin. Its links
// (phones, comments, activities, contacts of a deal …) stay where they are,
// so Restore brings everything back.
func (s *Store) Delete(ctx context.Context, actor crm.Actor, entity string, id int64) error {
	table, ok := entityTables[entity]
	if !ok {
		return fmt.Errorf("store: delete: unknown entity %q", entity)
	}
	return s.Write(ctx, actor, func(t *Tx) error {
		if err := editableID(t.rq(), entity, id); err != nil {
			return err
		}
		res, err := t.tx.ExecContext(t.ctx, "UPDATE "+table+" SET deleted_at = $1, deleted_by_id = $2 WHERE id = $3 AND deleted_at = 0",
			micro(t.now), t.actor.UserID, id)
		if err != nil {
			return fmt.Errorf("store: delete %s %d: %w", entity, id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return NotFound(entity, id)
		}
		t.Emit(entity, id, events.Delete, map[string]events.Change{
			"deleted_at": {Old: null(), New: jsonRaw(t.now.Format(time.RFC3339Nano))},
		})
		return nil
	})
}

// Restore takes a record out of the recycle bin.
func (s *Store) Restore(ctx context.Context, actor crm.Actor, entity string, id int64) error {
	table, ok := entityTables[entity]
	if !ok {
		return fmt.Errorf("store: restore: unknown entity %q", entity)
	}
	return s.Write(ctx, actor, func(t *Tx) error {
		if err := editableID(t.rq(), entity, id); err != nil {
			return err
		}
		var deleted int64
		if err := t.tx.QueryRowContext(t.ctx, "SELECT deleted_at FROM "+table+" WHERE id = $1", id).Scan(&deleted); err != nil || deleted == 0 {
			return NotFound("deleted "+entity, id)
		}
		if _, err := t.tx.ExecContext(t.ctx, "UPDATE "+table+" SET deleted_at = 0, deleted_by_id = 0, updated_at = $1, updated_by_id = $2 WHERE id = $3",
			micro(t.now), t.actor.UserID, id); err != nil {
			return fmt.Errorf("store: restore %s %d: %w", entity, id, err)
		}
		t.Emit(entity, id, events.Restore, map[string]events.Change{
			"deleted_at": {Old: jsonRaw(fromMicro(deleted).Format(time.RFC3339Nano)), New: null()},
		})
		return nil
	})
}

// purgeChildren lists, per entity, the statements that remove what hangs
// off a record and clear references to it when it is purged for good.
var purgeChildren = map[string][]string{
	EntityLead: {
		"DELETE FROM line_items WHERE owner_type = 'lead' AND owner_id = $1",
		"UPDATE contacts SET lead_id = 0 WHERE lead_id = $1",
		"UPDATE deals SET lead_id = 0 WHERE lead_id = $1",
	},
	EntityContact: {
		"DELETE FROM contact_accounts WHERE contact_id = $1",
		"DELETE FROM deal_contacts WHERE contact_id = $1",
		"DELETE FROM bank_details WHERE requisite_id IN (SELECT id FROM requisites WHERE entity = 'contact' AND record_id = $1)",
		"DELETE FROM requisite_addresses WHERE requisite_id IN (SELECT id FROM requisites WHERE entity = 'contact' AND record_id = $1)",
		"DELETE FROM requisites WHERE entity = 'contact' AND record_id = $1",
		"UPDATE leads SET contact_id = 0 WHERE contact_id = $1",
		"UPDATE sales_orders SET contact_id = 0 WHERE contact_id = $1",
		"UPDATE invoices SET contact_id = 0 WHERE contact_id = $1",
		"UPDATE tickets SET contact_id = 0 WHERE contact_id = $1",
	},
	EntityAccount: {
		"DELETE FROM contact_accounts WHERE account_id = $1",
		"DELETE FROM bank_details WHERE requisite_id IN (SELECT id FROM requisites WHERE entity = 'account' AND record_id = $1)",
		"DELETE FROM requisite_addresses WHERE requisite_id IN (SELECT id FROM requisites WHERE entity = 'account' AND record_id = $1)",
		"DELETE FROM requisites WHERE entity = 'account' AND record_id = $1",
		"UPDATE leads SET account_id = 0 WHERE account_id = $1",
		"UPDATE deals SET account_id = 0 WHERE account_id = $1",
		"UPDATE sales_orders SET account_id = 0 WHERE account_id = $1",
		"UPDATE invoices SET account_id = 0 WHERE account_id = $1",
		"UPDATE tickets SET account_id = 0 WHERE account_id = $1",
	},
	EntityDeal: {
		"DELETE FROM line_items WHERE owner_type = 'deal' AND owner_id = $1",
		"DELETE FROM deal_contacts WHERE deal_id = $1",
		"UPDATE leads SET deal_id = 0 WHERE deal_id = $1",
		"UPDATE sales_orders SET deal_id = 0 WHERE deal_id = $1",
		"UPDATE invoices SET deal_id = 0 WHERE deal_id = $1",
	},
	EntitySalesOrder: {"DELETE FROM line_items WHERE owner_type = 'sales_order' AND owner_id = $1"},
	EntityInvoice:    {"DELETE FROM line_items WHERE owner_type = 'invoice' AND owner_id = $1"},
	EntityProduct:    {"DELETE FROM catalog_items WHERE item_type = 'product' AND item_id = $1"},
	EntityService:    {"DELETE FROM catalog_items WHERE item_type = 'service' AND item_id = $1"},
	EntityCatalog:    {"DELETE FROM catalog_items WHERE catalog_id = $1", "UPDATE catalogs SET parent_id = 0 WHERE parent_id = $1"},
}

// Purge removes a record that is in the recycle bin, for good, with
// everything that hangs off it.
func (s *Store) Purge(ctx context.Context, actor crm.Actor, entity string, id int64) error {
	table, ok := entityTables[entity]
	if !ok {
		return fmt.Errorf("store: purge: unknown entity %q", entity)
	}
	return s.Write(ctx, actor, func(t *Tx) error {
		if err := editableID(t.rq(), entity, id); err != nil {
			return err
		}
		var deleted int64
		if err := t.tx.QueryRowContext(t.ctx, "SELECT deleted_at FROM "+table+" WHERE id = $1", id).Scan(&deleted); err != nil || deleted == 0 {
			return NotFound("deleted "+entity, id)
		}
		stmts := append([]string{}, purgeChildren[entity]...)
		stmts = append(stmts,
			"DELETE FROM comms WHERE entity = '"+entity+"' AND record_id = $1",
			"DELETE FROM custom_values WHERE entity = '"+entity+"' AND record_id = $1",
			"DELETE FROM external_ids WHERE entity = '"+entity+"' AND record_id = $1",
			"DELETE FROM comments WHERE entity = '"+entity+"' AND record_id = $1",
			"DELETE FROM requisite_links WHERE entity = '"+entity+"' AND record_id = $1",
			"DELETE FROM record_photos WHERE owner_type = '"+entity+"' AND owner_id = $1",
			"UPDATE activities SET owner_type = '', owner_id = 0 WHERE owner_type = '"+entity+"' AND owner_id = $1",
			// Seed 000: the messages of a record stay, linked to no one.
			"UPDATE messages SET owner_type = '', owner_id = 0 WHERE owner_type = '"+entity+"' AND owner_id = $1",
			"DELETE FROM "+table+" WHERE id = $1",
		)
		for _, q := range stmts {
			if _, err := t.tx.ExecContext(t.ctx, q, id); err != nil {
				return fmt.Errorf("store: purge %s %d: %w", entity, id, err)
			}
		}
		t.Emit(entity, id, events.Purge, nil)
		return nil
	})
}

// BinItem is a record in the recycle bin.
type BinItem struct {
	Entity      string    `json:"entity"`
	ID          int64     `json:"id"`
	Title       string    `json:"title"`
	DeletedAt   time.Time `json:"deleted_at"`
	DeletedByID int64     `json:"deleted_by_id"`
}

// titleColumns is what the recycle bin shows of each entity.
var titleColumns = map[string]string{
	EntityLead: "title", EntityContact: "search", EntityAccount: "title", EntityDeal: "title",
	EntitySalesOrder: "number", EntityProduct: "name", EntityService: "name", EntityCatalog: "name",
	EntityInvoice: "number", EntityTicket: "title", EntityActivity: "subject",
	EntityMessage: "search",
}

// RecycleBin lists deleted records, newest deletion first, at most limit
// (per entity, then merged).
func (s *Store) RecycleBin(ctx context.Context, entity string, limit int) ([]BinItem, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	var names []string
	if entity != "" {
		if _, ok := entityTables[entity]; !ok {
			return nil, crm.Invalid("entity", "%q is not a CRM entity", entity)
		}
		names = []string{entity}
	} else {
		for n := range entityTables {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	out := []BinItem{}
	for _, n := range names {
		mine, args := "", []any{limit}
		if sc, ok := scopeOf(ctx); ok && scoped[n] {
			if c := sc.cond("assigned_by_id", func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }, false); c != "" {
				mine = " AND " + c
			}
		}
		rows, err := s.db.Read.QueryContext(ctx, fmt.Sprintf("SELECT id, %s, deleted_at, deleted_by_id FROM %s WHERE deleted_at <> 0%s ORDER BY deleted_at DESC LIMIT $1",
			titleColumns[n], entityTables[n], mine), args...)
		if err != nil {
			return nil, fmt.Errorf("store: recycle bin %s: %w", n, err)
		}
		for rows.Next() {
			it := BinItem{Entity: n}
			var at int64
			if err := rows.Scan(&it.ID, &it.Title, &at, &it.DeletedByID); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: recycle bin %s: %w", n, err)
			}
			it.DeletedAt = fromMicro(at)
			out = append(out, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: recycle bin %s: %w", n, err)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].DeletedAt.After(out[j].DeletedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// IsEntity reports whether name is a CRM entity.
func IsEntity(name string) bool { _, ok := entityTables[name]; return ok }
