// Package storetest opens real databases for tests: a fresh SQLite file
// always, and a fresh PostgreSQL schema when OBMEN_TEST_DATABASE_URL
// points at a server (the test command starts one). Each on runs the same
// test body on every engine available.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for schema set-up

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
)

// EnvPostgres names the variable holding the test server's URL.
const EnvPostgres = "OBMEN_TEST_DATABASE_URL"

// Engine is one database to test on.
type Engine struct {
	Name string
	Open func(t testing.TB) *db.DB
}

// Engines lists SQLite and, when configured, PostgreSQL. In CI
// (CI=true) a missing PostgreSQL fails the test instead of skipping it.
func Engines(t testing.TB) []Engine {
	out := []Engine{{Name: "sqlite", Open: OpenSQLite}}
	if os.Getenv(EnvPostgres) != "" {
		out = append(out, Engine{Name: "postgres", Open: OpenPostgres})
	} else if os.Getenv("CI") != "" {
		t.Fatalf("storetest: %s is not set; the test command starts PostgreSQL and sets it", EnvPostgres)
	}
	return out
}

// Each runs fn once per engine as a subtest, with a migrated database.
func Each(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	for _, e := range Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			fn(t, e.Open(t))
		})
	}
}

// EachStore runs fn once per engine with a Store and an admin actor.
func EachStore(t *testing.T, fn func(t *testing.T, s *store.Store, admin crm.Actor)) {
	Each(t, func(t *testing.T, d *db.DB) {
		s := store.New(d)
		fn(t, s, Admin(t, s))
	})
}

// Admin creates (once per store) and returns the admin user as an actor.
func Admin(t testing.TB, s *store.Store) crm.Actor {
	t.Helper()
	ctx := context.Background()
	if u, err := s.UserByLogin(ctx, "admin"); err == nil {
		return crm.Actor{UserID: u.ID}
	}
	u, err := s.CreateUser(ctx, crm.Actor{}, crm.User{Login: "admin", Role: crm.RoleAdmin, FirstName: "Админ"}, "admin-password")
	if err != nil {
		t.Fatalf("create admin: %v", err)
	}
	return crm.Actor{UserID: u.ID}
}

// OpenSQLite opens a migrated SQLite database in a temporary directory.
func OpenSQLite(t testing.TB) *db.DB {
	t.Helper()
	return OpenSQLiteAt(t, filepath.Join(t.TempDir(), "obmen.db"), "NORMAL")
}

// OpenSQLiteAt opens a migrated SQLite database at path.
func OpenSQLiteAt(t testing.TB, path, sync string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), db.Options{SQLitePath: path, SQLiteSync: sync, GroupCommitMax: 128})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	return d
}

// PostgresURL creates an empty schema on the test server and returns a URL
// whose connections use it; the schema is dropped when the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skipf("%s not set", EnvPostgres)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("postgres: create schema: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("postgres URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenPostgres opens a migrated PostgreSQL database in a fresh schema.
func OpenPostgres(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), db.Options{PostgresURL: PostgresURL(t)})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate postgres: %v", err)
	}
	return d
}
