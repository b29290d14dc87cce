package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
)

// Requisite links of deals and invoices (table requisite_links). A link
// is part of its record: setting or removing it is an update of the
// record, with an event.

const requisiteLinkColumns = "entity, record_id, requisite_id, bank_detail_id, mc_requisite_id, mc_bank_detail_id"

// requisiteLinkRead reads a link from requisite_links l; a requisite or
// bank account deleted since it was linked reads as 0 (none), so that a
// link never names what is gone.
const requisiteLinkRead = `l.entity, l.record_id,
	CASE WHEN EXISTS (SELECT 1 FROM requisites r WHERE r.id = l.requisite_id) THEN l.requisite_id ELSE 0 END,
	CASE WHEN EXISTS (SELECT 1 FROM bank_details b WHERE b.id = l.bank_detail_id) THEN l.bank_detail_id ELSE 0 END,
	CASE WHEN EXISTS (SELECT 1 FROM requisites r WHERE r.id = l.mc_requisite_id) THEN l.mc_requisite_id ELSE 0 END,
	CASE WHEN EXISTS (SELECT 1 FROM bank_details b WHERE b.id = l.mc_bank_detail_id) THEN l.mc_bank_detail_id ELSE 0 END`

func scanRequisiteLink(sc interface{ Scan(...any) error }) (crm.RequisiteLink, error) {
	var l crm.RequisiteLink
	err := sc.Scan(&l.Entity, &l.RecordID, &l.RequisiteID, &l.BankDetailID, &l.MCRequisiteID, &l.MCBankDetailID)
	return l, err
}

func linkable(entity string) bool { return entity == EntityDeal || entity == EntityInvoice }

// GetRequisiteLink returns the link of a deal or an invoice.
func (s *Store) GetRequisiteLink(ctx context.Context, entity string, id int64) (crm.RequisiteLink, error) {
	if !linkable(entity) {
		return crm.RequisiteLink{}, crm.Invalid("entity", "%q is not one of %s", entity, "deal, invoice")
	}
	t := s.rq(ctx)
	if err := allowedID(t, entity, id); err != nil {
		return crm.RequisiteLink{}, err
	}
	l, err := scanRequisiteLink(t.q.QueryRowContext(t.ctx, "SELECT "+requisiteLinkRead+" FROM requisite_links l WHERE l.entity = $1 AND l.record_id = $2", entity, id))
	if errors.Is(err, sql.ErrNoRows) {
		return l, NotFound("requisite link of "+entity, id)
	}
	if err != nil {
		return l, fmt.Errorf("store: requisite link of %s %d: %w", entity, id, err)
	}
	return l, nil
}

// ListRequisiteLinks returns the links of the records the caller may see,
// by entity and record id.
func (s *Store) ListRequisiteLinks(ctx context.Context) ([]crm.RequisiteLink, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT "+requisiteLinkRead+" FROM requisite_links l ORDER BY l.entity, l.record_id")
	if err != nil {
		return nil, fmt.Errorf("store: requisite links: %w", err)
	}
	defer rows.Close()
	out := []crm.RequisiteLink{}
	t := s.rq(ctx)
	for rows.Next() {
		l, err := scanRequisiteLink(rows)
		if err != nil {
			return nil, fmt.Errorf("store: requisite links: %w", err)
		}
		if err := allowedID(t, l.Entity, l.RecordID); err != nil {
			if errors.Is(err, ErrForbidden) || errors.Is(err, ErrNotFound) {
				continue
			}
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// checkRequisitePair checks that requisite rq exists (0: none) and bank
// detail bd belongs to it; when owners is given, that the requisite is
// one of theirs.
func checkRequisitePair(t txq, field, bdField string, rq, bd int64, owners map[string][]int64) error {
	if rq == 0 {
		if bd != 0 {
			return crm.Invalid(bdField, "bank detail %d given without its requisite", bd)
		}
		return nil
	}
	var entity string
	var record int64
	err := t.q.QueryRowContext(t.ctx, "SELECT entity, record_id FROM requisites WHERE id = $1", rq).Scan(&entity, &record)
	if errors.Is(err, sql.ErrNoRows) {
		return crm.Invalid(field, "no requisite with id %d", rq)
	}
	if err != nil {
		return fmt.Errorf("store: requisite %d: %w", rq, err)
	}
	if owners != nil {
		ok := false
		for _, id := range owners[entity] {
			ok = ok || id == record
		}
		if !ok {
			return crm.Invalid(field, "requisite %d is not the client's (it is %s %d's)", rq, entity, record)
		}
	}
	if bd != 0 {
		var of int64
		err := t.q.QueryRowContext(t.ctx, "SELECT requisite_id FROM bank_details WHERE id = $1", bd).Scan(&of)
		if errors.Is(err, sql.ErrNoRows) {
			return crm.Invalid(bdField, "no bank detail with id %d", bd)
		}
		if err != nil {
			return fmt.Errorf("store: bank detail %d: %w", bd, err)
		}
		if of != rq {
			return crm.Invalid(bdField, "bank detail %d is not of requisite %d", bd, rq)
		}
	}
	return nil
}

// SetRequisiteLink creates or replaces the link of a deal or an invoice.
// The client's requisite must be one of the record's company or contacts.
func (s *Store) SetRequisiteLink(ctx context.Context, actor crm.Actor, l crm.RequisiteLink) error {
	if !linkable(l.Entity) {
		return crm.Invalid("entity", "%q is not one of %s", l.Entity, "deal, invoice")
	}
	return s.Write(ctx, actor, func(t *Tx) error {
		q := t.rq()
		if err := recordExists(q, l.Entity, l.RecordID, true); err != nil {
			return err
		}
		if err := editableID(q, l.Entity, l.RecordID); err != nil {
			return err
		}
		owners := map[string][]int64{}
		var account, contact int64
		var err error
		if l.Entity == EntityDeal {
			err = t.tx.QueryRowContext(t.ctx, "SELECT account_id FROM deals WHERE id = $1", l.RecordID).Scan(&account)
		} else {
			err = t.tx.QueryRowContext(t.ctx, "SELECT account_id, contact_id FROM invoices WHERE id = $1", l.RecordID).Scan(&account, &contact)
		}
		if err != nil {
			return fmt.Errorf("store: %s %d: %w", l.Entity, l.RecordID, err)
		}
		owners[EntityAccount] = []int64{account}
		owners[EntityContact] = []int64{contact}
		if l.Entity == EntityDeal {
			rows, err := t.tx.QueryContext(t.ctx, "SELECT contact_id FROM deal_contacts WHERE deal_id = $1", l.RecordID)
			if err != nil {
				return fmt.Errorf("store: deal %d contacts: %w", l.RecordID, err)
			}
			for rows.Next() {
				var c int64
				if err := rows.Scan(&c); err != nil {
					rows.Close()
					return fmt.Errorf("store: deal %d contacts: %w", l.RecordID, err)
				}
				owners[EntityContact] = append(owners[EntityContact], c)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("store: deal %d contacts: %w", l.RecordID, err)
			}
		}
		if err := checkRequisitePair(q, "requisite_id", "bank_detail_id", l.RequisiteID, l.BankDetailID, owners); err != nil {
			return err
		}
		if err := checkRequisitePair(q, "mc_requisite_id", "mc_bank_detail_id", l.MCRequisiteID, l.MCBankDetailID, nil); err != nil {
			return err
		}
		if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO requisite_links (`+requisiteLinkColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (entity, record_id) DO UPDATE SET requisite_id = excluded.requisite_id, bank_detail_id = excluded.bank_detail_id,
			mc_requisite_id = excluded.mc_requisite_id, mc_bank_detail_id = excluded.mc_bank_detail_id`,
			l.Entity, l.RecordID, l.RequisiteID, l.BankDetailID, l.MCRequisiteID, l.MCBankDetailID); err != nil {
			return fmt.Errorf("store: requisite link of %s %d: %w", l.Entity, l.RecordID, err)
		}
		t.Emit(l.Entity, l.RecordID, events.Update, map[string]events.Change{"requisite_link": {Old: null(), New: jsonRaw(l)}})
		return nil
	})
}

// DeleteRequisiteLink removes the link of a deal or an invoice; none is
// not an error.
func (s *Store) DeleteRequisiteLink(ctx context.Context, actor crm.Actor, entity string, id int64) error {
	if !linkable(entity) {
		return crm.Invalid("entity", "%q is not one of %s", entity, "deal, invoice")
	}
	return s.Write(ctx, actor, func(t *Tx) error {
		if err := editableID(t.rq(), entity, id); err != nil {
			return err
		}
		res, err := t.tx.ExecContext(t.ctx, "DELETE FROM requisite_links WHERE entity = $1 AND record_id = $2", entity, id)
		if err != nil {
			return fmt.Errorf("store: requisite link of %s %d: %w", entity, id, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			t.Emit(entity, id, events.Update, map[string]events.Change{"requisite_link": {Old: null(), New: null()}})
		}
		return nil
	})
}
