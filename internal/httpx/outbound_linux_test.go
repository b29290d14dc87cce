package httpx

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestOutboundConnectTimeout needs a connect that hangs without a network:
// Linux drops the SYNs to a listener whose accept queue is full, and a
// backlog of 0 fills it with one connection.
func TestOutboundConnectTimeout(t *testing.T) {
	t.Parallel()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Skip(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Skip(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Skip(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
	full := false
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			full = true
			break
		}
		defer c.Close()
	}
	if !full {
		t.Skip("the accept queue never filled; cannot make a connect hang")
	}

	c := NewOutboundClient(OutboundPolicy{
		AllowCIDRs:     []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		ConnectTimeout: 300 * time.Millisecond,
		TotalTimeout:   10 * time.Second,
	})
	start := time.Now()
	_, err = c.Get("http://" + addr + "/")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("gave up after %v, want about 300ms (the connect timeout, not the total)", d)
	}
}
