package main

import (
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx", to watch the import's progress

	"github.com/obmen/obmen/internal/address/gartest"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestAddressImportKillNineResumes kills a real `obmen address import`
// with SIGKILL while it is inside a file, reruns it and expects the rerun
// to continue that file where its last committed batch ended and to leave
// exactly one row per object and house.
func TestAddressImportKillNineResumes(t *testing.T) {
	storetest.EngineAgnostic(t)
	dump := t.TempDir()
	want, err := gartest.Write(dump, gartest.Region{Code: 42, Cities: 4, StreetsPerCity: 150, HousesPerStreet: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Each engine: the server's environment, and how the test watches
	// the import's progress in the same database.
	type engine struct {
		env    []string
		driver string
		dsn    string
	}
	data := t.TempDir()
	engines := map[string]engine{
		"sqlite": {[]string{"OBMEN_DATA=" + data}, "sqlite", "file:" + filepath.Join(data, "obmen.db") + "?mode=ro&_pragma=busy_timeout(5000)"},
	}
	for _, e := range storetest.Engines(t) {
		if e.Name == "postgres" {
			u := storetest.PostgresURL(t)
			engines["postgres"] = engine{[]string{"OBMEN_DATA=" + t.TempDir(), "OBMEN_DATABASE_URL=" + u}, "pgx", u}
		}
	}
	for name, e := range engines {
		t.Run(name, func(t *testing.T) {
			env := append([]string{"OBMEN_LOG_LEVEL=info"}, e.env...)
			obmen(t, env, "", "migrate")
			cmd := exec.Command(binary, "address", "import", "--batch", "50", dump)
			cmd.Env = append(os.Environ(), env...)
			out := &syncBuffer{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })

			watch, err := sql.Open(e.driver, e.dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer watch.Close()
			// Kill once the houses file (the second, large one) has
			// committed batches but is not finished.
			deadline := time.Now().Add(2 * time.Minute)
			for {
				var n int64
				err := watch.QueryRow(`SELECT COALESCE(MAX(records), 0) FROM address_import_files WHERE done = 0 AND name LIKE '%AS_HOUSES_2%'`).Scan(&n)
				if err == nil && n > 0 {
					break
				}
				select {
				case <-done:
					t.Fatalf("import ended before it could be killed:\n%s", out.String())
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("no progress to kill in:\n%s", out.String())
				}
				time.Sleep(5 * time.Millisecond)
			}
			_ = cmd.Process.Kill()
			<-done

			rerun := exec.Command(binary, "address", "import", "--batch", "50", dump)
			rerun.Env = append(os.Environ(), env...)
			b, err := rerun.CombinedOutput()
			if err != nil {
				t.Fatalf("rerun: %v\n%s", err, b)
			}
			if !strings.Contains(string(b), "resumes a file") || !strings.Contains(string(b), "finished by an earlier run") {
				t.Errorf("the rerun did not resume:\n%s", b)
			}
			var objects, houses, distinct, keysWithoutParent int
			if err := watch.QueryRow(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN kind = 3 THEN 1 ELSE 0 END), 0), COUNT(DISTINCT object_id) FROM address_objects WHERE active = 1`).Scan(&objects, &houses, &distinct); err != nil {
				t.Fatal(err)
			}
			if objects != want.Objects+want.Houses || houses != want.Houses || distinct != objects {
				t.Errorf("after kill -9 and rerun: %d objects (%d houses, %d distinct), want %d objects and %d houses",
					objects, houses, distinct, want.Objects+want.Houses, want.Houses)
			}
			if err := watch.QueryRow(`SELECT COUNT(*) FROM address_keys WHERE parent_id = 0 AND kind <> 1`).Scan(&keysWithoutParent); err != nil {
				t.Fatal(err)
			}
			if keysWithoutParent != 0 {
				t.Errorf("%d street and house keys without a parent", keysWithoutParent)
			}
		})
	}
}
