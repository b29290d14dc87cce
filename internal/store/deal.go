package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/obmen/obmen/internal/crm"
)

var dealSpec = spec{
	entity: EntityDeal, table: "deals",
	relations: map[string]string{
		"contact_id": "SELECT dc.deal_id FROM deal_contacts dc WHERE dc.contact_id",
	},
	columns: map[string]Column{
		"title": {"title", KindText}, "category_id": {"category_id", KindInt}, "stage_id": {"stage_id", KindText},
		"opportunity": {"opportunity", KindAmount}, "currency": {"currency", KindText}, "probability": {"probability", KindInt},
		"account_id": {"account_id", KindInt}, "lead_id": {"lead_id", KindInt}, "source_id": {"source_id", KindText},
		"closed": {"closed", KindBool}, "won": {"won", KindBool},
		"begin_date": {"begin_date", KindDate}, "close_date": {"close_date", KindDate},
		"utm_source": {"utm_source", KindText}, "utm_medium": {"utm_medium", KindText},
		"utm_campaign": {"utm_campaign", KindText}, "utm_content": {"utm_content", KindText}, "utm_term": {"utm_term", KindText},
		"assigned_by_id": {"assigned_by_id", KindInt}, "created_by_id": {"created_by_id", KindInt},
		"created_at": {"created_at", KindTime}, "updated_at": {"updated_at", KindTime}, "deleted_at": {"deleted_at", KindTime},
	},
}

const dealColumns = `id, title, category_id, stage_id, opportunity, currency, probability, account_id, lead_id,
	source_id, source_description, utm_source, utm_medium, utm_campaign, utm_content, utm_term,
	begin_date, close_date, closed, won, comments, assigned_by_id, created_by_id, updated_by_id,
	created_at, updated_at, deleted_at, deleted_by_id`

var dealLoader = loader[crm.Deal]{
	entity: EntityDeal, name: "deal", table: "deals", columns: dealColumns,
	meta:  func(d *crm.Deal) *crm.Meta { return &d.Meta },
	extra: func(d *crm.Deal) *crm.Extra { return &d.Extra },
	scan: func(rows rowScanner, d *crm.Deal) error {
		var mt metaTimes
		if err := rows.Scan(&d.ID, &d.Title, &d.CategoryID, &d.StageID, (*int64)(&d.Opportunity), &d.Currency, &d.Probability,
			&d.AccountID, &d.LeadID, &d.SourceID, &d.SourceDescription,
			&d.UTMSource, &d.UTMMedium, &d.UTMCampaign, &d.UTMContent, &d.UTMTerm,
			&d.BeginDate, &d.CloseDate, &d.Closed, &d.Won, &d.Comments, &d.AssignedByID, &d.CreatedByID, &d.UpdatedByID,
			&mt.created, &mt.updated, &mt.deleted, &d.DeletedByID); err != nil {
			return err
		}
		mt.set(&d.Meta)
		return nil
	},
	parts: []func(txq, []int64) (func(int64, *crm.Deal), error){
		itemsPart(EntityDeal, func(v *crm.Deal) *[]crm.LineItem { return &v.ProductRows }),
		func(t txq, ids []int64) (func(int64, *crm.Deal), error) {
			contacts, err := loadDealContacts(t, ids)
			return func(id int64, v *crm.Deal) { v.ContactIDs = contacts[id] }, err
		},
	},
}

// loadDealContacts returns the live contacts of the given deals, primary
// first. Links to contacts in the recycle bin are kept in the table but
// not listed, so restoring the contact brings the link back.
func loadDealContacts(t txq, ids []int64) (map[int64][]int64, error) {
	out := make(map[int64][]int64, len(ids))
	for _, id := range ids {
		out[id] = []int64{}
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.q.QueryContext(t.ctx, `SELECT dc.deal_id, dc.contact_id FROM deal_contacts dc
		JOIN contacts c ON c.id = dc.contact_id AND c.deleted_at = 0
		WHERE dc.deal_id IN (`+placeholders(1, len(ids))+`) ORDER BY dc.deal_id, dc.sort, dc.contact_id`, int64Args(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: load deal contacts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var did, cid int64
		if err := rows.Scan(&did, &cid); err != nil {
			return nil, fmt.Errorf("store: load deal contacts: %w", err)
		}
		out[did] = append(out[did], cid)
	}
	return out, rows.Err()
}

// saveDealContacts makes the deal's live contacts equal to ids, the first
// being the primary one. Links to contacts in the recycle bin are left
// alone: the deal did not show them, so it cannot have meant to drop them.
func (t *Tx) saveDealContacts(id int64, ids []int64, creating bool) error {
	if !creating {
		if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM deal_contacts WHERE deal_id = $1
			AND contact_id IN (SELECT id FROM contacts WHERE deleted_at = 0)`, id); err != nil {
			return fmt.Errorf("store: deal %d: delete contact links: %w", id, err)
		}
	}
	for i, cid := range ids {
		if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO deal_contacts (deal_id, contact_id, sort, is_primary) VALUES ($1, $2, $3, $4)",
			id, cid, i, i == 0); err != nil {
			return fmt.Errorf("store: deal %d: link contact %d: %w", id, cid, err)
		}
	}
	return nil
}

// GetDeal returns a deal, live or in the recycle bin.
func (s *Store) GetDeal(ctx context.Context, id int64) (crm.Deal, error) {
	v, err := dealLoader.get(s.rq(ctx), id)
	return scoped1(ctx, EntityDeal, v, err)
}

// ListDeals returns a page of deals.
func (s *Store) ListDeals(ctx context.Context, p ListParams) ([]crm.Deal, string, error) {
	return dealLoader.list(s, s.rq(ctx), dealSpec, p)
}

// ListDealIDs is ListDeals without loading the deals: one page of ids,
// enough to count the deals of a stage up to a bound (the UI's home page).
func (s *Store) ListDealIDs(ctx context.Context, p ListParams) (Page, error) {
	return s.listIDs(s.rq(ctx), dealSpec, p)
}

// checkDeal validates what a deal refers to and sets Closed and Won from
// its stage's semantics (whatever the caller sent). It must run before
// insertDeal.
func checkDeal(t txq, d *crm.Deal) error {
	return checkDealChange(t, nil, d)
}

// checkDealChange is checkDeal for an update: the account and the lead a
// deal already had are not checked again, so a deal whose account went to
// the recycle bin can still be edited.
func checkDealChange(t txq, old, d *crm.Deal) error {
	r := refs{t: t}
	r.user("assigned_by_id", d.AssignedByID)
	r.check(r.exists("category_id", "SELECT 1 FROM pipelines WHERE id = $1", d.CategoryID), "category_id", "no pipeline with id %d", d.CategoryID)
	if r.err == nil {
		sem, err := stageSemantics(t, d.CategoryID, d.StageID)
		if err != nil {
			return err
		}
		d.Closed = sem == crm.SemanticsSuccess || sem == crm.SemanticsFailure
		d.Won = sem == crm.SemanticsSuccess
	}
	r.status("source_id", "SOURCE", d.SourceID)
	r.currency("currency", d.Currency)
	if old == nil || old.AccountID != d.AccountID {
		r.record("account_id", EntityAccount, d.AccountID)
	}
	if (old == nil || old.LeadID != d.LeadID) && d.LeadID != 0 {
		// A deal keeps pointing at its lead while that lead is in the
		// recycle bin, so any lead that exists will do.
		r.anyRecord("lead_id", EntityLead, d.LeadID)
	}
	for i, cid := range d.ContactIDs {
		if old != nil && slices.Contains(old.ContactIDs, cid) {
			continue // a link the deal has: kept, not judged again
		}
		r.record(fmt.Sprintf("contact_ids[%d]", i), EntityContact, cid)
	}
	r.items("product_rows", d.ProductRows)
	r.custom(EntityDeal, &d.Custom)
	return r.err
}

// stageSemantics returns the semantics of a pipeline's stage, or a
// FieldError on stage_id when the pipeline has no such stage.
func stageSemantics(t txq, categoryID int64, stageID string) (string, error) {
	var sem string
	entity := crm.StageEntityID(categoryID)
	err := t.q.QueryRowContext(t.ctx, "SELECT semantics FROM statuses WHERE entity_id = $1 AND status_id = $2", entity, stageID).Scan(&sem)
	if errors.Is(err, sql.ErrNoRows) {
		return "", crm.Invalid("stage_id", "%q is not a stage of pipeline %d (%s)", stageID, categoryID, entity)
	}
	if err != nil {
		return "", fmt.Errorf("store: check stage_id: %w", err)
	}
	return sem, nil
}

// CreateDeal validates and stores a new deal with its create event.
func (s *Store) CreateDeal(ctx context.Context, actor crm.Actor, d crm.Deal) (crm.Deal, error) {
	return createRecord(s, ctx, actor, EntityDeal, d, checkDeal, func(t *Tx, v *crm.Deal) error { return t.insertDeal(v) })
}

// insertDeal writes a new deal with its contact links, product rows,
// custom values and external ids. The caller has run checkDeal, stamped
// the meta and emits the event.
func (t *Tx) insertDeal(d *crm.Deal) error {
	err := t.tx.QueryRowContext(t.ctx, `INSERT INTO deals (title, category_id, stage_id, opportunity, currency, probability,
		account_id, lead_id, source_id, source_description, utm_source, utm_medium, utm_campaign, utm_content, utm_term,
		begin_date, close_date, closed, won, comments, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)
		RETURNING id`,
		d.Title, d.CategoryID, d.StageID, int64(d.Opportunity), d.Currency, d.Probability,
		d.AccountID, d.LeadID, d.SourceID, d.SourceDescription, d.UTMSource, d.UTMMedium, d.UTMCampaign, d.UTMContent, d.UTMTerm,
		d.BeginDate, d.CloseDate, d.Closed, d.Won, d.Comments, d.SearchText(), d.AssignedByID, d.CreatedByID, d.UpdatedByID,
		micro(d.CreatedAt), micro(d.UpdatedAt)).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("store: insert deal: %w", err)
	}
	if err := t.saveDealContacts(d.ID, d.ContactIDs, true); err != nil {
		return err
	}
	if err := t.saveItems(EntityDeal, d.ID, d.ProductRows, true); err != nil {
		return err
	}
	if err := t.saveCustom(EntityDeal, d.ID, d.Custom, true); err != nil {
		return err
	}
	return t.saveExternal(EntityDeal, d.ID, d.ExternalIDs, true)
}

// UpdateDeal loads a live deal, lets mutate change it, validates and
// stores the result with an update event naming the changed fields.
func (s *Store) UpdateDeal(ctx context.Context, actor crm.Actor, id int64, mutate func(*crm.Deal) error) (crm.Deal, error) {
	return updateRecord(s, ctx, actor, id, updateOps[crm.Deal]{
		entity: EntityDeal, get: dealLoader.get,
		check: checkDealChange,
		save:  func(t *Tx, old, cur *crm.Deal) error { return t.updateDeal(old, cur) },
	}, mutate)
}

func (t *Tx) updateDeal(old, d *crm.Deal) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE deals SET title = $1, category_id = $2, stage_id = $3, opportunity = $4, currency = $5,
		probability = $6, account_id = $7, lead_id = $8, source_id = $9, source_description = $10, utm_source = $11,
		utm_medium = $12, utm_campaign = $13, utm_content = $14, utm_term = $15, begin_date = $16, close_date = $17,
		closed = $18, won = $19, comments = $20, search = $21, assigned_by_id = $22, updated_by_id = $23, updated_at = $24
		WHERE id = $25`,
		d.Title, d.CategoryID, d.StageID, int64(d.Opportunity), d.Currency,
		d.Probability, d.AccountID, d.LeadID, d.SourceID, d.SourceDescription, d.UTMSource,
		d.UTMMedium, d.UTMCampaign, d.UTMContent, d.UTMTerm, d.BeginDate, d.CloseDate,
		d.Closed, d.Won, d.Comments, d.SearchText(), d.AssignedByID, d.UpdatedByID, micro(d.UpdatedAt), d.ID)
	if err != nil {
		return fmt.Errorf("store: update deal %d: %w", d.ID, err)
	}
	if !sameJSON(old.ContactIDs, d.ContactIDs) {
		if err := t.saveDealContacts(d.ID, d.ContactIDs, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.ProductRows, d.ProductRows) {
		if err := t.saveItems(EntityDeal, d.ID, d.ProductRows, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.Custom, d.Custom) {
		if err := t.saveCustom(EntityDeal, d.ID, d.Custom, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.ExternalIDs, d.ExternalIDs) {
		return t.saveExternal(EntityDeal, d.ID, d.ExternalIDs, false)
	}
	return nil
}
