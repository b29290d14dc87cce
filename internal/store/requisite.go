package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
)

// Requisites belong to an account or a contact (migration 0005). A write
// of a requisite or of one of its bank details is logged as an update of
// its owner naming "requisites", with the owner's whole list before and
// after, so that a sync of accounts and contacts sees it; the owner's
// updated_at moves too.

const requisiteColumns = `id, entity, record_id, preset_id, name, active, sort, xml_id, inn, kpp, ogrn, ogrnip, okpo,
	company_name, company_full_name, director, accountant, first_name, last_name, second_name, address,
	created_by_id, updated_by_id, created_at, updated_at`

// requisiteOwner is the entity and id a requisite belongs to.
func requisiteOwner(r *crm.Requisite) (string, int64) {
	if r.ContactID != 0 {
		return EntityContact, r.ContactID
	}
	return EntityAccount, r.AccountID
}

// queryRequisites reads the requisites a condition on r selects, ordered
// by owner, sort and id, with their bank details ordered by sort and id.
func queryRequisites(t txq, where string, args ...any) ([]crm.Requisite, error) {
	rows, err := t.q.QueryContext(t.ctx, "SELECT "+requisiteColumns+" FROM requisites r WHERE "+where+" ORDER BY r.entity, r.record_id, r.sort, r.id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: load requisites: %w", err)
	}
	defer rows.Close()
	var all []crm.Requisite
	index := map[int64]int{}
	for rows.Next() {
		var r crm.Requisite
		var entity, address string
		var owner, created, updated int64
		var active bool
		if err := rows.Scan(&r.ID, &entity, &owner, &r.PresetID, &r.Name, &active, &r.Sort, &r.XMLID, &r.INN, &r.KPP, &r.OGRN, &r.OGRNIP, &r.OKPO,
			&r.ShortName, &r.FullName, &r.Director, &r.Accountant, &r.FirstName, &r.LastName, &r.SecondName, &address,
			&r.CreatedByID, &r.UpdatedByID, &created, &updated); err != nil {
			return nil, fmt.Errorf("store: load requisites: %w", err)
		}
		if entity == EntityContact {
			r.ContactID = owner
		} else {
			r.AccountID = owner
		}
		r.Inactive = !active
		r.CreatedAt, r.UpdatedAt = fromMicro(created), fromMicro(updated)
		if err := fromJSON("requisite address", address, &r.Address); err != nil {
			return nil, err
		}
		r.BankDetails = []crm.BankDetail{}
		index[r.ID] = len(all)
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: load requisites: %w", err)
	}
	rows.Close()
	if len(all) == 0 {
		return all, nil
	}
	ids := make([]int64, len(all))
	for i, r := range all {
		ids[i] = r.ID
	}
	brows, err := t.q.QueryContext(t.ctx, `SELECT id, requisite_id, name, active, sort, xml_id, bik, bank, bank_address, account, corr_account,
		currency, comments, created_by_id, updated_by_id, created_at, updated_at
		FROM bank_details WHERE requisite_id IN (`+placeholders(1, len(ids))+`) ORDER BY requisite_id, sort, id`, int64Args(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: load bank details: %w", err)
	}
	defer brows.Close()
	for brows.Next() {
		var b crm.BankDetail
		var rid, created, updated int64
		var active bool
		if err := brows.Scan(&b.ID, &rid, &b.Name, &active, &b.Sort, &b.XMLID, &b.BIK, &b.Bank, &b.BankAddress, &b.Account, &b.CorrAccount,
			&b.Currency, &b.Comments, &b.CreatedByID, &b.UpdatedByID, &created, &updated); err != nil {
			return nil, fmt.Errorf("store: load bank details: %w", err)
		}
		b.Inactive = !active
		b.CreatedAt, b.UpdatedAt = fromMicro(created), fromMicro(updated)
		r := &all[index[rid]]
		r.BankDetails = append(r.BankDetails, b)
	}
	if err := brows.Err(); err != nil {
		return nil, fmt.Errorf("store: load bank details: %w", err)
	}
	brows.Close()
	return all, loadRequisiteAddresses(t, all, index, ids)
}

// loadRequisiteAddresses fills the typed addresses of the requisites
// (index maps an id to its place in all).
func loadRequisiteAddresses(t txq, all []crm.Requisite, index map[int64]int, ids []int64) error {
	for i := range all {
		all[i].Addresses = []crm.RequisiteAddress{}
	}
	rows, err := t.q.QueryContext(t.ctx, `SELECT requisite_id, type_id, address_1, address_2, city, postal_code, region, province, country,
		country_code, loc_addr_id FROM requisite_addresses WHERE requisite_id IN (`+placeholders(1, len(ids))+`) ORDER BY requisite_id, type_id`,
		int64Args(ids)...)
	if err != nil {
		return fmt.Errorf("store: load requisite addresses: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a crm.RequisiteAddress
		var rid int64
		if err := rows.Scan(&rid, &a.TypeID, &a.Address1, &a.Address2, &a.City, &a.PostalCode, &a.Region, &a.Province, &a.Country,
			&a.CountryCode, &a.LocAddrID); err != nil {
			return fmt.Errorf("store: load requisite addresses: %w", err)
		}
		r := &all[index[rid]]
		r.Addresses = append(r.Addresses, a)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: load requisite addresses: %w", err)
	}
	return nil
}

// saveRequisiteAddresses makes a requisite's typed addresses (old as
// stored) equal to as; a type's row keeps its id while the type stays.
func (t *Tx) saveRequisiteAddresses(requisiteID int64, old, as []crm.RequisiteAddress) error {
	prev := map[int64]crm.RequisiteAddress{}
	for _, a := range old {
		prev[a.TypeID] = a
	}
	for _, a := range as {
		p, had := prev[a.TypeID]
		delete(prev, a.TypeID)
		var err error
		switch {
		case had && p == a:
			continue
		case had:
			_, err = t.tx.ExecContext(t.ctx, `UPDATE requisite_addresses SET address_1 = $1, address_2 = $2, city = $3, postal_code = $4,
				region = $5, province = $6, country = $7, country_code = $8, loc_addr_id = $9 WHERE requisite_id = $10 AND type_id = $11`,
				a.Address1, a.Address2, a.City, a.PostalCode, a.Region, a.Province, a.Country, a.CountryCode, a.LocAddrID, requisiteID, a.TypeID)
		default:
			_, err = t.tx.ExecContext(t.ctx, `INSERT INTO requisite_addresses (requisite_id, type_id, address_1, address_2, city, postal_code,
				region, province, country, country_code, loc_addr_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				requisiteID, a.TypeID, a.Address1, a.Address2, a.City, a.PostalCode, a.Region, a.Province, a.Country, a.CountryCode, a.LocAddrID)
		}
		if err != nil {
			return fmt.Errorf("store: requisite %d: save address of type %d: %w", requisiteID, a.TypeID, err)
		}
	}
	for typeID := range prev {
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM requisite_addresses WHERE requisite_id = $1 AND type_id = $2", requisiteID, typeID); err != nil {
			return fmt.Errorf("store: requisite %d: delete address of type %d: %w", requisiteID, typeID, err)
		}
	}
	return nil
}

// loadRequisites returns the requisites of the given accounts or
// contacts, each list ordered by sort and id (the first is the default).
func loadRequisites(t txq, entity string, ids []int64) (map[int64][]crm.Requisite, error) {
	out := make(map[int64][]crm.Requisite, len(ids))
	for _, id := range ids {
		out[id] = []crm.Requisite{}
	}
	if len(ids) == 0 {
		return out, nil
	}
	all, err := queryRequisites(t, "r.entity = $1 AND r.record_id IN ("+placeholders(2, len(ids))+")", append([]any{entity}, int64Args(ids)...)...)
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		_, owner := requisiteOwner(&r)
		out[owner] = append(out[owner], r)
	}
	return out, nil
}

// getRequisite returns one requisite with its bank details.
func getRequisite(t txq, id int64) (crm.Requisite, error) {
	all, err := queryRequisites(t, "r.id = $1", id)
	if err != nil {
		return crm.Requisite{}, err
	}
	if len(all) == 0 {
		return crm.Requisite{}, NotFound("requisite", id)
	}
	// A requisite is seen and changed by whoever may see its owner.
	entity, owner := requisiteOwner(&all[0])
	if err := allowedID(t, entity, owner); err != nil {
		return crm.Requisite{}, NotFound("requisite", id)
	}
	return all[0], nil
}

// GetRequisite returns a requisite with its bank details.
func (s *Store) GetRequisite(ctx context.Context, id int64) (crm.Requisite, error) {
	return getRequisite(s.rq(ctx), id)
}

// ListRequisites returns the requisites of an account (live or in the
// recycle bin), the default first.
func (s *Store) ListRequisites(ctx context.Context, accountID int64) ([]crm.Requisite, error) {
	return s.RequisitesOf(ctx, EntityAccount, accountID)
}

// RequisitesOf returns the requisites of an account or a contact (live or
// in the recycle bin), the default first.
func (s *Store) RequisitesOf(ctx context.Context, entity string, id int64) ([]crm.Requisite, error) {
	if entity != EntityAccount && entity != EntityContact {
		return nil, fmt.Errorf("store: %s records have no requisites", entity)
	}
	t := s.rq(ctx)
	if err := allowedID(t, entity, id); err != nil {
		return nil, err
	}
	var one int
	err := t.q.QueryRowContext(t.ctx, "SELECT 1 FROM "+entityTables[entity]+" WHERE id = $1", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, NotFound(entity, id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: requisites of %s %d: %w", entity, id, err)
	}
	reqs, err := loadRequisites(t, entity, []int64{id})
	if err != nil {
		return nil, err
	}
	return reqs[id], nil
}

// CreateRequisite adds a requisite with its bank details to a live
// account.
func (s *Store) CreateRequisite(ctx context.Context, actor crm.Actor, accountID int64, r crm.Requisite) (crm.Requisite, error) {
	r.AccountID, r.ContactID = accountID, 0
	return s.AddRequisite(ctx, actor, r)
}

// AddRequisite adds a requisite with its bank details to the live account
// or contact it names (AccountID or ContactID, not both).
func (s *Store) AddRequisite(ctx context.Context, actor crm.Actor, r crm.Requisite) (crm.Requisite, error) {
	switch {
	case r.AccountID != 0 && r.ContactID != 0:
		return r, crm.Invalid("contact_id", "a requisite belongs to an account or to a contact, not both")
	case r.AccountID < 0 || (r.AccountID == 0 && r.ContactID <= 0):
		return r, crm.Invalid("account_id", "the account or contact the requisite belongs to is required")
	}
	crm.SyncLegalAddress(&crm.Requisite{}, &r)
	if err := r.Normalize(); err != nil {
		return r, err
	}
	r.ID = 0
	entity, owner := requisiteOwner(&r)
	err := s.Write(ctx, actor, func(t *Tx) error {
		return t.changeRequisites(entity, owner, func() error {
			err := t.tx.QueryRowContext(t.ctx, `INSERT INTO requisites (entity, record_id, preset_id, name, active, sort, xml_id, inn, kpp, ogrn, ogrnip, okpo,
				company_name, company_full_name, director, accountant, first_name, last_name, second_name, address,
				created_by_id, updated_by_id, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24) RETURNING id`,
				entity, owner, r.PresetID, r.Name, !r.Inactive, r.Sort, r.XMLID, r.INN, r.KPP, r.OGRN, r.OGRNIP, r.OKPO,
				r.ShortName, r.FullName, r.Director, r.Accountant, r.FirstName, r.LastName, r.SecondName, jsonText(r.Address),
				t.actor.UserID, t.actor.UserID, micro(t.now), micro(t.now)).Scan(&r.ID)
			if err != nil {
				return fmt.Errorf("store: insert requisite of %s %d: %w", entity, owner, err)
			}
			if err := t.saveBankDetails(r.ID, nil, r.BankDetails); err != nil {
				return err
			}
			if err := t.saveRequisiteAddresses(r.ID, nil, r.Addresses); err != nil {
				return err
			}
			r, err = getRequisite(t.rq(), r.ID)
			return err
		})
	})
	return r, err
}

// UpdateRequisite replaces a requisite's fields and bank details. Bank
// details that carry the id of one of the requisite's rows keep it; the
// owner does not change. Typed addresses are replaced when r has them
// (an empty list removes them all) and kept when it has none (nil: a
// client that does not know them).
func (s *Store) UpdateRequisite(ctx context.Context, actor crm.Actor, id int64, r crm.Requisite) (crm.Requisite, error) {
	return s.ChangeRequisite(ctx, actor, id, func(cur *crm.Requisite) error {
		addrs := cur.Addresses
		*cur = r
		if r.Addresses == nil {
			cur.Addresses = addrs
		}
		return nil
	})
}

// ChangeRequisite loads a requisite, lets mutate change it (bank details
// included) and stores the result. The id, the owner and the creation
// stamps are kept whatever mutate does; a change that changes nothing
// writes nothing.
func (s *Store) ChangeRequisite(ctx context.Context, actor crm.Actor, id int64, mutate func(*crm.Requisite) error) (crm.Requisite, error) {
	var out crm.Requisite
	err := s.Write(ctx, actor, func(t *Tx) error {
		old, err := getRequisite(t.rq(), id)
		if err != nil {
			return err
		}
		cur, err := clone(old)
		if err != nil {
			return err
		}
		if err := mutate(&cur); err != nil {
			return err
		}
		cur.ID, cur.AccountID, cur.ContactID, cur.RecordTimes = old.ID, old.AccountID, old.ContactID, old.RecordTimes
		crm.SyncLegalAddress(&old, &cur)
		if err := cur.Normalize(); err != nil {
			return err
		}
		entity, owner := requisiteOwner(&old)
		return t.changeRequisites(entity, owner, func() error {
			if !sameJSON(requisiteRow(old), requisiteRow(cur)) {
				if _, err := t.tx.ExecContext(t.ctx, `UPDATE requisites SET preset_id = $1, name = $2, active = $3, sort = $4, xml_id = $5,
					inn = $6, kpp = $7, ogrn = $8, ogrnip = $9, okpo = $10, company_name = $11, company_full_name = $12, director = $13,
					accountant = $14, first_name = $15, last_name = $16, second_name = $17, address = $18, updated_by_id = $19, updated_at = $20
					WHERE id = $21`,
					cur.PresetID, cur.Name, !cur.Inactive, cur.Sort, cur.XMLID, cur.INN, cur.KPP, cur.OGRN, cur.OGRNIP, cur.OKPO,
					cur.ShortName, cur.FullName, cur.Director, cur.Accountant, cur.FirstName, cur.LastName, cur.SecondName, jsonText(cur.Address),
					t.actor.UserID, micro(t.now), id); err != nil {
					return fmt.Errorf("store: update requisite %d: %w", id, err)
				}
			}
			if err := t.saveBankDetails(id, old.BankDetails, cur.BankDetails); err != nil {
				return err
			}
			if err := t.saveRequisiteAddresses(id, old.Addresses, cur.Addresses); err != nil {
				return err
			}
			out, err = getRequisite(t.rq(), id)
			return err
		})
	})
	return out, err
}

// requisiteRow is what the requisites row holds of r: r without its bank
// details and stamps.
func requisiteRow(r crm.Requisite) crm.Requisite {
	r.BankDetails, r.Addresses, r.RecordTimes = nil, nil, crm.RecordTimes{}
	return r
}

// DeleteRequisite removes a requisite and its bank details for good.
func (s *Store) DeleteRequisite(ctx context.Context, actor crm.Actor, id int64) error {
	return s.Write(ctx, actor, func(t *Tx) error {
		old, err := getRequisite(t.rq(), id)
		if err != nil {
			return err
		}
		entity, owner := requisiteOwner(&old)
		return t.changeRequisites(entity, owner, func() error {
			if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM bank_details WHERE requisite_id = $1", id); err != nil {
				return fmt.Errorf("store: delete requisite %d: %w", id, err)
			}
			if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM requisite_addresses WHERE requisite_id = $1", id); err != nil {
				return fmt.Errorf("store: delete requisite %d: %w", id, err)
			}
			if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM requisites WHERE id = $1", id); err != nil {
				return fmt.Errorf("store: delete requisite %d: %w", id, err)
			}
			return nil
		})
	})
}

// bankDetailRequisite returns the requisite a bank detail belongs to.
func bankDetailRequisite(t txq, id int64) (int64, error) {
	var rid int64
	err := t.q.QueryRowContext(t.ctx, "SELECT requisite_id FROM bank_details WHERE id = $1", id).Scan(&rid)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, NotFound("bank detail", id)
	}
	if err != nil {
		return 0, fmt.Errorf("store: bank detail %d: %w", id, err)
	}
	return rid, nil
}

// GetBankDetail returns a bank detail and the id of its requisite.
func (s *Store) GetBankDetail(ctx context.Context, id int64) (crm.BankDetail, int64, error) {
	t := s.rq(ctx)
	rid, err := bankDetailRequisite(t, id)
	if err != nil {
		return crm.BankDetail{}, 0, err
	}
	r, err := getRequisite(t, rid)
	if err != nil {
		return crm.BankDetail{}, 0, err
	}
	for _, b := range r.BankDetails {
		if b.ID == id {
			return b, rid, nil
		}
	}
	return crm.BankDetail{}, 0, NotFound("bank detail", id)
}

// AddBankDetail adds a bank detail to a requisite.
func (s *Store) AddBankDetail(ctx context.Context, actor crm.Actor, requisiteID int64, b crm.BankDetail) (crm.BankDetail, error) {
	b.ID = 0
	r, err := s.ChangeRequisite(ctx, actor, requisiteID, func(r *crm.Requisite) error {
		// Validated here first, so that errors name the field without
		// the list's index.
		if err := b.Normalize(); err != nil {
			return err
		}
		r.BankDetails = append(r.BankDetails, b)
		return nil
	})
	if err != nil {
		return b, err
	}
	// Ids only grow: the new row has the largest.
	var out crm.BankDetail
	for _, x := range r.BankDetails {
		if x.ID > out.ID {
			out = x
		}
	}
	return out, nil
}

// ChangeBankDetail lets mutate change a bank detail and stores it.
func (s *Store) ChangeBankDetail(ctx context.Context, actor crm.Actor, id int64, mutate func(*crm.BankDetail) error) (crm.BankDetail, error) {
	rid, err := bankDetailRequisite(s.rq(ctx), id)
	if err != nil {
		return crm.BankDetail{}, err
	}
	r, err := s.ChangeRequisite(ctx, actor, rid, func(r *crm.Requisite) error {
		i := slices.IndexFunc(r.BankDetails, func(b crm.BankDetail) bool { return b.ID == id })
		if i < 0 {
			return NotFound("bank detail", id) // moved away meanwhile
		}
		if err := mutate(&r.BankDetails[i]); err != nil {
			return err
		}
		r.BankDetails[i].ID = id
		if err := r.BankDetails[i].Normalize(); err != nil {
			return err // named without the list's index
		}
		return nil
	})
	if err != nil {
		return crm.BankDetail{}, err
	}
	for _, b := range r.BankDetails {
		if b.ID == id {
			return b, nil
		}
	}
	return crm.BankDetail{}, NotFound("bank detail", id)
}

// DeleteBankDetail removes a bank detail.
func (s *Store) DeleteBankDetail(ctx context.Context, actor crm.Actor, id int64) error {
	rid, err := bankDetailRequisite(s.rq(ctx), id)
	if err != nil {
		return err
	}
	_, err = s.ChangeRequisite(ctx, actor, rid, func(r *crm.Requisite) error {
		n := len(r.BankDetails)
		r.BankDetails = slices.DeleteFunc(r.BankDetails, func(b crm.BankDetail) bool { return b.ID == id })
		if len(r.BankDetails) == n {
			return NotFound("bank detail", id)
		}
		return nil
	})
	return err
}

// changeRequisites runs fn, which changes the requisites of a live account
// or contact, and records it as an update of the owner with the lists
// before and after under "requisites". A change that changes nothing
// records nothing.
func (t *Tx) changeRequisites(entity string, owner int64, fn func() error) error {
	// Whoever may change the owner changes its requisites, judged in the
	// write's transaction.
	if err := editableID(t.rq(), entity, owner); err != nil {
		return err
	}
	table := entityTables[entity]
	var deleted int64
	err := t.tx.QueryRowContext(t.ctx, "SELECT deleted_at FROM "+table+" WHERE id = $1", owner).Scan(&deleted)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && deleted != 0) {
		return NotFound(entity, owner)
	}
	if err != nil {
		return fmt.Errorf("store: %s %d: %w", entity, owner, err)
	}
	before, err := loadRequisites(t.rq(), entity, []int64{owner})
	if err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	after, err := loadRequisites(t.rq(), entity, []int64{owner})
	if err != nil {
		return err
	}
	old, cur := before[owner], after[owner]
	if sameJSON(old, cur) {
		return nil
	}
	if _, err := t.tx.ExecContext(t.ctx, "UPDATE "+table+" SET updated_at = $1, updated_by_id = $2 WHERE id = $3",
		micro(t.now), t.actor.UserID, owner); err != nil {
		return fmt.Errorf("store: %s %d: %w", entity, owner, err)
	}
	t.Emit(entity, owner, events.Update, map[string]events.Change{
		"requisites": {Old: jsonRaw(old), New: jsonRaw(cur)},
	})
	return nil
}

// saveBankDetails makes a requisite's bank details (old as stored) equal
// to bs, filling in the ids of new rows. Items that carry the id of one of
// the requisite's rows keep it; unchanged rows are not written.
func (t *Tx) saveBankDetails(requisiteID int64, old, bs []crm.BankDetail) error {
	existing := map[int64]crm.BankDetail{}
	for _, b := range old {
		existing[b.ID] = b
	}
	kept := map[int64]bool{}
	for i := range bs {
		b := &bs[i]
		if prev, ok := existing[b.ID]; ok && b.ID != 0 && !kept[b.ID] {
			kept[b.ID] = true
			b.RecordTimes = prev.RecordTimes
			if sameJSON(*b, prev) {
				continue
			}
			if _, err := t.tx.ExecContext(t.ctx, `UPDATE bank_details SET name = $1, active = $2, sort = $3, xml_id = $4, bik = $5, bank = $6,
				bank_address = $7, account = $8, corr_account = $9, currency = $10, comments = $11, updated_by_id = $12, updated_at = $13 WHERE id = $14`,
				b.Name, !b.Inactive, b.Sort, b.XMLID, b.BIK, b.Bank, b.BankAddress, b.Account, b.CorrAccount, b.Currency, b.Comments,
				t.actor.UserID, micro(t.now), b.ID); err != nil {
				return fmt.Errorf("store: requisite %d: update bank detail %d: %w", requisiteID, b.ID, err)
			}
			continue
		}
		if err := t.tx.QueryRowContext(t.ctx, `INSERT INTO bank_details (requisite_id, name, active, sort, xml_id, bik, bank, bank_address,
			account, corr_account, currency, comments, created_by_id, updated_by_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
			requisiteID, b.Name, !b.Inactive, b.Sort, b.XMLID, b.BIK, b.Bank, b.BankAddress, b.Account, b.CorrAccount, b.Currency, b.Comments,
			t.actor.UserID, t.actor.UserID, micro(t.now), micro(t.now)).Scan(&b.ID); err != nil {
			return fmt.Errorf("store: requisite %d: insert bank detail: %w", requisiteID, err)
		}
	}
	for id := range existing {
		if !kept[id] {
			if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM bank_details WHERE id = $1", id); err != nil {
				return fmt.Errorf("store: requisite %d: delete bank detail %d: %w", requisiteID, id, err)
			}
		}
	}
	return nil
}

// GetRequisiteAddress returns the typed address with the given row id
// (requisite_addresses.id, the order of crm.address.list) and its
// requisite.
func (s *Store) GetRequisiteAddress(ctx context.Context, id int64) (crm.RequisiteAddress, crm.Requisite, error) {
	t := s.rq(ctx)
	var rid, typeID int64
	err := t.q.QueryRowContext(t.ctx, "SELECT requisite_id, type_id FROM requisite_addresses WHERE id = $1", id).Scan(&rid, &typeID)
	if errors.Is(err, sql.ErrNoRows) {
		return crm.RequisiteAddress{}, crm.Requisite{}, NotFound("requisite address", id)
	}
	if err != nil {
		return crm.RequisiteAddress{}, crm.Requisite{}, fmt.Errorf("store: requisite address %d: %w", id, err)
	}
	r, err := getRequisite(t, rid)
	if err != nil {
		return crm.RequisiteAddress{}, crm.Requisite{}, err
	}
	a, ok := r.AddressOf(typeID)
	if !ok {
		return a, r, NotFound("requisite address", id) // removed meanwhile
	}
	return a, r, nil
}
