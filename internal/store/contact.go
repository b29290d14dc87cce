package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/obmen/obmen/internal/crm"
)

// contactSpec has no account_id column: "linked to this account" goes
// through contact_accounts, which the generic list builder cannot express.
var contactSpec = spec{
	entity: EntityContact, table: "contacts", comms: true, requisites: true,
	relations: map[string]string{
		"account_id": "SELECT ca.contact_id FROM contact_accounts ca WHERE ca.account_id",
	},
	columns: map[string]Column{
		"name": {"name", KindText}, "last_name": {"last_name", KindText}, "second_name": {"second_name", KindText},
		"position": {"position", KindText}, "birthdate": {"birthdate", KindDate},
		"source_id": {"source_id", KindText}, "lead_id": {"lead_id", KindInt},
		"assigned_by_id": {"assigned_by_id", KindInt}, "created_by_id": {"created_by_id", KindInt},
		"created_at": {"created_at", KindTime}, "updated_at": {"updated_at", KindTime}, "deleted_at": {"deleted_at", KindTime},
	},
}

const contactColumns = `id, honorific, name, second_name, last_name, position, birthdate, address, other_address,
	source_id, source_description, comments, lead_id, assigned_by_id, created_by_id, updated_by_id,
	created_at, updated_at, deleted_at, deleted_by_id`

var contactLoader = loader[crm.Contact]{
	entity: EntityContact, name: "contact", table: "contacts", columns: contactColumns,
	meta:  func(c *crm.Contact) *crm.Meta { return &c.Meta },
	extra: func(c *crm.Contact) *crm.Extra { return &c.Extra },
	scan: func(rows rowScanner, c *crm.Contact) error {
		var address, other string
		var mt metaTimes
		if err := rows.Scan(&c.ID, &c.Honorific, &c.Name, &c.SecondName, &c.LastName, &c.Position, &c.Birthdate, &address, &other,
			&c.SourceID, &c.SourceDescription, &c.Comments, &c.LeadID, &c.AssignedByID, &c.CreatedByID, &c.UpdatedByID,
			&mt.created, &mt.updated, &mt.deleted, &c.DeletedByID); err != nil {
			return err
		}
		if err := fromJSON("contact address", address, &c.Address); err != nil {
			return err
		}
		if err := fromJSON("contact other_address", other, &c.OtherAddress); err != nil {
			return err
		}
		mt.set(&c.Meta)
		return nil
	},
	parts: []func(txq, []int64) (func(int64, *crm.Contact), error){
		commsPart(EntityContact, func(v *crm.Contact) *crm.Comms { return &v.Comms }),
		func(t txq, ids []int64) (func(int64, *crm.Contact), error) {
			accounts, err := loadContactAccounts(t, ids)
			return func(id int64, v *crm.Contact) { v.AccountIDs = accounts[id] }, err
		},
	},
	folds: append(extraFolds(EntityContact, func(c *crm.Contact) *crm.Extra { return &c.Extra }),
		commsFold(EntityContact, func(v *crm.Contact) *crm.Comms { return &v.Comms }),
		foldPart[crm.Contact]{
			// loadContactAccounts folded: live accounts, main one first.
			sql: `SELECT ca.contact_id, ca.sort, ca.account_id, NULL, NULL, NULL, NULL FROM contact_accounts ca
				JOIN accounts a ON a.id = ca.account_id
				WHERE a.deleted_at = 0 AND ca.contact_id IN (SELECT id FROM m)`,
			init: func(v *crm.Contact) { v.AccountIDs = []int64{} },
			put:  func(v *crm.Contact, r *foldRow) { v.AccountIDs = append(v.AccountIDs, r.s2) },
		}),
}

// loadContactAccounts returns the live accounts each contact is linked
// to, main one first. Links to accounts in the recycle bin stay stored but
// are not shown, so restoring the account brings the link back.
func loadContactAccounts(t txq, ids []int64) (map[int64][]int64, error) {
	out := make(map[int64][]int64, len(ids))
	for _, id := range ids {
		out[id] = []int64{}
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.q.QueryContext(t.ctx, `SELECT ca.contact_id, ca.account_id FROM contact_accounts ca
		JOIN accounts a ON a.id = ca.account_id
		WHERE a.deleted_at = 0 AND ca.contact_id IN (`+placeholders(1, len(ids))+`)
		ORDER BY ca.contact_id, ca.sort, ca.account_id`, int64Args(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: load contact accounts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cid, aid int64
		if err := rows.Scan(&cid, &aid); err != nil {
			return nil, fmt.Errorf("store: load contact accounts: %w", err)
		}
		out[cid] = append(out[cid], aid)
	}
	return out, rows.Err()
}

// saveContactAccounts makes the contact's live account links equal to ids,
// in that order, the first being the main one. Links to accounts in the
// recycle bin are kept, moved after the new list and no longer main.
func (t *Tx) saveContactAccounts(id int64, ids []int64, creating bool) error {
	if !creating {
		if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM contact_accounts WHERE contact_id = $1
			AND account_id IN (SELECT id FROM accounts WHERE deleted_at = 0)`, id); err != nil {
			return fmt.Errorf("store: contact %d: account links: %w", id, err)
		}
		if _, err := t.tx.ExecContext(t.ctx, "UPDATE contact_accounts SET sort = sort + $1, is_primary = FALSE WHERE contact_id = $2",
			len(ids), id); err != nil {
			return fmt.Errorf("store: contact %d: account links: %w", id, err)
		}
	}
	for i, aid := range ids {
		if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO contact_accounts (contact_id, account_id, sort, is_primary) VALUES ($1, $2, $3, $4)",
			id, aid, i, i == 0); err != nil {
			return fmt.Errorf("store: contact %d: link account %d: %w", id, aid, err)
		}
	}
	return nil
}

// GetContact returns a contact, live or in the recycle bin.
func (s *Store) GetContact(ctx context.Context, id int64) (crm.Contact, error) {
	v, err := contactLoader.get(s.rq(ctx), id)
	return scoped1(ctx, EntityContact, v, err)
}

// ListContacts returns a page of contacts.
func (s *Store) ListContacts(ctx context.Context, p ListParams) ([]crm.Contact, string, error) {
	return contactLoader.list(s, s.rq(ctx), contactSpec, p)
}

// checkContact validates what a contact refers to.
func checkContact(t txq, c *crm.Contact) error {
	return checkContactRefs(t, nil, c)
}

// checkContactRefs is checkContact for an update of old: a company link
// and a lead_id the contact already has are not judged again — the lead
// may have gone since the conversion that set it, and a link another user
// made may be to a company this request cannot see. Every link gained is
// checked as refs.record does (one a scoped request may not see answers
// as a missing one).
func checkContactRefs(t txq, old, c *crm.Contact) error {
	r := refs{t: t}
	r.user("assigned_by_id", c.AssignedByID)
	r.status("source_id", "SOURCE", c.SourceID)
	for _, aid := range c.AccountIDs {
		if old != nil && slices.Contains(old.AccountIDs, aid) {
			continue // a link the contact has: kept, not judged again
		}
		r.record("account_ids", EntityAccount, aid)
	}
	if c.LeadID != 0 && (old == nil || c.LeadID != old.LeadID) {
		r.anyRecord("lead_id", EntityLead, c.LeadID)
	}
	r.custom(EntityContact, &c.Custom)
	return r.err
}

// CreateContact validates and stores a new contact with its create event.
func (s *Store) CreateContact(ctx context.Context, actor crm.Actor, c crm.Contact) (crm.Contact, error) {
	return createRecord(s, ctx, actor, EntityContact, c, checkContact, func(t *Tx, v *crm.Contact) error { return t.insertContact(v) })
}

func (t *Tx) insertContact(c *crm.Contact) error {
	err := t.tx.QueryRowContext(t.ctx, `INSERT INTO contacts (honorific, name, second_name, last_name, position, birthdate,
		address, other_address, source_id, source_description, comments, lead_id, search,
		assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		RETURNING id`,
		c.Honorific, c.Name, c.SecondName, c.LastName, c.Position, c.Birthdate,
		jsonText(c.Address), jsonText(c.OtherAddress), c.SourceID, c.SourceDescription, c.Comments, c.LeadID, c.SearchText(),
		c.AssignedByID, c.CreatedByID, c.UpdatedByID, micro(c.CreatedAt), micro(c.UpdatedAt)).Scan(&c.ID)
	if err != nil {
		return fmt.Errorf("store: insert contact: %w", err)
	}
	if err := t.saveComms(EntityContact, c.ID, &c.Comms, true); err != nil {
		return err
	}
	if err := t.saveContactAccounts(c.ID, c.AccountIDs, true); err != nil {
		return err
	}
	if err := t.saveCustom(EntityContact, c.ID, c.Custom, true); err != nil {
		return err
	}
	return t.saveExternal(EntityContact, c.ID, c.ExternalIDs, true)
}

// UpdateContact loads a live contact, lets mutate change it, validates and
// stores the result with an update event naming the changed fields.
// mutate may reassign the contact (AssignedByID); the rest of Meta is kept.
func (s *Store) UpdateContact(ctx context.Context, actor crm.Actor, id int64, mutate func(*crm.Contact) error) (crm.Contact, error) {
	return updateRecord(s, ctx, actor, id, contactUpdate, mutate)
}

var contactUpdate = updateOps[crm.Contact]{
	entity: EntityContact, get: contactLoader.get,
	check: func(q txq, old, cur *crm.Contact) error { return checkContactRefs(q, old, cur) },
	save:  func(t *Tx, old, cur *crm.Contact) error { return t.updateContact(old, cur) },
}

// SetAccountContacts makes contactIDs the live contacts linked to an
// account, in one transaction: each contact lost or gained is updated
// (with its update event) or, on any error, none is. The link lives on
// the contact; a gained contact gets the account last among its accounts
// (first, its main one, when it had none).
func (s *Store) SetAccountContacts(ctx context.Context, actor crm.Actor, accountID int64, contactIDs []int64) error {
	return s.Write(ctx, actor, func(t *Tx) error {
		var live bool
		err := t.tx.QueryRowContext(t.ctx, "SELECT deleted_at = 0 FROM accounts WHERE id = $1", accountID).Scan(&live)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !live) {
			return NotFound(EntityAccount, accountID)
		}
		if err != nil {
			return fmt.Errorf("store: account %d: %w", accountID, err)
		}
		if err := editableID(t.rq(), EntityAccount, accountID); err != nil {
			return err
		}
		cur, err := accountContactIDs(t.rq(), accountID)
		if err != nil {
			return err
		}
		for _, cid := range cur {
			if slices.Contains(contactIDs, cid) {
				continue
			}
			if _, err := updateInTx(t, cid, contactUpdate, func(c *crm.Contact) error {
				c.AccountIDs = slices.DeleteFunc(c.AccountIDs, func(x int64) bool { return x == accountID })
				return nil
			}); err != nil {
				return err
			}
		}
		for _, cid := range contactIDs {
			if slices.Contains(cur, cid) {
				continue
			}
			if _, err := updateInTx(t, cid, contactUpdate, func(c *crm.Contact) error {
				if !slices.Contains(c.AccountIDs, accountID) {
					c.AccountIDs = append(c.AccountIDs, accountID)
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// AccountContactIDs are the live contacts linked to an account, by id.
func (s *Store) AccountContactIDs(ctx context.Context, accountID int64) ([]int64, error) {
	if err := allowedID(s.rq(ctx), EntityAccount, accountID); err != nil {
		return nil, err
	}
	return accountContactIDs(s.rq(ctx), accountID)
}

func accountContactIDs(q txq, accountID int64) ([]int64, error) {
	// The contacts the request may not see are left out (and a change of
	// the list leaves them linked).
	args := []any{accountID}
	mine := ""
	if c := ScopeCondition(q.ctx, EntityContact, "c", func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }); c != "" {
		mine = " AND " + c
	}
	rows, err := q.q.QueryContext(q.ctx, `SELECT ca.contact_id FROM contact_accounts ca
		JOIN contacts c ON c.id = ca.contact_id WHERE ca.account_id = $1 AND c.deleted_at = 0`+mine+` ORDER BY ca.contact_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: contacts of account %d: %w", accountID, err)
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: contacts of account %d: %w", accountID, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: contacts of account %d: %w", accountID, err)
	}
	return ids, nil
}

func (t *Tx) updateContact(old, c *crm.Contact) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE contacts SET honorific = $1, name = $2, second_name = $3, last_name = $4,
		position = $5, birthdate = $6, address = $7, other_address = $8, source_id = $9, source_description = $10,
		comments = $11, lead_id = $12, search = $13, assigned_by_id = $14, updated_by_id = $15, updated_at = $16
		WHERE id = $17`,
		c.Honorific, c.Name, c.SecondName, c.LastName, c.Position, c.Birthdate,
		jsonText(c.Address), jsonText(c.OtherAddress), c.SourceID, c.SourceDescription,
		c.Comments, c.LeadID, c.SearchText(), c.AssignedByID, c.UpdatedByID, micro(c.UpdatedAt), c.ID)
	if err != nil {
		return fmt.Errorf("store: update contact %d: %w", c.ID, err)
	}
	if !sameJSON(old.Comms, c.Comms) {
		if err := t.saveComms(EntityContact, c.ID, &c.Comms, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.AccountIDs, c.AccountIDs) {
		if err := t.saveContactAccounts(c.ID, c.AccountIDs, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.Custom, c.Custom) {
		if err := t.saveCustom(EntityContact, c.ID, c.Custom, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.ExternalIDs, c.ExternalIDs) {
		return t.saveExternal(EntityContact, c.ID, c.ExternalIDs, false)
	}
	return nil
}
