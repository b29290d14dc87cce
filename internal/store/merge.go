package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
)

// Merging two duplicate records keeps one: it takes the fields chosen
// from the other, gains the other's phones and e-mails, and everything
// linked to the other (leads, deals, orders, invoices, activities,
// comments, requisites, companies) is moved to it, each moved record
// with its change event; the other goes to the recycle bin with its
// history, and the kept one's timeline says what was merged.

// mergeLinks are the columns that point at a record of an entity:
// table, the entity of its rows (for their change events), column.
var mergeLinks = map[string][][3]string{
	EntityContact: {{"leads", EntityLead, "contact_id"}, {"sales_orders", EntitySalesOrder, "contact_id"}, {"invoices", EntityInvoice, "contact_id"},
		{"tickets", EntityTicket, "contact_id"}},
	EntityAccount: {{"leads", EntityLead, "account_id"}, {"deals", EntityDeal, "account_id"}, {"sales_orders", EntitySalesOrder, "account_id"},
		{"invoices", EntityInvoice, "account_id"}, {"tickets", EntityTicket, "account_id"}},
	EntityLead: {{"contacts", EntityContact, "lead_id"}, {"deals", EntityDeal, "lead_id"}},
}

// MergeEntities are the entities Merge serves.
var MergeEntities = []string{EntityLead, EntityContact, EntityAccount}

// Merge folds record drop into keep (both of entity): take lists the
// fields (JSON names) whose value comes from drop.
func (s *Store) Merge(ctx context.Context, actor crm.Actor, entity string, keep, drop int64, take []string) error {
	if !slices.Contains(MergeEntities, entity) {
		return crm.Invalid("entity", "%q is not one of %s", entity, "lead, contact, account")
	}
	if keep == drop || keep <= 0 || drop <= 0 {
		return crm.Invalid("drop", "%d is not a record id", drop)
	}
	return s.Write(ctx, actor, func(t *Tx) error {
		if err := editableID(t.rq(), entity, keep); err != nil {
			return err
		}
		if err := editableID(t.rq(), entity, drop); err != nil {
			return err
		}
		var err error
		switch entity {
		case EntityLead:
			err = mergeInto(t, keep, drop, take, leadLoader.get, t.UpdateLead, func(v *crm.Lead) *crm.Comms { return &v.Comms })
		case EntityContact:
			err = mergeInto(t, keep, drop, take, contactLoader.get, t.UpdateContact, func(v *crm.Contact) *crm.Comms { return &v.Comms })
		default:
			err = mergeInto(t, keep, drop, take, accountLoader.get, t.UpdateAccount, func(v *crm.Account) *crm.Comms { return &v.Comms })
		}
		if err != nil {
			return err
		}
		if err := t.moveLinks(entity, keep, drop); err != nil {
			return err
		}
		table := entityTables[entity]
		if _, err := t.tx.ExecContext(t.ctx, "UPDATE "+table+" SET deleted_at = $1, deleted_by_id = $2 WHERE id = $3 AND deleted_at = 0",
			micro(t.now), t.actor.UserID, drop); err != nil {
			return fmt.Errorf("store: merge: delete %s %d: %w", entity, drop, err)
		}
		t.Emit(entity, drop, events.Delete, map[string]events.Change{
			"deleted_at":  {Old: null(), New: jsonRaw(t.now.Format(time.RFC3339Nano))},
			"merged_into": {Old: null(), New: jsonRaw(keep)},
		})
		_, err = t.tx.ExecContext(t.ctx, "INSERT INTO comments (entity, record_id, body, author_id, created_at) VALUES ($1, $2, $3, $4, $5)",
			entity, keep, "Объединено с записью №"+strconv.FormatInt(drop, 10)+" (она в корзине, с её историей)", t.actor.UserID, micro(t.now))
		if err != nil {
			return fmt.Errorf("store: merge: comment: %w", err)
		}
		return nil
	})
}

// mergeInto updates keep: the fields of take from drop, drop's phones
// and e-mails it lacks.
func mergeInto[T any](t *Tx, keep, drop int64, take []string, get func(txq, int64) (T, error), update func(int64, func(*T) error) (T, error), comms func(*T) *crm.Comms) error {
	other, err := get(t.rq(), drop)
	if err != nil {
		return err
	}
	src, err := json.Marshal(other)
	if err != nil {
		return err
	}
	var from map[string]json.RawMessage
	if err := json.Unmarshal(src, &from); err != nil {
		return err
	}
	patch := map[string]json.RawMessage{}
	for _, f := range take {
		if f == "id" || f == "phones" || f == "emails" {
			continue
		}
		v, ok := from[f]
		if !ok {
			return crm.Invalid("take", "%q is not a field", f)
		}
		patch[f] = v
	}
	b, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	_, err = update(keep, func(v *T) error {
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("store: merge: %w", err)
		}
		crm.MergeComms(comms(v), *comms(&other))
		return nil
	})
	return err
}

// moveLinks points what pointed at drop to keep, with change events.
func (t *Tx) moveLinks(entity string, keep, drop int64) error {
	for _, l := range mergeLinks[entity] {
		table, rowEntity, col := l[0], l[1], l[2]
		rows, err := t.tx.QueryContext(t.ctx, "SELECT id FROM "+table+" WHERE "+col+" = $1", drop)
		if err != nil {
			return fmt.Errorf("store: merge: %s: %w", table, err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			continue
		}
		if _, err := t.tx.ExecContext(t.ctx, "UPDATE "+table+" SET "+col+" = $1 WHERE "+col+" = $2", keep, drop); err != nil {
			return fmt.Errorf("store: merge: %s.%s: %w", table, col, err)
		}
		for _, id := range ids {
			t.Emit(rowEntity, id, events.Update, map[string]events.Change{col: {Old: jsonRaw(drop), New: jsonRaw(keep)}})
		}
	}
	// Rows keyed by (entity, record): activities, comments, requisites.
	for _, q := range []string{
		"UPDATE activities SET owner_id = $1 WHERE owner_type = $3 AND owner_id = $2",
		"UPDATE messages SET owner_id = $1 WHERE owner_type = $3 AND owner_id = $2",
		"UPDATE comments SET record_id = $1 WHERE entity = $3 AND record_id = $2",
		"UPDATE requisites SET record_id = $1 WHERE entity = $3 AND record_id = $2",
	} {
		if _, err := t.tx.ExecContext(t.ctx, q, keep, drop, entity); err != nil {
			return fmt.Errorf("store: merge: %w", err)
		}
	}
	// Many-to-many links: the pair moves unless keep has it already.
	var pairs [][3]string
	switch entity {
	case EntityContact:
		pairs = [][3]string{{"contact_accounts", "contact_id", "account_id"}, {"deal_contacts", "contact_id", "deal_id"}}
	case EntityAccount:
		pairs = [][3]string{{"contact_accounts", "account_id", "contact_id"}}
	}
	for _, p := range pairs {
		table, col, other := p[0], p[1], p[2]
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM "+table+" WHERE "+col+" = $1 AND "+other+" IN (SELECT "+other+" FROM "+table+" WHERE "+col+" = $2)", drop, keep); err != nil {
			return fmt.Errorf("store: merge: %s: %w", table, err)
		}
		if _, err := t.tx.ExecContext(t.ctx, "UPDATE "+table+" SET "+col+" = $1 WHERE "+col+" = $2", keep, drop); err != nil {
			return fmt.Errorf("store: merge: %s: %w", table, err)
		}
	}
	return nil
}
