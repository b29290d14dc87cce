package store

import (
	"context"
	"fmt"

	"github.com/obmen/obmen/internal/crm"
)

var accountSpec = spec{
	entity: EntityAccount, table: "accounts", comms: true, inn: true, requisites: true,
	columns: map[string]Column{
		"title": {"title", KindText}, "full_name": {"full_name", KindText}, "kind": {"kind", KindText},
		"company_type": {"company_type", KindText}, "industry": {"industry", KindText},
		"inn": {"inn", KindText}, "kpp": {"kpp", KindText}, "ogrn": {"ogrn", KindText},
		"source_id":      {"source_id", KindText},
		"assigned_by_id": {"assigned_by_id", KindInt}, "created_by_id": {"created_by_id", KindInt},
		"created_at": {"created_at", KindTime}, "updated_at": {"updated_at", KindTime}, "deleted_at": {"deleted_at", KindTime},
	},
}

const accountColumns = `id, title, full_name, kind, company_type, industry, inn, kpp, ogrn, legal_address, actual_address,
	comments, source_id, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at, deleted_at, deleted_by_id`

var accountLoader = loader[crm.Account]{
	entity: EntityAccount, name: "account", table: "accounts", columns: accountColumns,
	meta:  func(a *crm.Account) *crm.Meta { return &a.Meta },
	extra: func(a *crm.Account) *crm.Extra { return &a.Extra },
	scan: func(rows rowScanner, a *crm.Account) error {
		var legal, actual string
		var mt metaTimes
		if err := rows.Scan(&a.ID, &a.Title, &a.FullName, &a.Kind, &a.CompanyType, &a.Industry, &a.INN, &a.KPP, &a.OGRN, &legal, &actual,
			&a.Comments, &a.SourceID, &a.AssignedByID, &a.CreatedByID, &a.UpdatedByID, &mt.created, &mt.updated, &mt.deleted, &a.DeletedByID); err != nil {
			return err
		}
		if err := fromJSON("account legal_address", legal, &a.LegalAddress); err != nil {
			return err
		}
		if err := fromJSON("account actual_address", actual, &a.ActualAddress); err != nil {
			return err
		}
		mt.set(&a.Meta)
		return nil
	},
	parts: []func(txq, []int64) (func(int64, *crm.Account), error){
		commsPart(EntityAccount, func(v *crm.Account) *crm.Comms { return &v.Comms }),
		func(t txq, ids []int64) (func(int64, *crm.Account), error) {
			reqs, err := loadRequisites(t, EntityAccount, ids)
			return func(id int64, v *crm.Account) { v.Requisites = reqs[id] }, err
		},
	},
}

// GetAccount returns an account, live or in the recycle bin.
func (s *Store) GetAccount(ctx context.Context, id int64) (crm.Account, error) {
	v, err := accountLoader.get(s.rq(ctx), id)
	return scoped1(ctx, EntityAccount, v, err)
}

// ListAccounts returns a page of accounts.
func (s *Store) ListAccounts(ctx context.Context, p ListParams) ([]crm.Account, string, error) {
	return accountLoader.list(s, s.rq(ctx), accountSpec, p)
}

// checkAccount validates what an account refers to.
func checkAccount(t txq, a *crm.Account) error {
	r := refs{t: t}
	r.user("assigned_by_id", a.AssignedByID)
	r.status("source_id", "SOURCE", a.SourceID)
	r.custom(EntityAccount, &a.Custom)
	return r.err
}

// CreateAccount validates and stores a new account with its create event.
// Requisites are not written here (see CreateRequisite); any given are
// dropped.
func (s *Store) CreateAccount(ctx context.Context, actor crm.Actor, a crm.Account) (crm.Account, error) {
	a.Requisites = []crm.Requisite{} // managed on their own (requisite.go)
	return createRecord(s, ctx, actor, EntityAccount, a, checkAccount, func(t *Tx, v *crm.Account) error { return t.insertAccount(v) })
}

// insertAccount inserts the row and its comms, custom values and external
// ids; requisites are not written.
func (t *Tx) insertAccount(a *crm.Account) error {
	err := t.tx.QueryRowContext(t.ctx, `INSERT INTO accounts (title, full_name, kind, company_type, industry, inn, kpp, ogrn,
		legal_address, actual_address, comments, source_id, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		RETURNING id`,
		a.Title, a.FullName, a.Kind, a.CompanyType, a.Industry, a.INN, a.KPP, a.OGRN,
		jsonText(a.LegalAddress), jsonText(a.ActualAddress), a.Comments, a.SourceID, a.SearchText(),
		a.AssignedByID, a.CreatedByID, a.UpdatedByID, micro(a.CreatedAt), micro(a.UpdatedAt)).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("store: insert account: %w", err)
	}
	if err := t.saveComms(EntityAccount, a.ID, &a.Comms, true); err != nil {
		return err
	}
	if err := t.saveCustom(EntityAccount, a.ID, a.Custom, true); err != nil {
		return err
	}
	return t.saveExternal(EntityAccount, a.ID, a.ExternalIDs, true)
}

// UpdateAccount loads a live account, lets mutate change it, validates and
// stores the result with an update event naming the changed fields.
// mutate may reassign the account (AssignedByID); the rest of Meta is
// kept, and so are the requisites as stored, whatever mutate does to them.
func (s *Store) UpdateAccount(ctx context.Context, actor crm.Actor, id int64, mutate func(*crm.Account) error) (crm.Account, error) {
	return updateRecord(s, ctx, actor, id, accountOps, mutate)
}

var accountOps = updateOps[crm.Account]{
	entity: EntityAccount, get: accountLoader.get,
	// Requisites are managed on their own (requisite.go).
	fix:   func(old, cur *crm.Account) (err error) { cur.Requisites, err = clone(old.Requisites); return err },
	check: func(q txq, _, cur *crm.Account) error { return checkAccount(q, cur) },
	save:  func(t *Tx, old, cur *crm.Account) error { return t.updateAccount(old, cur) },
}

// updateAccount writes the row and its changed comms, custom values and
// external ids; requisites are not written.
func (t *Tx) updateAccount(old, a *crm.Account) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE accounts SET title = $1, full_name = $2, kind = $3, company_type = $4, industry = $5,
		inn = $6, kpp = $7, ogrn = $8, legal_address = $9, actual_address = $10, comments = $11, source_id = $12, search = $13,
		assigned_by_id = $14, updated_by_id = $15, updated_at = $16 WHERE id = $17`,
		a.Title, a.FullName, a.Kind, a.CompanyType, a.Industry, a.INN, a.KPP, a.OGRN,
		jsonText(a.LegalAddress), jsonText(a.ActualAddress), a.Comments, a.SourceID, a.SearchText(),
		a.AssignedByID, a.UpdatedByID, micro(a.UpdatedAt), a.ID)
	if err != nil {
		return fmt.Errorf("store: update account %d: %w", a.ID, err)
	}
	if !sameJSON(old.Comms, a.Comms) {
		if err := t.saveComms(EntityAccount, a.ID, &a.Comms, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.Custom, a.Custom) {
		if err := t.saveCustom(EntityAccount, a.ID, a.Custom, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.ExternalIDs, a.ExternalIDs) {
		return t.saveExternal(EntityAccount, a.ID, a.ExternalIDs, false)
	}
	return nil
}
