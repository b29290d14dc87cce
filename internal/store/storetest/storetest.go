// Package storetest opens real databases for tests: a fresh SQLite file
// always, and a fresh PostgreSQL database when OBMEN_TEST_DATABASE_URL
// points at a server (the test command starts one). Each runs the same
// test body on every engine available. Both start as copies of a database
// migrated once (migrating under -race costs seconds per database).
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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

// EnvEngines, when set, names the engines Each and Engines run on
// ("sqlite", "postgres" or both, comma separated). The test command runs
// the race-detector pass on PostgreSQL and a second pass without it on
// SQLite: the SQLite driver is Go translated from C, and under -race it
// costs three to six times PostgreSQL's time for the same test, while its
// own concurrency (the writer's turns, River's pool) is tested directly
// with OpenSQLite, which this variable does not touch.
const EnvEngines = "OBMEN_TEST_ENGINES"

// Engines lists SQLite and, when configured, PostgreSQL (both filtered by
// EnvEngines). In CI (CI=true) a missing PostgreSQL fails the test
// instead of skipping it.
func Engines(t testing.TB) []Engine {
	out := []Engine{{Name: "sqlite", Open: OpenSQLite}}
	if os.Getenv(EnvPostgres) != "" {
		out = append(out, Engine{Name: "postgres", Open: OpenPostgres})
	} else if os.Getenv("CI") != "" && wanted("postgres") {
		t.Fatalf("storetest: %s is not set; the test command starts PostgreSQL and sets it", EnvPostgres)
	}
	return slices.DeleteFunc(out, func(e Engine) bool { return !wanted(e.Name) })
}

// wanted reports whether EnvEngines lets engine run.
func wanted(engine string) bool {
	list := os.Getenv(EnvEngines)
	if list == "" {
		return true
	}
	for _, n := range strings.Split(list, ",") {
		if strings.TrimSpace(n) == engine {
			return true
		}
	}
	return false
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

// EngineAgnostic marks a test that does not depend on the database
// engine — a browser test, a test of a binary's command line — and runs
// it once per test command: where SQLite runs (always, unless EnvEngines
// leaves it out), skipped in a pass that leaves SQLite out. The test
// command's race pass runs PostgreSQL only and its second pass SQLite, so
// such a test ran in both for nothing. A package with such tests must be
// in the second pass: the test command finds it by this call.
func EngineAgnostic(t testing.TB) {
	t.Helper()
	if !wanted("sqlite") {
		t.Skipf("engine-agnostic: runs where %s has sqlite (the test command's SQLite pass)", EnvEngines)
	}
}

// OpenAny opens a migrated database for an engine-agnostic test (see
// EngineAgnostic): SQLite, the default engine.
func OpenAny(t testing.TB) *db.DB {
	t.Helper()
	EngineAgnostic(t)
	return OpenSQLite(t)
}

// OpenSQLite opens a migrated SQLite database in a temporary directory.
func OpenSQLite(t testing.TB) *db.DB {
	t.Helper()
	return OpenSQLiteAt(t, filepath.Join(t.TempDir(), "obmen.db"), "NORMAL")
}

// OpenSQLiteAt opens a migrated SQLite database at path. A new file
// starts as a copy of a database migrated once per test binary (see
// sqliteTemplate); Migrate then runs on it as on any database and finds
// every migration applied. An existing file is opened as it is.
func OpenSQLiteAt(t testing.TB, path, sync string) *db.DB {
	t.Helper()
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		tmpl, err := sqliteTemplate()
		if err != nil {
			t.Fatalf("storetest: %v", err)
		}
		if err := os.WriteFile(path, tmpl, 0o600); err != nil {
			t.Fatalf("storetest: copy the migrated template: %v", err)
		}
	}
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

// sqliteTemplate returns the bytes of a freshly migrated SQLite database,
// made on first use and kept for the life of the test binary. Migrating
// costs seconds per database under -race (the SQLite engine is Go code,
// instrumented like ours) and most tests open several; copying a file
// costs a millisecond. The migrations themselves are still run from
// scratch here, once per binary, and in internal/db's own tests.
var sqliteTemplate = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "obmen-storetest-")
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{SQLitePath: filepath.Join(dir, "migrated.db"), SQLiteSync: "NORMAL"})
	if err != nil {
		return nil, fmt.Errorf("template: open sqlite: %w", err)
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("template: migrate sqlite: %w", err)
	}
	// VACUUM INTO writes one consistent, self-contained file (no WAL
	// beside it to copy as well).
	copyPath := filepath.Join(dir, "template.db")
	if err := d.Backup(ctx, copyPath); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	return os.ReadFile(copyPath)
})

// PostgresURL creates an empty schema on the test server and returns a URL
// whose connections use it; the schema is dropped when the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skipf("%s not set", EnvPostgres)
	}
	if !wanted("postgres") {
		// PostgreSQL-only tests (several instances on one database)
		// run in the pass that has postgres, once.
		t.Skipf("%s leaves postgres out", EnvEngines)
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

// OpenPostgres opens a migrated PostgreSQL database: a database of its own,
// created as a copy of a template database migrated once per server and
// set of migrations (see postgresTemplate), dropped when the test ends.
// Migrate then runs on it as on any database and finds every migration
// applied.
func OpenPostgres(t testing.TB) *db.DB {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skipf("%s not set", EnvPostgres)
	}
	tmpl, err := postgresTemplate()
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	// FILE_COPY copies the template's files whole (PostgreSQL 15's
	// default, WAL_LOG, copies it block by block through the WAL — a
	// third slower here); servers before 15 know no STRATEGY.
	if _, err := admin.Exec("CREATE DATABASE " + name + " TEMPLATE " + tmpl + " STRATEGY FILE_COPY"); err != nil {
		if _, err2 := admin.Exec("CREATE DATABASE " + name + " TEMPLATE " + tmpl); err2 != nil {
			t.Fatalf("postgres: create database from the migrated template: %v (%v)", err2, err)
		}
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := databaseURL(base, name)
	if err != nil {
		t.Fatalf("postgres URL: %v", err)
	}
	d, err := db.Open(context.Background(), db.Options{PostgresURL: u})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate postgres: %v", err)
	}
	return d
}

// databaseURL is base pointing at database name.
func databaseURL(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// postgresTemplate returns the name of a migrated template database on the
// test server, creating it on first use. It is named after a hash of the
// migrations, so test binaries running at once (go test runs packages in
// parallel) and later runs share it, and a changed migration makes a new
// one. An advisory lock lets one binary build it while the others wait; it
// is marked a template only once fully migrated, so a half-built one (a
// killed run) is dropped and built again. Copying it costs a fraction of
// migrating a fresh schema, and copies do not share the migration lock.
var postgresTemplate = sync.OnceValues(func() (string, error) {
	base := os.Getenv(EnvPostgres)
	ms, err := db.Migrations(db.Postgres)
	if err != nil {
		return "", fmt.Errorf("template: %w", err)
	}
	h := sha256.New()
	for _, m := range ms {
		fmt.Fprintf(h, "%d %s\n%s\n", m.Version, m.Name, m.SQL)
	}
	name := "obmen_tmpl_" + hex.EncodeToString(h.Sum(nil))[:16]
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", fmt.Errorf("template: %w", err)
	}
	defer admin.Close()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("template: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7310002)"); err != nil {
		return "", fmt.Errorf("template: lock: %w", err)
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(7310002)") //nolint:errcheck
	var isTemplate bool
	switch err := conn.QueryRowContext(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", name).Scan(&isTemplate); {
	case err == nil && isTemplate:
		return name, nil
	case err == nil:
		if _, err := conn.ExecContext(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			return "", fmt.Errorf("template: drop the half-built %s: %w", name, err)
		}
	case !errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("template: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("template: create %s: %w", name, err)
	}
	u, err := databaseURL(base, name)
	if err != nil {
		return "", fmt.Errorf("template: %w", err)
	}
	d, err := db.Open(ctx, db.Options{PostgresURL: u})
	if err != nil {
		return "", fmt.Errorf("template: open postgres: %w", err)
	}
	_, err = d.Migrate(ctx)
	d.Close()
	if err != nil {
		return "", fmt.Errorf("template: migrate postgres: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+name+" IS_TEMPLATE true"); err != nil {
		return "", fmt.Errorf("template: mark %s a template: %w", name, err)
	}
	return name, nil
})
