package main

import (
	"database/sql"
	"path/filepath"

	"fmt"
	"io"
	_ "modernc.org/sqlite"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/delivery"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestOutboundWebhooksEndToEnd runs the real server with its job queue: a
// native webhook and a Bitrix24-style one receive a lead created over the
// API — signed, form-encoded as Bitrix24 sends — and a restart in between
// loses nothing.
func TestOutboundWebhooksEndToEnd(t *testing.T) {
	storetest.EngineAgnostic(t)
	var mu sync.Mutex
	var native, bx []string
	var sigOK bool
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/native":
			sigOK = delivery.Verify([]byte("signing-secret"), b, r.Header.Get(delivery.HeaderSignature), time.Now(), time.Minute) == nil
			native = append(native, r.Header.Get(delivery.HeaderEventID))
		case "/bitrix":
			f, _ := url.ParseQuery(string(b))
			bx = append(bx, f.Get("event")+":"+f.Get("data[FIELDS][ID]")+":"+f.Get("auth[application_token]"))
		}
	}))
	defer recv.Close()

	addr := freeAddr(t)
	env := []string{"OBMEN_DATA=" + t.TempDir(), "OBMEN_ADMIN_PASSWORD=admin-password", "OBMEN_LOG_LEVEL=warn",
		"OBMEN_OUTBOUND_ALLOW=127.0.0.1"}
	srv := startServer(t, env, addr)
	key := strings.TrimSpace(obmen(t, env, "", "user", "new-key", "admin"))
	api := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, body := range []string{
		fmt.Sprintf(`{"kind":"native","url":%q,"events":["lead.*"],"token":"signing-secret"}`, recv.URL+"/native"),
		fmt.Sprintf(`{"kind":"bitrix","url":%q,"events":["ONCRMLEADADD","ONCRMLEADUPDATE"],"token":"app-token"}`, recv.URL+"/bitrix"),
	} {
		if code, b := api("POST", "/api/v1/outbound-webhooks", body); code != 201 || strings.Contains(b, "signing-secret") || strings.Contains(b, "app-token") {
			t.Fatalf("create webhook: %d %s", code, b)
		}
	}
	if code, b := api("POST", "/api/v1/leads", `{"title":"Заявка"}`); code != 201 {
		t.Fatalf("create lead: %d %s", code, b)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			done := ok()
			mu.Unlock()
			if done {
				return
			}
		}
		t.Fatalf("timed out waiting for %s (native %v, bitrix %v)", what, native, bx)
	}
	waitFor("the create", func() bool { return len(native) == 1 && len(bx) == 1 })
	mu.Lock()
	if !sigOK || native[0] == "" || bx[0] != "ONCRMLEADADD:1:app-token" {
		t.Errorf("deliveries: signature ok %v, native %v, bitrix %v", sigOK, native, bx)
	}
	mu.Unlock()

	// After a restart the dispatcher goes on from where it was.
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	startServer(t, env, addr)
	if code, b := api("PATCH", "/api/v1/leads/1", `{"status_id":"IN_PROCESS"}`); code != 200 {
		t.Fatalf("update lead: %d %s", code, b)
	}
	waitFor("the update", func() bool { return len(native) == 2 && len(bx) == 2 })
	mu.Lock()
	defer mu.Unlock()
	if bx[1] != "ONCRMLEADUPDATE:1:app-token" || native[0] == native[1] {
		t.Errorf("after restart: native %v, bitrix %v", native, bx)
	}
}

// TestShutdownFinishesDeliveryInFlight: SIGINT while a receiver is still
// answering does not cut the delivery; the server waits for it, records it
// delivered and leaves no job to run (the first attempt's safety-net job
// deleted, or River's completed), so nothing is sent again after a
// restart.
func TestShutdownFinishesDeliveryInFlight(t *testing.T) {
	storetest.EngineAgnostic(t)
	got := make(chan struct{}, 1)
	release := make(chan struct{})
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case got <- struct{}{}:
		default:
		}
		<-release
	}))
	defer recv.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	data := t.TempDir()
	addr := freeAddr(t)
	env := []string{"OBMEN_DATA=" + data, "OBMEN_ADMIN_PASSWORD=admin-password", "OBMEN_LOG_LEVEL=warn",
		"OBMEN_OUTBOUND_ALLOW=127.0.0.1"}
	srv := startServer(t, env, addr)
	key := strings.TrimSpace(obmen(t, env, "", "user", "new-key", "admin"))
	post := func(path, body string) {
		req, _ := http.NewRequest("POST", "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
	}
	post("/api/v1/outbound-webhooks", fmt.Sprintf(`{"kind":"native","url":%q,"events":["lead.*"],"token":"signing-secret"}`, recv.URL))
	post("/api/v1/leads", `{"title":"Заявка"}`)
	select {
	case <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("the delivery never reached the receiver")
	}
	// The receiver holds the request; the server is told to stop, then the
	// receiver answers.
	stopped := make(chan error, 1)
	go func() { stopped <- srv.stop() }()
	time.Sleep(300 * time.Millisecond)
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}

	d, err := sql.Open("sqlite", "file:"+filepath.Join(data, "obmen.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var status string
	var attempts int
	if err := d.QueryRow("SELECT status, attempts FROM deliveries").Scan(&status, &attempts); err != nil {
		t.Fatal(err)
	}
	if status != "delivered" || attempts != 1 {
		t.Fatalf("delivery after a graceful stop: %s after %d attempts, want delivered by one", status, attempts)
	}
	// The delivery's job only: the server's own periodic jobs (schedules,
	// polls) may have run or be waiting for their time.
	rows, err := d.Query("SELECT state, COUNT(*) FROM river_job WHERE kind = 'delivery' GROUP BY state")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	states := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		states[s] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(states) > 1 || len(states) == 1 && states["completed"] != 1 {
		t.Fatalf("jobs after a graceful stop: %v, want none left to run", states)
	}
}
