package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binary is the obmen binary built once for the tests that run it as a
// separate process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "obmen-bin-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "obmen")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build obmen:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// server is an "obmen serve" process.
type server struct {
	t    testing.TB
	cmd  *exec.Cmd
	addr string
	out  *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs obmen serve with env and waits until it answers.
func startServer(t testing.TB, env []string, addr string) *server {
	t.Helper()
	return startWith(t, env, addr, http.DefaultClient, "http")
}

// startHTTPS is startServer for a server with TLS.
func startHTTPS(t testing.TB, env []string, addr string, client *http.Client) *server {
	t.Helper()
	return startWith(t, env, addr, client, "https")
}

func startWith(t testing.TB, env []string, addr string, client *http.Client, scheme string) *server {
	t.Helper()
	s := spawnServer(t, env, addr)
	s.waitReady(client, scheme)
	return s
}

// spawnServer starts obmen serve with env and does not wait for it
// (several processes starting at once: waitReady each).
func spawnServer(t testing.TB, env []string, addr string) *server {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--addr", addr)
	cmd.Env = append(os.Environ(), env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, addr: addr, out: out, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.kill() })
	return s
}

// waitReady waits until the server answers /readyz with 200.
func (s *server) waitReady(client *http.Client, scheme string) {
	t, cmd, out, addr := s.t, s.cmd, s.out, s.addr
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(scheme + "://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-s.done:
			// The exit status tells a crash (exit status 2, a signal) from
			// an error the server printed.
			t.Fatalf("server exited (%v):\n%s", cmd.ProcessState, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s", out.String())
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func (s *server) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// stop sends SIGTERM and waits for a graceful exit.
func (s *server) stop() error {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
		return nil
	case <-time.After(30 * time.Second):
		s.kill()
		return fmt.Errorf("server did not stop in 30s")
	}
}

// obmen runs a CLI command and returns its stdout.
func obmen(t testing.TB, env []string, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("obmen %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
