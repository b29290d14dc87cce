package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/store/storetest"
)

// TestGracefulShutdownFinishesInFlightRequest starts a request, sends the
// server SIGTERM while the request body is still arriving, and expects the
// request to complete (201) and the server to exit cleanly afterwards.
func TestGracefulShutdownFinishesInFlightRequest(t *testing.T) {
	storetest.EngineAgnostic(t)
	env := []string{"OBMEN_DATA=" + t.TempDir(), "OBMEN_ADMIN_PASSWORD=admin-password", "OBMEN_LOG_LEVEL=info"}
	addr := freeAddr(t)
	srv := startServer(t, env, addr)
	key := strings.TrimSpace(obmen(t, env, "", "user", "new-key", "admin"))

	body := `{"title":"Заявка, пришедшая во время остановки"}`
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("POST /api/v1/leads HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, key, len(body))
	half := len(body) / 2
	if _, err := conn.Write([]byte(head + body[:half])); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the server is reading the body

	stopped := make(chan error, 1)
	go func() { stopped <- srv.stop() }()
	time.Sleep(300 * time.Millisecond) // SIGTERM delivered; shutdown waits for us

	if _, err := conn.Write([]byte(body[half:])); err != nil {
		t.Fatalf("server closed the in-flight request: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to the in-flight request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("in-flight request answered %d", resp.StatusCode)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if out := srv.out.String(); !strings.Contains(out, "stopped") {
		t.Fatalf("server did not log a clean stop:\n%s", out)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("server still accepts connections after shutdown")
	}
}
