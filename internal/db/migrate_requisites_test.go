package db_test

import (
	"context"
	"database/sql"
	"testing"
)

// TestRequisitesMigrationKeepsRows fills migration 0001's requisites and
// bank details, applies 0005 and checks that the rows, their ids and the
// link between them survived, and that new ids continue after the copied
// ones.
func TestRequisitesMigrationKeepsRows(t *testing.T) {
	ctx := context.Background()
	eachBeforeMigration(t, 5, func(t *testing.T, m beforeMigration) {
		m.exec(`INSERT INTO users (id, login, created_at, updated_at) VALUES (1, 'admin', 1, 1)`)
		m.exec(`INSERT INTO accounts (id, title, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at) VALUES (7, 'ПАО', 1, 1, 1, 1, 1)`)
		m.exec(`INSERT INTO requisites (id, account_id, name, full_name, inn, kpp, ogrn, address, created_at) VALUES (41, 7, 'Основные', 'ПАО Сбербанк', '7707083893', '773601001', '1027700132195', '{"city":"Москва"}', 5)`)
		m.exec(`INSERT INTO bank_details (id, requisite_id, name, bik, bank, account, corr_account) VALUES (90, 41, 'Расчётный', '044525225', 'Сбербанк', '40702810938000000001', '30101810400000000225')`)
		if n, err := m.apply(); err != nil || n != 1 {
			t.Fatalf("migrate 0005: %d %v", n, err)
		}
		var entity, inn, fullName, address string
		var owner, preset, created int64
		var active bool
		if err := m.Read.QueryRowContext(ctx, `SELECT entity, record_id, preset_id, active, inn, company_full_name, address, created_at FROM requisites WHERE id = 41`).
			Scan(&entity, &owner, &preset, &active, &inn, &fullName, &address, &created); err != nil {
			t.Fatal(err)
		}
		if entity != "account" || owner != 7 || preset != 1 || !active || inn != "7707083893" || fullName != "ПАО Сбербанк" || address != `{"city":"Москва"}` || created != 5 {
			t.Fatalf("requisite after 0005: %s %d %d %v %s %s %s %d", entity, owner, preset, active, inn, fullName, address, created)
		}
		var rid int64
		var bik, corr string
		if err := m.Read.QueryRowContext(ctx, `SELECT requisite_id, bik, corr_account FROM bank_details WHERE id = 90`).Scan(&rid, &bik, &corr); err != nil {
			t.Fatal(err)
		}
		if rid != 41 || bik != "044525225" || corr != "30101810400000000225" {
			t.Fatalf("bank detail after 0005: %d %s %s", rid, bik, corr)
		}
		var next int64
		if err := m.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, `INSERT INTO requisites (entity, record_id, created_at) VALUES ('contact', 1, 1) RETURNING id`).Scan(&next)
		}); err != nil {
			t.Fatal(err)
		}
		if next <= 41 {
			t.Fatalf("new requisite id %d reuses a copied one", next)
		}
		if err := m.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, `INSERT INTO bank_details (requisite_id) VALUES (41) RETURNING id`).Scan(&next)
		}); err != nil {
			t.Fatal(err)
		}
		if next <= 90 {
			t.Fatalf("new bank detail id %d reuses a copied one", next)
		}
	})
}
