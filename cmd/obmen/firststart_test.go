package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/store/storetest"
)

// TestFirstStartPrintsAdminPasswordOnce starts a server without
// OBMEN_ADMIN_PASSWORD: it must print a generated password that signs in,
// and not print one again on the next start.
func TestFirstStartPrintsAdminPasswordOnce(t *testing.T) {
	storetest.EngineAgnostic(t)
	env := []string{"OBMEN_DATA=" + t.TempDir(), "OBMEN_LOG_LEVEL=warn"}
	addr := freeAddr(t)
	srv := startServer(t, env, addr)
	var pw string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := regexp.MustCompile(`Created user admin with password: (\S+)`).FindStringSubmatch(srv.out.String()); m != nil {
			pw = m[1]
			break
		}
	}
	if pw == "" {
		t.Fatalf("no generated password printed:\n%s", srv.out.String())
	}
	body, _ := json.Marshal(map[string]string{"login": "admin", "password": pw})
	resp, err := http.Post("http://"+addr+"/api/v1/session", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("sign-in with the printed password: %d", resp.StatusCode)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	again := startServer(t, env, addr)
	time.Sleep(200 * time.Millisecond)
	if strings.Contains(again.out.String(), "password") {
		t.Fatalf("second start printed a password again:\n%s", again.out.String())
	}
}
