package db_test

import (
	"context"
	"database/sql"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestMigrationsRenderForBothEngines(t *testing.T) {
	for _, d := range []db.Dialect{db.SQLite, db.Postgres} {
		ms, err := db.Migrations(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) < 2 || ms[0].Version != 1 {
			t.Fatalf("%s: migrations %+v", d, ms)
		}
		for _, m := range ms {
			if strings.Contains(m.SQL, "{{") {
				t.Errorf("%s: %s keeps a placeholder", d, m.Name)
			}
		}
	}
}

func TestMigrateIsIdempotentAndGroupCommitIsolatesFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if n, err := d.Migrate(ctx); err != nil || n != 0 {
			t.Fatalf("second migrate applied %d: %v", n, err)
		}
		// Concurrent writes where every third fails: the failures roll back
		// alone, the others commit.
		errs := make(chan error, 60)
		for i := 0; i < 60; i++ {
			go func(i int) {
				errs <- d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ($1, 'v')", "k"+strings.Repeat("x", i)); err != nil {
						return err
					}
					if i%3 == 0 {
						// A duplicate key fails this write only.
						_, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ($1, 'v')", "k"+strings.Repeat("x", i))
						return err
					}
					return nil
				})
			}(i)
		}
		failed := 0
		for i := 0; i < 60; i++ {
			if err := <-errs; err != nil {
				if !db.IsUniqueViolation(err) {
					t.Fatalf("unexpected error: %v", err)
				}
				failed++
			}
		}
		var n int
		if err := d.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM settings WHERE key LIKE 'k%'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if failed != 20 || n != 40 {
			t.Fatalf("%d writes failed and %d rows remain; want 20 and 40", failed, n)
		}
	})
}

func TestBackupPostgres(t *testing.T) {
	if _, err := exec.LookPath("pg_dump"); err != nil {
		t.Skip("pg_dump not installed")
	}
	ran := false
	for _, e := range storetest.Engines(t) {
		if e.Name != "postgres" {
			continue
		}
		ran = true
		d := e.Open(t)
		file := filepath.Join(t.TempDir(), "obmen.dump")
		if err := d.Backup(context.Background(), file); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("pg_restore", "--list", file).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "TABLE DATA") || !strings.Contains(string(out), "leads") {
			t.Fatalf("pg_restore --list: %v\n%s", err, out)
		}
		if err := d.Backup(context.Background(), file); err == nil {
			t.Fatal("backup overwrote an existing file")
		}
	}
	if !ran {
		t.Skip("needs PostgreSQL (OBMEN_TEST_DATABASE_URL)")
	}
}

// TestSQLitePools checks the memory settings of the three SQLite pools:
// readers map the file (fast lookups), the bulk pool used by imports does
// not, and the write connections keep a small page cache.
func TestSQLitePools(t *testing.T) {
	d := storetest.OpenSQLite(t)
	ctx := t.Context()
	pragma := func(pool *sql.DB, name string) int64 {
		t.Helper()
		var v int64
		if err := pool.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	if d.Bulk == nil || d.Bulk == d.Read {
		t.Fatal("SQLite has no separate bulk pool")
	}
	if got := pragma(d.Read, "mmap_size"); got != 1<<30 {
		t.Errorf("readers' mmap_size %d", got)
	}
	if got := pragma(d.Bulk, "mmap_size"); got != 0 {
		t.Errorf("bulk pool's mmap_size %d, want 0", got)
	}
	if got := pragma(d.Bulk, "cache_size"); got != -2000 {
		t.Errorf("bulk pool's cache_size %d", got)
	}
	if got := pragma(d.Bulk, "query_only"); got != 1 {
		t.Errorf("bulk pool is not read-only")
	}
	if got := pragma(d.Read, "cache_size"); got != -8000 {
		t.Errorf("readers' cache_size %d", got)
	}
	var wcache int64
	if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&wcache)
	}); err != nil {
		t.Fatal(err)
	}
	if wcache != -8000 {
		t.Errorf("writer's cache_size %d, want -8000", wcache)
	}
}
