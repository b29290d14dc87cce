package db_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/obmen/obmen/internal/db"
)

// TestSQLiteFilesArePrivate: the database, its WAL and a backup are
// readable by the owner only, and a file an older version left readable
// by all is narrowed when the server opens it.
func TestSQLiteFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "obmen.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "copy.db")
	if err := d.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", backup} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), st.Mode().Perm())
		}
	}
	fresh := filepath.Join(dir, "new", "obmen.db")
	d2, err := db.Open(ctx, db.Options{SQLitePath: fresh})
	if err != nil {
		t.Fatal(err)
	}
	d2.Close()
	if st, err := os.Stat(fresh); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("a new database: %v %v", st.Mode(), err)
	}
}
