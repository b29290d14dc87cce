package db_test

import (
	"context"
	"testing"
)

// TestYoMigrationFoldsSearch writes records as Obmen kept them before
// 0030 (ё in the search text), applies 0030 and checks that the text is
// folded, that SQLite's trigram index follows (the е-form finds the row,
// the ё-form no longer does) and that 0025's report-count triggers still
// count new leads.
func TestYoMigrationFoldsSearch(t *testing.T) {
	ctx := context.Background()
	eachBeforeMigration(t, 30, func(t *testing.T, m beforeMigration) {
		m.exec(`INSERT INTO leads (id, title, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
			VALUES (1, 'Королёв', 'королёв', 1, 1, 1, 3600000000, 1), (2, 'Ежов', 'ежов', 1, 1, 1, 3600000000, 1)`)
		m.exec(`INSERT INTO products (id, name, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
			VALUES (1, 'Зелёный', 'зелёный', 1, 1, 1, 1, 1)`)
		if _, err := m.apply(); err != nil {
			t.Fatalf("migrate 0030: %v", err)
		}
		var s1, s2, p string
		if err := m.Read.QueryRowContext(ctx, "SELECT (SELECT search FROM leads WHERE id = 1), (SELECT search FROM leads WHERE id = 2), (SELECT search FROM products WHERE id = 1)").Scan(&s1, &s2, &p); err != nil {
			t.Fatal(err)
		}
		if s1 != "королев" || s2 != "ежов" || p != "зеленый" {
			t.Errorf("search after 0030: %q, %q, %q; want королев, ежов, зеленый", s1, s2, p)
		}
		if m.engine == "sqlite" {
			if n := m.count(`SELECT count(*) FROM leads_fts WHERE leads_fts MATCH '"королев"'`); n != 1 {
				t.Errorf("FTS rows for «королев»: %d, want 1", n)
			}
			if n := m.count(`SELECT count(*) FROM leads_fts WHERE leads_fts MATCH '"королёв"'`); n != 0 {
				t.Errorf("FTS rows for «королёв»: %d, want 0 (the old trigrams are gone)", n)
			}
			if n := m.count(`SELECT count(*) FROM products_fts WHERE products_fts MATCH '"зеленый"'`); n != 1 {
				t.Errorf("FTS rows for «зеленый»: %d, want 1", n)
			}
			m.exec(`INSERT INTO leads_fts (leads_fts) VALUES ('integrity-check')`)
		}
		m.exec(`INSERT INTO leads (id, title, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
			VALUES (3, 'Новый', 'новый', 1, 1, 1, 3600000000, 1)`)
		if n := m.count(`SELECT COALESCE(SUM(n), 0) FROM report_leads WHERE hour = 1`); n != 3 {
			t.Errorf("report_leads count: %d, want 3 (0025's triggers survive)", n)
		}
	})
}
