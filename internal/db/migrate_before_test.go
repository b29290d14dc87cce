package db_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// beforeMigration is a database of one engine brought to just before one
// migration, for a test that fills its tables as Obmen kept them then,
// applies the migration and reads what it made.
type beforeMigration struct {
	*db.DB
	t       *testing.T
	engine  string // "sqlite" or "postgres"
	version int
}

// eachBeforeMigration runs fn on SQLite and on PostgreSQL, each database
// with every migration applied but version.
func eachBeforeMigration(t *testing.T, version int, fn func(t *testing.T, m beforeMigration)) {
	open := map[string]func(t *testing.T) db.Options{
		"sqlite":   func(t *testing.T) db.Options { return db.Options{SQLitePath: filepath.Join(t.TempDir(), "obmen.db")} },
		"postgres": func(t *testing.T) db.Options { return db.Options{PostgresURL: storetest.PostgresURL(t)} },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d, err := db.Open(ctx, open[name](t))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			m := beforeMigration{DB: d, t: t, engine: name, version: version}
			// Mark the migration applied, migrate, and unmark it.
			m.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
			m.exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'later', 0)`, version)
			if _, err := d.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			fn(t, m)
		})
	}
}

// apply applies the migration the database was brought to; n is how many
// migrations that applied.
func (m beforeMigration) apply() (n int, err error) {
	m.t.Helper()
	m.exec(`DELETE FROM schema_migrations WHERE version = $1`, m.version)
	return m.Migrate(context.Background())
}

// exec runs a statement or fails the test.
func (m beforeMigration) exec(query string, args ...any) {
	m.t.Helper()
	if err := m.Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	}); err != nil {
		m.t.Fatalf("%s: %v", query, err)
	}
}

// count runs a query of one number or fails the test.
func (m beforeMigration) count(query string, args ...any) int {
	m.t.Helper()
	var n int
	if err := m.Read.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		m.t.Fatalf("%s: %v", query, err)
	}
	return n
}
