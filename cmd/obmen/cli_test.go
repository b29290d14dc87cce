package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/obmen/obmen/internal/store/storetest"
)

func TestUserCommands(t *testing.T) {
	storetest.EngineAgnostic(t)
	env := []string{"OBMEN_DATA=" + t.TempDir(), "OBMEN_LOG_LEVEL=warn"}
	out := obmen(t, env, "", "migrate")
	if !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %q", out)
	}
	out = obmen(t, env, "s3cret-password\n", "user", "add", "olga", "--role", "manager", "--password-stdin", "--first-name", "Ольга", "--email", "Olga@Example.ru")
	if !strings.Contains(out, "created user olga") || strings.Contains(out, "password:") {
		t.Fatalf("user add: %q", out)
	}
	out = obmen(t, env, "", "user", "add", "--role", "admin", "boss")
	if !strings.Contains(out, "password: ") {
		t.Fatalf("user add without a password should print a generated one: %q", out)
	}
	list := obmen(t, env, "", "user", "list")
	for _, want := range []string{"olga", "Ольга", "manager", "olga@example.ru", "boss", "admin"} {
		if !strings.Contains(list, want) {
			t.Fatalf("user list lacks %q:\n%s", want, list)
		}
	}
	// new-key prints the key and nothing else, flags before or after LOGIN.
	key := obmen(t, env, "", "user", "new-key", "--name", "script", "olga")
	if !strings.HasPrefix(key, "obm_") || strings.Count(strings.TrimSpace(key), "\n") != 0 || len(strings.TrimSpace(key)) != 81 {
		t.Fatalf("new-key printed %q", key)
	}
	key2 := obmen(t, env, "", "user", "new-key", "olga", "--name", "other")
	if key2 == key {
		t.Fatal("two keys are equal")
	}
	// permit grants integration permissions; without --permissions it shows them.
	if out := obmen(t, env, "", "user", "permit", "olga"); !strings.Contains(out, "permissions of olga: \n") {
		t.Fatalf("permit shows %q", out)
	}
	if out := obmen(t, env, "", "user", "permit", "--permissions", "1c_exchange,1c_catalog", "olga"); !strings.Contains(out, "permissions of olga: 1c_catalog,1c_exchange") {
		t.Fatalf("permit printed %q", out)
	}
	if out := obmen(t, env, "", "user", "permit", "olga", "--permissions", ""); !strings.Contains(out, "permissions of olga: \n") {
		t.Fatalf("permit \"\" printed %q", out)
	}
	obmen(t, env, "an-0ther-password\n", "user", "set-password", "olga")
	obmen(t, env, "", "user", "disable", "olga")
	if list := obmen(t, env, "", "user", "list"); !strings.Contains(list, "false") {
		t.Fatalf("disabled user still active:\n%s", list)
	}

	// Errors: unknown user, missing argument, unknown command.
	for _, args := range [][]string{{"user", "new-key", "nobody"}, {"user", "new-key"}, {"user", "permit", "--permissions", "1c_catalog", "olga"}, {"user", "permit", "--permissions", "root", "olga"}, {"frobnicate"}, {"user", "add", "x", "--role", "boss"}} {
		cmd := exec.Command(binary, args...)
		cmd.Env = append(cmd.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("obmen %v succeeded: %s", args, out)
		} else if !strings.Contains(string(out), "obmen:") {
			t.Errorf("obmen %v: no error message: %s", args, out)
		}
	}
	if v := obmen(t, env, "", "version"); !strings.HasPrefix(v, "obmen ") {
		t.Fatalf("version: %q", v)
	}
}

// TestBackupWhileServing copies the database while the server takes writes
// and checks that the copy opens and holds the leads acknowledged before it.
func TestBackupWhileServing(t *testing.T) {
	storetest.EngineAgnostic(t)
	dir := t.TempDir()
	env := []string{"OBMEN_DATA=" + dir, "OBMEN_ADMIN_PASSWORD=admin-password", "OBMEN_LOG_LEVEL=warn"}
	addr := freeAddr(t)
	startServer(t, env, addr)
	key := strings.TrimSpace(obmen(t, env, "", "user", "new-key", "admin"))
	post := func(i int) bool {
		req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/leads", strings.NewReader(fmt.Sprintf(`{"title":"backup-%d"}`, i)))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 201
	}
	for i := 0; i < 200; i++ {
		if !post(i) {
			t.Fatal("create failed")
		}
	}
	// Keep writing during the backup.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				post(10000*(w+1) + i)
			}
		}(w)
	}
	time.Sleep(200 * time.Millisecond)
	file := filepath.Join(t.TempDir(), "copy.db")
	out := obmen(t, env, "", "backup", file)
	cancel()
	wg.Wait()
	if !strings.Contains(out, "backup written") {
		t.Fatalf("backup: %q", out)
	}
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	var n, events int
	if err := db.QueryRow("SELECT COUNT(*) FROM leads WHERE title LIKE 'backup-%'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM events WHERE entity = 'lead' AND action = 'create'").Scan(&events); err != nil {
		t.Fatal(err)
	}
	if n < 200 || events != n {
		t.Fatalf("copy holds %d leads and %d create events; want ≥ 200 and equal (a consistent snapshot)", n, events)
	}
	// Refuses to overwrite.
	cmd := exec.Command(binary, "backup", file)
	cmd.Env = append(cmd.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "already exists") {
		t.Fatalf("backup over an existing file: %v %s", err, out)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	storetest.EngineAgnostic(t)
	env := []string{"OBMEN_DATA=" + t.TempDir(), "OBMEN_ADMIN_PASSWORD=admin-password", "OBMEN_LOG_LEVEL=warn", "OBMEN_METRICS_TOKEN=scrape-token"}
	addr := freeAddr(t)
	startServer(t, env, addr)
	key := strings.TrimSpace(obmen(t, env, "", "user", "new-key", "admin"))
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/leads", strings.NewReader(`{"title":"m"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create: %v", err)
	}
	resp.Body.Close()
	get := func(path string, hdr ...string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 200 || body != "ready\n" {
		t.Fatalf("readyz: %d %q", code, body)
	}
	// The metrics are not public: a scraper presents the token.
	for _, auth := range []string{"", "Bearer wrong-token", "Basic c2NyYXBlLXRva2Vu"} {
		if code, _ := get("/metrics", "Authorization", auth); code != http.StatusUnauthorized {
			t.Errorf("metrics with %q: %d, want 401", auth, code)
		}
	}
	code, body := get("/metrics", "Authorization", "Bearer scrape-token")
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		`obmen_http_requests_total{code="201",method="POST",route="POST /api/v1/leads"} 1`,
		`obmen_http_request_duration_seconds_bucket{route="POST /api/v1/leads"`,
		"obmen_events_written_total 1",
		`go_sql_open_connections{db_name="read"}`,
		"obmen_db_group_commit_size_count",
		"obmen_db_writes_waiting 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
