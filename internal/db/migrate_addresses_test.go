package db_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestAddressesMigrationCopiesLegal fills requisites with addresses as
// Obmen kept them before 0024, applies 0024 and checks that each
// non-empty address became the requisite's legal typed address (type 6)
// and that empty ones made none.
func TestAddressesMigrationCopiesLegal(t *testing.T) {
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
			exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
			exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (24, 'later', 0)`)
			if _, err := d.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			exec(`INSERT INTO requisites (id, entity, record_id, address, created_at) VALUES
				(1, 'account', 7, '{"postcode":"101000","country":"Россия","region":"Москва","city":"Москва","street":"ул. Ленина","house":"1","flat":"5"}', 1),
				(2, 'account', 7, '{}', 1),
				(3, 'contact', 8, '{"postcode":"","country":"","region":"","city":"","street":"","house":"","flat":""}', 1),
				(4, 'contact', 8, '{"house":"12"}', 1)`)
			exec(`DELETE FROM schema_migrations WHERE version = 24`)
			if _, err := d.Migrate(ctx); err != nil {
				t.Fatalf("migrate 0024: %v", err)
			}
			rows, err := d.Read.QueryContext(ctx, `SELECT requisite_id, type_id, address_1, address_2, city, postal_code, region, province, country
				FROM requisite_addresses ORDER BY requisite_id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var got [][9]string
			for rows.Next() {
				var r [9]string
				if err := rows.Scan(&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6], &r[7], &r[8]); err != nil {
					t.Fatal(err)
				}
				got = append(got, r)
			}
			want := [][9]string{
				{"1", "6", "ул. Ленина, 1", "5", "Москва", "101000", "", "Москва", "Россия"},
				{"4", "6", "12", "", "", "", "", "", ""},
			}
			if len(got) != len(want) {
				t.Fatalf("typed addresses after 0024: %q, want %q", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("row %d: %q, want %q", i, got[i], want[i])
				}
			}
		})
	}
}
