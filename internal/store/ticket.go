package store

import (
	"context"
	"fmt"

	"github.com/obmen/obmen/internal/crm"
)

var ticketSpec = spec{
	entity: EntityTicket, table: "tickets",
	columns: map[string]Column{
		"title": {"title", KindText}, "status": {"status", KindText}, "priority": {"priority", KindText},
		"category": {"category", KindText}, "account_id": {"account_id", KindInt}, "contact_id": {"contact_id", KindInt},
		"assigned_by_id": {"assigned_by_id", KindInt}, "created_by_id": {"created_by_id", KindInt},
		"created_at": {"created_at", KindTime}, "updated_at": {"updated_at", KindTime}, "deleted_at": {"deleted_at", KindTime},
	},
}

const ticketColumns = `id, title, status, priority, category, account_id, contact_id, description,
	assigned_by_id, created_by_id, updated_by_id, created_at, updated_at, deleted_at, deleted_by_id`

var ticketLoader = loader[crm.Ticket]{
	entity: EntityTicket, name: "ticket", table: "tickets", columns: ticketColumns,
	meta:  func(k *crm.Ticket) *crm.Meta { return &k.Meta },
	extra: func(k *crm.Ticket) *crm.Extra { return &k.Extra },
	scan: func(rows rowScanner, k *crm.Ticket) error {
		var mt metaTimes
		if err := rows.Scan(&k.ID, &k.Title, &k.Status, &k.Priority, &k.Category, &k.AccountID, &k.ContactID, &k.Description,
			&k.AssignedByID, &k.CreatedByID, &k.UpdatedByID, &mt.created, &mt.updated, &mt.deleted, &k.DeletedByID); err != nil {
			return err
		}
		mt.set(&k.Meta)
		return nil
	},
}

// GetTicket returns a ticket, live or in the recycle bin.
func (s *Store) GetTicket(ctx context.Context, id int64) (crm.Ticket, error) {
	v, err := ticketLoader.get(s.rq(ctx), id)
	return scoped1(ctx, EntityTicket, v, err)
}

// ListTickets returns a page of tickets.
func (s *Store) ListTickets(ctx context.Context, p ListParams) ([]crm.Ticket, string, error) {
	return ticketLoader.list(s, s.rq(ctx), ticketSpec, p)
}

// checkTicket validates what a ticket refers to.
func checkTicket(t txq, k *crm.Ticket) error {
	return checkTicketChange(t, nil, k)
}

// checkTicketChange is checkTicket for an update from old: an account or
// contact that has not changed is not checked again, so a ticket whose
// client went to the recycle bin can still be worked on and closed.
func checkTicketChange(t txq, old, k *crm.Ticket) error {
	r := refs{t: t}
	r.user("assigned_by_id", k.AssignedByID)
	r.status("status", "TICKET_STATUS", k.Status)
	if old == nil || old.AccountID != k.AccountID {
		r.record("account_id", EntityAccount, k.AccountID)
	}
	if old == nil || old.ContactID != k.ContactID {
		r.record("contact_id", EntityContact, k.ContactID)
	}
	r.custom(EntityTicket, &k.Custom)
	return r.err
}

// CreateTicket validates and stores a new ticket with its create event.
func (s *Store) CreateTicket(ctx context.Context, actor crm.Actor, k crm.Ticket) (crm.Ticket, error) {
	return createRecord(s, ctx, actor, EntityTicket, k, checkTicket, func(t *Tx, v *crm.Ticket) error { return t.insertTicket(v) })
}

func (t *Tx) insertTicket(k *crm.Ticket) error {
	err := t.tx.QueryRowContext(t.ctx, `INSERT INTO tickets (title, status, priority, category, account_id, contact_id, description,
		search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		k.Title, k.Status, k.Priority, k.Category, k.AccountID, k.ContactID, k.Description,
		k.SearchText(), k.AssignedByID, k.CreatedByID, k.UpdatedByID, micro(k.CreatedAt), micro(k.UpdatedAt)).Scan(&k.ID)
	if err != nil {
		return fmt.Errorf("store: insert ticket: %w", err)
	}
	if err := t.saveCustom(EntityTicket, k.ID, k.Custom, true); err != nil {
		return err
	}
	return t.saveExternal(EntityTicket, k.ID, k.ExternalIDs, true)
}

// UpdateTicket loads a live ticket, lets mutate change it, validates and
// stores the result with an update event naming the changed fields.
func (s *Store) UpdateTicket(ctx context.Context, actor crm.Actor, id int64, mutate func(*crm.Ticket) error) (crm.Ticket, error) {
	return updateRecord(s, ctx, actor, id, updateOps[crm.Ticket]{
		entity: EntityTicket, get: ticketLoader.get,
		check: checkTicketChange,
		save:  func(t *Tx, old, cur *crm.Ticket) error { return t.updateTicket(old, cur) },
	}, mutate)
}

func (t *Tx) updateTicket(old, k *crm.Ticket) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE tickets SET title = $1, status = $2, priority = $3, category = $4, account_id = $5,
		contact_id = $6, description = $7, search = $8, assigned_by_id = $9, updated_by_id = $10, updated_at = $11 WHERE id = $12`,
		k.Title, k.Status, k.Priority, k.Category, k.AccountID, k.ContactID, k.Description,
		k.SearchText(), k.AssignedByID, k.UpdatedByID, micro(k.UpdatedAt), k.ID)
	if err != nil {
		return fmt.Errorf("store: update ticket %d: %w", k.ID, err)
	}
	if !sameJSON(old.Custom, k.Custom) {
		if err := t.saveCustom(EntityTicket, k.ID, k.Custom, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.ExternalIDs, k.ExternalIDs) {
		return t.saveExternal(EntityTicket, k.ID, k.ExternalIDs, false)
	}
	return nil
}
