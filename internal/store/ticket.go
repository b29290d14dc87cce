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

// loadTickets reads full tickets by id, in the order given; missing ids
// are left out.
func loadTickets(t txq, ids []int64) ([]crm.Ticket, error) {
	if len(ids) == 0 {
		return []crm.Ticket{}, nil
	}
	rows, err := t.q.QueryContext(t.ctx, "SELECT "+ticketColumns+" FROM tickets WHERE id IN ("+placeholders(1, len(ids))+")", int64Args(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: load tickets: %w", err)
	}
	defer rows.Close()
	byID := make(map[int64]*crm.Ticket, len(ids))
	for rows.Next() {
		var k crm.Ticket
		var created, updated, deleted int64
		if err := rows.Scan(&k.ID, &k.Title, &k.Status, &k.Priority, &k.Category, &k.AccountID, &k.ContactID, &k.Description,
			&k.AssignedByID, &k.CreatedByID, &k.UpdatedByID, &created, &updated, &deleted, &k.DeletedByID); err != nil {
			return nil, fmt.Errorf("store: load tickets: %w", err)
		}
		k.CreatedAt, k.UpdatedAt, k.DeletedAt = fromMicro(created), fromMicro(updated), optTime(deleted)
		byID[k.ID] = &k
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: load tickets: %w", err)
	}
	custom, err := loadCustom(t, EntityTicket, ids)
	if err != nil {
		return nil, err
	}
	ext, err := loadExternal(t, EntityTicket, ids)
	if err != nil {
		return nil, err
	}
	out := make([]crm.Ticket, 0, len(byID))
	for _, id := range ids {
		k, ok := byID[id]
		if !ok {
			continue
		}
		k.Custom = custom[id]
		k.ExternalIDs = ext[id]
		out = append(out, *k)
	}
	return out, nil
}

func getTicket(t txq, id int64) (crm.Ticket, error) {
	ks, err := loadTickets(t, []int64{id})
	if err != nil {
		return crm.Ticket{}, err
	}
	if len(ks) == 0 {
		return crm.Ticket{}, NotFound("ticket", id)
	}
	return ks[0], nil
}

// GetTicket returns a ticket, live or in the recycle bin.
func (s *Store) GetTicket(ctx context.Context, id int64) (crm.Ticket, error) {
	v, err := getTicket(s.rq(ctx), id)
	return scoped1(ctx, EntityTicket, v, err)
}

// ListTickets returns a page of tickets.
func (s *Store) ListTickets(ctx context.Context, p ListParams) ([]crm.Ticket, string, error) {
	page, err := s.listIDs(s.rq(ctx), ticketSpec, p)
	if err != nil {
		return nil, "", err
	}
	ks, err := loadTickets(s.rq(ctx), page.IDs)
	return ks, page.NextCursor, err
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
		entity: EntityTicket, get: getTicket,
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
