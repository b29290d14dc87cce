package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
)

// loadRequisites returns the requisites of the given accounts, each list
// ordered by id (the first is the default), with their bank details
// ordered by id.
func loadRequisites(t txq, accountIDs []int64) (map[int64][]crm.Requisite, error) {
	out := make(map[int64][]crm.Requisite, len(accountIDs))
	for _, id := range accountIDs {
		out[id] = []crm.Requisite{}
	}
	if len(accountIDs) == 0 {
		return out, nil
	}
	in := placeholders(1, len(accountIDs))
	args := int64Args(accountIDs)
	rows, err := t.q.QueryContext(t.ctx, "SELECT id, account_id, name, full_name, inn, kpp, ogrn, address FROM requisites WHERE account_id IN ("+in+") ORDER BY account_id, id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: load requisites: %w", err)
	}
	defer rows.Close()
	var all []crm.Requisite
	for rows.Next() {
		var r crm.Requisite
		var address string
		if err := rows.Scan(&r.ID, &r.AccountID, &r.Name, &r.FullName, &r.INN, &r.KPP, &r.OGRN, &address); err != nil {
			return nil, fmt.Errorf("store: load requisites: %w", err)
		}
		if err := fromJSON("requisite address", address, &r.Address); err != nil {
			return nil, err
		}
		r.BankDetails = []crm.BankDetail{}
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: load requisites: %w", err)
	}
	rows.Close()
	if len(all) == 0 {
		return out, nil
	}
	banks := map[int64][]crm.BankDetail{}
	brows, err := t.q.QueryContext(t.ctx, `SELECT id, requisite_id, name, bik, bank, account, corr_account FROM bank_details
		WHERE requisite_id IN (SELECT id FROM requisites WHERE account_id IN (`+in+`)) ORDER BY requisite_id, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: load bank details: %w", err)
	}
	defer brows.Close()
	for brows.Next() {
		var b crm.BankDetail
		var rid int64
		if err := brows.Scan(&b.ID, &rid, &b.Name, &b.BIK, &b.Bank, &b.Account, &b.CorrAccount); err != nil {
			return nil, fmt.Errorf("store: load bank details: %w", err)
		}
		banks[rid] = append(banks[rid], b)
	}
	if err := brows.Err(); err != nil {
		return nil, fmt.Errorf("store: load bank details: %w", err)
	}
	for _, r := range all {
		if b, ok := banks[r.ID]; ok {
			r.BankDetails = b
		}
		out[r.AccountID] = append(out[r.AccountID], r)
	}
	return out, nil
}

// getRequisite returns one requisite with its bank details.
func getRequisite(t txq, id int64) (crm.Requisite, error) {
	var accountID int64
	err := t.q.QueryRowContext(t.ctx, "SELECT account_id FROM requisites WHERE id = $1", id).Scan(&accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return crm.Requisite{}, NotFound("requisite", id)
	}
	if err != nil {
		return crm.Requisite{}, fmt.Errorf("store: requisite %d: %w", id, err)
	}
	reqs, err := loadRequisites(t, []int64{accountID})
	if err != nil {
		return crm.Requisite{}, err
	}
	for _, r := range reqs[accountID] {
		if r.ID == id {
			return r, nil
		}
	}
	return crm.Requisite{}, NotFound("requisite", id)
}

// ListRequisites returns the requisites of an account (live or in the
// recycle bin), the default first.
func (s *Store) ListRequisites(ctx context.Context, accountID int64) ([]crm.Requisite, error) {
	t := s.rq(ctx)
	var one int
	err := t.q.QueryRowContext(t.ctx, "SELECT 1 FROM accounts WHERE id = $1", accountID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, NotFound("account", accountID)
	}
	if err != nil {
		return nil, fmt.Errorf("store: requisites of account %d: %w", accountID, err)
	}
	reqs, err := loadRequisites(t, []int64{accountID})
	if err != nil {
		return nil, err
	}
	return reqs[accountID], nil
}

// CreateRequisite adds a requisite with its bank details to a live
// account.
func (s *Store) CreateRequisite(ctx context.Context, actor crm.Actor, accountID int64, r crm.Requisite) (crm.Requisite, error) {
	if err := r.Normalize(); err != nil {
		return r, err
	}
	r.ID, r.AccountID = 0, accountID
	err := s.Write(ctx, actor, func(t *Tx) error {
		return t.changeRequisites(accountID, func() error {
			err := t.tx.QueryRowContext(t.ctx, `INSERT INTO requisites (account_id, name, full_name, inn, kpp, ogrn, address, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
				accountID, r.Name, r.FullName, r.INN, r.KPP, r.OGRN, jsonText(r.Address), micro(t.now)).Scan(&r.ID)
			if err != nil {
				return fmt.Errorf("store: insert requisite of account %d: %w", accountID, err)
			}
			if err := t.saveBankDetails(r.ID, r.BankDetails, true); err != nil {
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
// account it belongs to does not change.
func (s *Store) UpdateRequisite(ctx context.Context, actor crm.Actor, id int64, r crm.Requisite) (crm.Requisite, error) {
	if err := r.Normalize(); err != nil {
		return r, err
	}
	err := s.Write(ctx, actor, func(t *Tx) error {
		old, err := getRequisite(t.rq(), id)
		if err != nil {
			return err
		}
		r.ID, r.AccountID = id, old.AccountID
		return t.changeRequisites(old.AccountID, func() error {
			if _, err := t.tx.ExecContext(t.ctx, "UPDATE requisites SET name = $1, full_name = $2, inn = $3, kpp = $4, ogrn = $5, address = $6 WHERE id = $7",
				r.Name, r.FullName, r.INN, r.KPP, r.OGRN, jsonText(r.Address), id); err != nil {
				return fmt.Errorf("store: update requisite %d: %w", id, err)
			}
			if err := t.saveBankDetails(id, r.BankDetails, false); err != nil {
				return err
			}
			r, err = getRequisite(t.rq(), id)
			return err
		})
	})
	return r, err
}

// DeleteRequisite removes a requisite and its bank details for good.
func (s *Store) DeleteRequisite(ctx context.Context, actor crm.Actor, id int64) error {
	return s.Write(ctx, actor, func(t *Tx) error {
		old, err := getRequisite(t.rq(), id)
		if err != nil {
			return err
		}
		return t.changeRequisites(old.AccountID, func() error {
			if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM bank_details WHERE requisite_id = $1", id); err != nil {
				return fmt.Errorf("store: delete requisite %d: %w", id, err)
			}
			if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM requisites WHERE id = $1", id); err != nil {
				return fmt.Errorf("store: delete requisite %d: %w", id, err)
			}
			return nil
		})
	})
}

// changeRequisites runs fn, which changes the requisites of a live
// account, and records it as an update of the account with the lists
// before and after under "requisites", so that syncs see it. A change that
// changes nothing records nothing.
func (t *Tx) changeRequisites(accountID int64, fn func() error) error {
	var deleted int64
	err := t.tx.QueryRowContext(t.ctx, "SELECT deleted_at FROM accounts WHERE id = $1", accountID).Scan(&deleted)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && deleted != 0) {
		return NotFound("account", accountID)
	}
	if err != nil {
		return fmt.Errorf("store: account %d: %w", accountID, err)
	}
	before, err := loadRequisites(t.rq(), []int64{accountID})
	if err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	after, err := loadRequisites(t.rq(), []int64{accountID})
	if err != nil {
		return err
	}
	old, cur := before[accountID], after[accountID]
	if sameJSON(old, cur) {
		return nil
	}
	if _, err := t.tx.ExecContext(t.ctx, "UPDATE accounts SET updated_at = $1, updated_by_id = $2 WHERE id = $3",
		micro(t.now), t.actor.UserID, accountID); err != nil {
		return fmt.Errorf("store: account %d: %w", accountID, err)
	}
	t.Emit(EntityAccount, accountID, events.Update, map[string]events.Change{
		"requisites": {Old: jsonRaw(old), New: jsonRaw(cur)},
	})
	return nil
}

// saveBankDetails makes a requisite's bank details equal to bs. Items that
// carry the id of one of the requisite's rows keep it.
func (t *Tx) saveBankDetails(requisiteID int64, bs []crm.BankDetail, creating bool) error {
	existing := map[int64]bool{}
	if !creating {
		rows, err := t.tx.QueryContext(t.ctx, "SELECT id FROM bank_details WHERE requisite_id = $1", requisiteID)
		if err != nil {
			return fmt.Errorf("store: requisite %d: bank details: %w", requisiteID, err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("store: requisite %d: bank details: %w", requisiteID, err)
			}
			existing[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: requisite %d: bank details: %w", requisiteID, err)
		}
	}
	kept := map[int64]bool{}
	for i := range bs {
		b := &bs[i]
		if b.ID != 0 && existing[b.ID] && !kept[b.ID] {
			kept[b.ID] = true
			if _, err := t.tx.ExecContext(t.ctx, "UPDATE bank_details SET name = $1, bik = $2, bank = $3, account = $4, corr_account = $5 WHERE id = $6",
				b.Name, b.BIK, b.Bank, b.Account, b.CorrAccount, b.ID); err != nil {
				return fmt.Errorf("store: requisite %d: update bank detail %d: %w", requisiteID, b.ID, err)
			}
			continue
		}
		if err := t.tx.QueryRowContext(t.ctx, "INSERT INTO bank_details (requisite_id, name, bik, bank, account, corr_account) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
			requisiteID, b.Name, b.BIK, b.Bank, b.Account, b.CorrAccount).Scan(&b.ID); err != nil {
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
