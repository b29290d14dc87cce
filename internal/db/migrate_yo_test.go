package db_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestYoMigrationFoldsSearch writes records as Obmen kept them before
// 0030 (ё in the search text), applies 0030 and checks that the text is
// folded, that SQLite's trigram index follows (the е-form finds the row,
// the ё-form no longer does) and that 0025's report-count triggers still
// count new leads.
func TestYoMigrationFoldsSearch(t *testing.T) {
	ctx := context.Background()
	open := map[string]func(t *testing.T) db.Options{
		"sqlite":   func(t *testing.T) db.Options { return db.Options{SQLitePath: filepath.Join(t.TempDir(), "obmen.db")} },
		"postgres": func(t *testing.T) db.Options { return db.Options{PostgresURL: storetest.PostgresURL(t)} },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			d, err := db.Open(ctx, open[name](t))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			exec := func(query string, args ...any) {
				t.Helper()
				if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, query, args...)
					return err
				}); err != nil {
					t.Fatalf("%s: %v", query, err)
				}
			}
			count := func(query string, args ...any) int {
				t.Helper()
				var n int
				if err := d.Read.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
					t.Fatalf("%s: %v", query, err)
				}
				return n
			}
			exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
			exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (30, 'later', 0)`)
			if _, err := d.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			exec(`INSERT INTO leads (id, title, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
				VALUES (1, 'Королёв', 'королёв', 1, 1, 1, 3600000000, 1), (2, 'Ежов', 'ежов', 1, 1, 1, 3600000000, 1)`)
			exec(`INSERT INTO products (id, name, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
				VALUES (1, 'Зелёный', 'зелёный', 1, 1, 1, 1, 1)`)
			exec(`DELETE FROM schema_migrations WHERE version = 30`)
			if _, err := d.Migrate(ctx); err != nil {
				t.Fatalf("migrate 0030: %v", err)
			}
			var s1, s2, p string
			if err := d.Read.QueryRowContext(ctx, "SELECT (SELECT search FROM leads WHERE id = 1), (SELECT search FROM leads WHERE id = 2), (SELECT search FROM products WHERE id = 1)").Scan(&s1, &s2, &p); err != nil {
				t.Fatal(err)
			}
			if s1 != "королев" || s2 != "ежов" || p != "зеленый" {
				t.Errorf("search after 0030: %q, %q, %q; want королев, ежов, зеленый", s1, s2, p)
			}
			if name == "sqlite" {
				if n := count(`SELECT count(*) FROM leads_fts WHERE leads_fts MATCH '"королев"'`); n != 1 {
					t.Errorf("FTS rows for «королев»: %d, want 1", n)
				}
				if n := count(`SELECT count(*) FROM leads_fts WHERE leads_fts MATCH '"королёв"'`); n != 0 {
					t.Errorf("FTS rows for «королёв»: %d, want 0 (the old trigrams are gone)", n)
				}
				if n := count(`SELECT count(*) FROM products_fts WHERE products_fts MATCH '"зеленый"'`); n != 1 {
					t.Errorf("FTS rows for «зеленый»: %d, want 1", n)
				}
				exec(`INSERT INTO leads_fts (leads_fts) VALUES ('integrity-check')`)
			}
			exec(`INSERT INTO leads (id, title, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
				VALUES (3, 'Новый', 'новый', 1, 1, 1, 3600000000, 1)`)
			if n := count(`SELECT COALESCE(SUM(n), 0) FROM report_leads WHERE hour = 1`); n != 3 {
				t.Errorf("report_leads count: %d, want 3 (0025's triggers survive)", n)
			}
		})
	}
}
