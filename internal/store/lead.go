package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
)

var leadSpec = spec{
	entity: EntityLead, table: "leads", comms: true,
	columns: map[string]Column{
		"title": {"title", KindText}, "name": {"name", KindText}, "second_name": {"second_name", KindText},
		"last_name": {"last_name", KindText}, "company_title": {"company_title", KindText},
		"source_id": {"source_id", KindText}, "status_id": {"status_id", KindText},
		"opportunity": {"opportunity", KindAmount}, "currency": {"currency", KindText},
		"utm_source": {"utm_source", KindText}, "utm_medium": {"utm_medium", KindText},
		"utm_campaign": {"utm_campaign", KindText}, "utm_content": {"utm_content", KindText}, "utm_term": {"utm_term", KindText},
		"ga_client_id": {"ga_client_id", KindText}, "ym_client_id": {"ym_client_id", KindText},
		"contact_id": {"contact_id", KindInt}, "account_id": {"account_id", KindInt}, "deal_id": {"deal_id", KindInt},
		"assigned_by_id": {"assigned_by_id", KindInt}, "created_by_id": {"created_by_id", KindInt},
		"created_at": {"created_at", KindTime}, "updated_at": {"updated_at", KindTime}, "deleted_at": {"deleted_at", KindTime},
	},
}

const leadColumns = `id, title, honorific, name, second_name, last_name, company_title, position, birthdate,
	source_id, source_description, status_id, status_description, opportunity, currency, comments,
	utm_source, utm_medium, utm_campaign, utm_content, utm_term, ga_client_id, ym_client_id, address,
	contact_id, account_id, deal_id, converted_at, assigned_by_id, created_by_id, updated_by_id,
	created_at, updated_at, deleted_at, deleted_by_id`

var leadLoader = loader[crm.Lead]{
	entity: EntityLead, name: "lead", table: "leads", columns: leadColumns,
	meta:  func(l *crm.Lead) *crm.Meta { return &l.Meta },
	extra: func(l *crm.Lead) *crm.Extra { return &l.Extra },
	scan: func(rows rowScanner, l *crm.Lead) error {
		var address string
		var converted int64
		var mt metaTimes
		if err := rows.Scan(&l.ID, &l.Title, &l.Honorific, &l.Name, &l.SecondName, &l.LastName, &l.CompanyTitle, &l.Position, &l.Birthdate,
			&l.SourceID, &l.SourceDescription, &l.StatusID, &l.StatusDescription, (*int64)(&l.Opportunity), &l.Currency, &l.Comments,
			&l.UTMSource, &l.UTMMedium, &l.UTMCampaign, &l.UTMContent, &l.UTMTerm, &l.GAClientID, &l.YMClientID, &address,
			&l.ContactID, &l.AccountID, &l.DealID, &converted, &l.AssignedByID, &l.CreatedByID, &l.UpdatedByID,
			&mt.created, &mt.updated, &mt.deleted, &l.DeletedByID); err != nil {
			return err
		}
		if err := fromJSON("lead address", address, &l.Address); err != nil {
			return err
		}
		l.ConvertedAt = optTime(converted)
		mt.set(&l.Meta)
		return nil
	},
	parts: []func(txq, []int64) (func(int64, *crm.Lead), error){
		commsPart(EntityLead, func(v *crm.Lead) *crm.Comms { return &v.Comms }),
		itemsPart(EntityLead, func(v *crm.Lead) *[]crm.LineItem { return &v.ProductRows }),
	},
	folds: append(extraFolds(EntityLead, func(v *crm.Lead) *crm.Extra { return &v.Extra }),
		commsFold(EntityLead, func(v *crm.Lead) *crm.Comms { return &v.Comms }),
		itemsFold(EntityLead, func(v *crm.Lead) *[]crm.LineItem { return &v.ProductRows })),
}

// GetLead returns a lead, live or in the recycle bin.
func (s *Store) GetLead(ctx context.Context, id int64) (crm.Lead, error) {
	get := leadLoader.get
	if s.folded() {
		get = leadLoader.foldGet
	}
	v, err := get(s.rq(ctx), id)
	return scoped1(ctx, EntityLead, v, err)
}

// ListLeads returns a page of leads.
func (s *Store) ListLeads(ctx context.Context, p ListParams) ([]crm.Lead, string, error) {
	return leadLoader.list(s, s.rq(ctx), leadSpec, p)
}

// checkLead validates what a lead refers to.
func checkLead(t txq, l *crm.Lead) error {
	r := refs{t: t}
	r.user("assigned_by_id", l.AssignedByID)
	r.status("status_id", "STATUS", l.StatusID)
	r.status("source_id", "SOURCE", l.SourceID)
	r.currency("currency", l.Currency)
	r.items("product_rows", l.ProductRows)
	r.custom(EntityLead, &l.Custom)
	return r.err
}

// CreateLead validates and stores a new lead with its create event.
func (s *Store) CreateLead(ctx context.Context, actor crm.Actor, l crm.Lead) (crm.Lead, error) {
	normExtra(&l.Extra)
	if err := l.Normalize(); err != nil {
		return l, err
	}
	s.matchAddresses(ctx, &l, nil)
	l.ContactID, l.AccountID, l.DealID, l.ConvertedAt = 0, 0, 0, nil
	if err := checkLead(s.rq(ctx), &l); err != nil {
		return l, err
	}
	// Lead creation is the hottest write (every web form, call and shop
	// order): stamp and compute the event's fields here, in the caller's
	// goroutine, so that the shared write transaction only runs SQL.
	stampNew(&l.Meta, actor, s.now())
	changes, err := events.CreateChanges(l)
	if err != nil {
		return l, err
	}
	check := commsCheckOf(ctx)
	if done, err := s.createLeadAlone(ctx, actor, &l, changes, check); done || err != nil {
		return l, err
	}
	if check != nil {
		found, err := s.CommsPresent(ctx, check.Probes)
		if err != nil {
			return l, err
		}
		check.Found, check.Done = found, true
	}
	err = s.Write(ctx, actor, func(t *Tx) error {
		owner := l.AssignedByID
		if err := t.insertLead(&l); err != nil {
			return err
		}
		if l.AssignedByID != owner { // distributed by the rules
			c, err := events.CreateChanges(l)
			if err != nil {
				return err
			}
			t.EmitEncoded(EntityLead, l.ID, events.Create, c)
			return nil
		}
		t.EmitEncoded(EntityLead, l.ID, events.Create, changes)
		return nil
	})
	return l, err
}

// createLeadAlone is CreateLead's write on PostgreSQL in one statement,
// for a plain lead — its row, its phones, e-mails, messengers and sites,
// its create event; no line items, custom values or external ids, not
// taken by a distribution rule, no idempotency key, not inside
// a joined transaction: then the inserts are CTEs of one statement, its
// own transaction, where Write took six round trips (BEGIN, three
// inserts, COMMIT; issue 21). done is false when the lead is not plain
// (the caller writes it as usual). The event is numbered at the
// statement's commit by the trigger of migration 0002, as any. A check
// (CommsCheck) is answered by the same statement.
func (s *Store) createLeadAlone(ctx context.Context, actor crm.Actor, l *crm.Lead, changes []byte, check *CommsCheck) (done bool, _ error) {
	if s.db.Dialect != db.Postgres || s.db.Joined(ctx) || s.beforeWrite != nil || s.afterAppend != nil ||
		len(l.ProductRows) > 0 || len(l.Custom) > 0 || len(l.ExternalIDs) > 0 {
		return false, nil
	}
	if _, ok := ctx.Value(idemKey{}).(Idempotency); ok {
		return false, nil
	}
	now := s.now().Truncate(time.Microsecond)
	if in, ok := intakeOf(ctx); ok {
		// A lead a distribution rule takes is written as usual (the rule's
		// turn is taken in its transaction).
		rules, err := listDistributionRules(s.rq(ctx), true)
		if err != nil {
			return true, err
		}
		for _, r := range rules {
			if r.Matches(in.Channel, in.FormID, l.SourceID, now) {
				return false, nil
			}
		}
	}
	args := leadInsertArgs(l)
	var b strings.Builder
	b.WriteString("WITH l AS (" + leadInsert + " RETURNING id)")
	fresh := newComms(&l.Comms)
	if len(fresh) > 0 {
		b.WriteString(",\nc AS (INSERT INTO comms (entity, record_id, kind, value, value_type, normalized, sort) SELECT 'lead', l.id, v.* FROM l, (VALUES ")
		for i, f := range fresh {
			if i > 0 {
				b.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&b, "($%d::text, $%d::text, $%d::text, $%d::text, $%d::bigint)", n+1, n+2, n+3, n+4, n+5)
			args = append(args, f.kind, f.it.Value, f.it.ValueType, f.it.Normalized, int64(f.sort))
		}
		b.WriteString(") v RETURNING id, sort)")
	}
	ev := &events.Event{Entity: EntityLead, Action: events.Create, Actor: actor.String(), ActorUserID: actor.UserID,
		Integration: actor.Integration, RunID: actor.RunID, CreatedAt: now, Encoded: changes}
	evSQL, evArgs, err := events.PostgresInsertFrom(ev, "l.id", "l", len(args))
	if err != nil {
		return true, err
	}
	args = append(args, evArgs...)
	b.WriteString(",\ne AS (" + evSQL + ")")
	found := "NULL::text"
	if check != nil && len(check.Probes) > 0 {
		// Not a writing CTE: it reads the statement's snapshot, in which
		// the lead and its comms inserted above are not yet there.
		q, pargs, err := commsPresentSQL(check.Probes, len(args))
		if err != nil {
			return true, err
		}
		args = append(args, pargs...)
		b.WriteString(",\np AS (SELECT string_agg(x::text, ',') AS found FROM (" + q + ") q (x))")
		found = "(SELECT found FROM p)"
	}
	if len(fresh) > 0 {
		b.WriteString("\nSELECT l.id, c.id, c.sort, " + found + " FROM l LEFT JOIN c ON TRUE")
	} else {
		b.WriteString("\nSELECT l.id, NULL::bigint, NULL::bigint, " + found + " FROM l")
	}
	rows, err := s.db.Read.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return true, fmt.Errorf("store: insert lead: %w", err)
	}
	defer rows.Close()
	bySort := map[int64]int64{}
	var hits sql.NullString
	for rows.Next() {
		var cid, sn sql.NullInt64
		if err := rows.Scan(&l.ID, &cid, &sn, &hits); err != nil {
			return true, fmt.Errorf("store: insert lead: %w", err)
		}
		bySort[sn.Int64] = cid.Int64
	}
	if err := rows.Err(); err != nil {
		return true, fmt.Errorf("store: insert lead: %w", err)
	}
	if err := rows.Close(); err != nil {
		return true, fmt.Errorf("store: insert lead: %w", err)
	}
	for _, f := range fresh {
		f.it.ID = bySort[int64(f.sort)]
	}
	if check != nil {
		check.Found = make([]bool, len(check.Probes))
		for v := range strings.SplitSeq(hits.String, ",") {
			if i, err := strconv.Atoi(v); err == nil && i >= 0 && i < len(check.Found) {
				check.Found[i] = true
			}
		}
		check.Done = true
	}
	s.logged(1)
	return true, nil
}

// leadInsert inserts a lead's row with leadInsertArgs ($1 … $29).
const leadInsert = `INSERT INTO leads (title, honorific, name, second_name, last_name, company_title, position, birthdate,
		source_id, source_description, status_id, status_description, opportunity, currency, comments,
		utm_source, utm_medium, utm_campaign, utm_content, utm_term, ga_client_id, ym_client_id, address,
		search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)`

func leadInsertArgs(l *crm.Lead) []any {
	return []any{l.Title, l.Honorific, l.Name, l.SecondName, l.LastName, l.CompanyTitle, l.Position, l.Birthdate,
		l.SourceID, l.SourceDescription, l.StatusID, l.StatusDescription, int64(l.Opportunity), l.Currency, l.Comments,
		l.UTMSource, l.UTMMedium, l.UTMCampaign, l.UTMContent, l.UTMTerm, l.GAClientID, l.YMClientID, jsonText(l.Address),
		l.SearchText(), l.AssignedByID, l.CreatedByID, l.UpdatedByID, micro(l.CreatedAt), micro(l.UpdatedAt)}
}

func (t *Tx) insertLead(l *crm.Lead) error {
	if err := t.distribute(l); err != nil {
		return err
	}
	err := t.tx.QueryRowContext(t.ctx, leadInsert+" RETURNING id", leadInsertArgs(l)...).Scan(&l.ID)
	if err != nil {
		return fmt.Errorf("store: insert lead: %w", err)
	}
	if err := t.saveComms(EntityLead, l.ID, &l.Comms, true); err != nil {
		return err
	}
	if err := t.saveItems(EntityLead, l.ID, l.ProductRows, true); err != nil {
		return err
	}
	if err := t.saveCustom(EntityLead, l.ID, l.Custom, true); err != nil {
		return err
	}
	return t.saveExternal(EntityLead, l.ID, l.ExternalIDs, true)
}

// UpdateLead loads a live lead, lets mutate change it, validates and
// stores the result with an update event naming the changed fields.
func (s *Store) UpdateLead(ctx context.Context, actor crm.Actor, id int64, mutate func(*crm.Lead) error) (crm.Lead, error) {
	return updateRecord(s, ctx, actor, id, updateOps[crm.Lead]{
		entity: EntityLead, get: leadLoader.get,
		check: func(q txq, _, cur *crm.Lead) error { return checkLead(q, cur) },
		save:  func(t *Tx, old, cur *crm.Lead) error { return t.updateLead(old, cur) },
	}, mutate)
}

func (t *Tx) updateLead(old, l *crm.Lead) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE leads SET title = $1, honorific = $2, name = $3, second_name = $4, last_name = $5,
		company_title = $6, position = $7, birthdate = $8, source_id = $9, source_description = $10, status_id = $11,
		status_description = $12, opportunity = $13, currency = $14, comments = $15, utm_source = $16, utm_medium = $17,
		utm_campaign = $18, utm_content = $19, utm_term = $20, ga_client_id = $21, ym_client_id = $22, address = $23,
		contact_id = $24, account_id = $25, deal_id = $26, converted_at = $27, search = $28, assigned_by_id = $29,
		updated_by_id = $30, updated_at = $31 WHERE id = $32`,
		l.Title, l.Honorific, l.Name, l.SecondName, l.LastName, l.CompanyTitle, l.Position, l.Birthdate,
		l.SourceID, l.SourceDescription, l.StatusID, l.StatusDescription, int64(l.Opportunity), l.Currency, l.Comments,
		l.UTMSource, l.UTMMedium, l.UTMCampaign, l.UTMContent, l.UTMTerm, l.GAClientID, l.YMClientID, jsonText(l.Address),
		l.ContactID, l.AccountID, l.DealID, optMicro(l.ConvertedAt), l.SearchText(), l.AssignedByID,
		l.UpdatedByID, micro(l.UpdatedAt), l.ID)
	if err != nil {
		return fmt.Errorf("store: update lead %d: %w", l.ID, err)
	}
	if !sameJSON(old.Comms, l.Comms) {
		if err := t.saveComms(EntityLead, l.ID, &l.Comms, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.ProductRows, l.ProductRows) {
		if err := t.saveItems(EntityLead, l.ID, l.ProductRows, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.Custom, l.Custom) {
		if err := t.saveCustom(EntityLead, l.ID, l.Custom, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.ExternalIDs, l.ExternalIDs) {
		return t.saveExternal(EntityLead, l.ID, l.ExternalIDs, false)
	}
	return nil
}
