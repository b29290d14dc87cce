package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRefusedReason(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ ip, reason string }{
		{"127.0.0.1", "loopback address"},
		{"127.255.255.254", "loopback address"},
		{"::1", "loopback address"},
		{"0.0.0.0", "unspecified address"},
		{"::", "unspecified address"},
		{"0.1.2.3", `"this network"`},
		{"10.0.0.5", "private address"},
		{"172.16.0.1", "private address"},
		{"172.31.255.255", "private address"},
		{"192.168.1.1", "private address"},
		{"fc00::1", "private address"},
		{"fd00:ec2::254", "private address"},
		{"169.254.169.254", "link-local cloud metadata address"},
		{"169.254.1.1", "link-local address"},
		{"fe80::1", "link-local address"},
		{"fe80::1%eth0", "link-local address"},
		{"100.64.0.1", "CGNAT"},
		{"100.100.100.200", "CGNAT"},
		{"224.0.0.1", "multicast address"},
		{"239.255.255.250", "multicast address"},
		{"ff02::1", "multicast address"},
		{"255.255.255.255", "broadcast address"},
		{"240.0.0.1", "reserved address"},
		{"198.18.0.1", "benchmarking address"},
		{"192.0.2.1", "documentation address"},
		{"2001:db8::1", "documentation address"},
		{"::ffff:127.0.0.1", "IPv4-mapped loopback address"},
		{"::ffff:10.0.0.5", "IPv4-mapped private address"},
		{"::ffff:169.254.169.254", "IPv4-mapped link-local cloud metadata address"},
		{"::ffff:0.0.0.0", "IPv4-mapped unspecified address"},
		{"64:ff9b::7f00:1", "NAT64 loopback address"},
		{"64:ff9b::a9fe:a9fe", "NAT64 link-local cloud metadata address"},
		{"64:ff9b::a00:5", "NAT64 private address"},
		{"64:ff9b:1::a00:5", "local-use NAT64 address"},
		{"2002:7f00:1::1", "6to4 loopback address"},
		{"2002:c0a8:101::1", "6to4 private address"},
		{"::127.0.0.1", "IPv4-compatible IPv6 address"},
		{"2001::1", "Teredo address"},
		{"fec0::1", "site-local address"},
		{"100::1", "discard-only address"},
		{"4000::1", "reserved address"},
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"172.32.0.1", ""},
		{"100.128.0.1", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""},
		{"2002:808:808::1", ""},
		{"2a00:1450:4001::1", ""},
	} {
		if got := refusedReason(netip.MustParseAddr(tt.ip)); !(got == tt.reason || tt.reason != "" && strings.Contains(got, tt.reason)) {
			t.Errorf("refusedReason(%s) = %q, want %q", tt.ip, got, tt.reason)
		}
	}
}

func FuzzRefusedReason(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "8.8.8.8", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "fe80::1", "2a00::1"} {
		f.Add(netip.MustParseAddr(s).AsSlice())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		r := refusedReason(ip)
		// Whatever passes is global unicast, neither private nor loopback,
		// however it is written.
		if r == "" {
			u := ip.Unmap()
			if !u.IsGlobalUnicast() || u.IsPrivate() || u.IsLoopback() || u.IsLinkLocalUnicast() {
				t.Fatalf("%s passes but is not public", ip)
			}
		}
		if ip.Is4() {
			// The embedding forms of a refused IPv4 address are refused, and
			// those of a public one pass.
			v4 := ip.As4()
			var nat64, mapped, sixto4 [16]byte
			copy(nat64[:], netip.MustParseAddr("64:ff9b::").AsSlice())
			copy(nat64[12:], v4[:])
			mapped = netip.AddrFrom4(v4).As16()
			sixto4[0], sixto4[1] = 0x20, 0x02
			copy(sixto4[2:6], v4[:])
			for _, form := range [][16]byte{nat64, mapped, sixto4} {
				a := netip.AddrFrom16(form)
				if fr := refusedReason(a); (fr == "") != (r == "") {
					t.Fatalf("%s: %q but %s: %q", ip, r, a, fr)
				}
			}
		}
	})
}

// fakeResolver answers from a table and fails for other names.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ss, ok := f[strings.ToLower(host)]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var ips []netip.Addr
	for _, s := range ss {
		ips = append(ips, netip.MustParseAddr(s))
	}
	return ips, nil
}

// serveOn starts a test server listening on addr ("127.0.0.2:0").
func serveOn(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close()
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })

func port(t *testing.T, s *httptest.Server) string {
	t.Helper()
	u, _ := url.Parse(s.URL)
	return u.Port()
}

func assertBlocked(t *testing.T, err error, ip, reason string) *BlockedError {
	t.Helper()
	var be *BlockedError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a *BlockedError", err)
	}
	if ip != "" && be.IP.WithZone("") != netip.MustParseAddr(ip) {
		t.Errorf("blocked IP = %s, want %s (%v)", be.IP, ip, err)
	}
	if !strings.Contains(be.Reason, reason) {
		t.Errorf("reason = %q, want %q", be.Reason, reason)
	}
	return be
}

func get(c *http.Client, u string, hdr ...string) (string, *http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return "", nil, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", nil, err
	}
	b, err := ReadLimited(resp, 0)
	return string(b), resp, err
}

func TestOutboundLoopback(t *testing.T) {
	t.Parallel()
	s := serveOn(t, "127.0.0.1:0", hello)
	p := port(t, s)
	for _, tt := range []struct {
		name   string
		policy OutboundPolicy
		url    string
		ip     string // refused address; "" if the request must succeed
		reason string
	}{
		{"refused by default", OutboundPolicy{}, s.URL, "127.0.0.1", "loopback address"},
		{"allowed by CIDR", OutboundPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, s.URL, "", ""},
		{"CIDR too narrow", OutboundPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}, s.URL, "127.0.0.1", "loopback address"},
		{"localhost name", OutboundPolicy{}, "http://localhost:" + p + "/", "127.0.0.1", "loopback address"},
		{"localhost subdomain", OutboundPolicy{}, "http://evil.LOCALHOST.:" + p + "/", "127.0.0.1", "loopback address"},
		{"localhost allowed by CIDR", OutboundPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, "http://localhost:" + p + "/", "", ""},
		{"IPv4-mapped", OutboundPolicy{}, "http://[::ffff:127.0.0.1]:" + p + "/", "127.0.0.1", "loopback address"},
		{"IPv4-mapped allowed by CIDR", OutboundPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, "http://[::ffff:127.0.0.1]:" + p + "/", "", ""},
		{"mapped CIDR", OutboundPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("::ffff:127.0.0.0/104")}}, s.URL, "", ""},
		{"host allowed", OutboundPolicy{AllowHosts: []string{"LocalHost"}}, "http://localhost:" + p + "/", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.policy.TotalTimeout = 5 * time.Second
			body, _, err := get(NewOutboundClient(tt.policy), tt.url)
			if tt.ip == "" {
				if err != nil || body != "hello" {
					t.Fatalf("got %q, %v; want hello", body, err)
				}
				return
			}
			assertBlocked(t, err, tt.ip, tt.reason)
		})
	}
}

func TestOutboundRefusesLiteralAddresses(t *testing.T) {
	t.Parallel()
	c := NewOutboundClient(OutboundPolicy{ConnectTimeout: 200 * time.Millisecond, TotalTimeout: time.Second})
	for _, tt := range []struct{ host, ip, reason string }{
		{"127.0.0.1", "127.0.0.1", "loopback"},
		{"[::1]", "::1", "loopback"},
		{"0.0.0.0", "0.0.0.0", "unspecified"},
		{"[::]", "::", "unspecified"},
		{"0.1.2.3", "0.1.2.3", "this network"},
		{"10.0.0.5", "10.0.0.5", "private"},
		{"172.16.3.4", "172.16.3.4", "private"},
		{"192.168.0.1", "192.168.0.1", "private"},
		{"[fd12::1]", "fd12::1", "private"},
		{"169.254.169.254", "169.254.169.254", "cloud metadata"},
		{"169.254.3.3", "169.254.3.3", "link-local"},
		{"[fe80::1%25lo]", "fe80::1", "link-local"},
		{"100.64.1.1", "100.64.1.1", "CGNAT"},
		{"224.0.0.251", "224.0.0.251", "multicast"},
		{"[ff02::fb]", "ff02::fb", "multicast"},
		{"255.255.255.255", "255.255.255.255", "broadcast"},
		{"[::ffff:10.0.0.5]", "10.0.0.5", "private"},
		{"[::ffff:169.254.169.254]", "169.254.169.254", "cloud metadata"},
		{"[64:ff9b::a9fe:a9fe]", "64:ff9b::a9fe:a9fe", "NAT64 link-local"},
		{"[64:ff9b::7f00:1]", "64:ff9b::7f00:1", "NAT64 loopback"},
	} {
		u := "http://" + tt.host + ":8080/x"
		start := time.Now()
		_, _, err := get(c, u)
		be := assertBlocked(t, err, tt.ip, tt.reason)
		if be.URL != u {
			t.Errorf("%s: URL in error = %q", u, be.URL)
		}
		if d := time.Since(start); d > 150*time.Millisecond {
			t.Errorf("%s: refusal took %v; it must come before connecting", u, d)
		}
	}
}

func TestOutboundResolver(t *testing.T) {
	t.Parallel()
	s := serveOn(t, "127.0.0.1:0", hello)
	p := port(t, s)
	res := fakeResolver{
		"internal.example": {"10.0.0.5"},
		"app.example":      {"127.0.0.1"},
		"metadata.example": {"8.8.8.8", "169.254.169.254"},
		"mixed.example":    {"10.0.0.5", "127.0.0.1"},
		"onec.lan":         {"127.0.0.1"},
	}
	loop := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	for _, tt := range []struct {
		name   string
		policy OutboundPolicy
		url    string
		err    string // exact error text of a refusal; "" if the request must succeed
	}{
		{"private", OutboundPolicy{}, "http://internal.example/",
			"httpx: refused to connect to 10.0.0.5 (private address) for http://internal.example/"},
		{"password not shown", OutboundPolicy{}, "http://bob:s3cret@internal.example/",
			"httpx: refused to connect to 10.0.0.5 (private address) for http://bob:xxxxx@internal.example/"},
		{"loopback allowed", OutboundPolicy{AllowCIDRs: loop}, "http://app.example:" + p + "/", ""},
		{"loopback not allowed", OutboundPolicy{}, "http://app.example:" + p + "/",
			"httpx: refused to connect to 127.0.0.1 (loopback address) for http://app.example:" + p + "/"},
		// Only the allowed address is dialled.
		{"mixed", OutboundPolicy{AllowCIDRs: loop}, "http://mixed.example:" + p + "/", ""},
		{"host allowed", OutboundPolicy{AllowHosts: []string{"OneC.lan"}}, "http://onec.LAN:" + p + "/", ""},
		{"other host not allowed", OutboundPolicy{AllowHosts: []string{"onec.lan"}}, "http://app.example:" + p + "/",
			"httpx: refused to connect to 127.0.0.1 (loopback address) for http://app.example:" + p + "/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.policy.Resolver = res
			tt.policy.TotalTimeout = 5 * time.Second
			body, _, err := get(NewOutboundClient(tt.policy), tt.url)
			if tt.err == "" {
				if err != nil || body != "hello" {
					t.Fatalf("got %q, %v; want hello", body, err)
				}
				return
			}
			var be *BlockedError
			if !errors.As(err, &be) || be.Error() != tt.err {
				t.Fatalf("err = %v\nwant %s", err, tt.err)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}

	// A public address beside the metadata one: the public one is dialled
	// (and fails offline or not), never the metadata one.
	c := NewOutboundClient(OutboundPolicy{Resolver: res, ConnectTimeout: 100 * time.Millisecond})
	if _, _, err := get(c, "http://metadata.example/"); errors.As(err, new(*BlockedError)) {
		t.Errorf("metadata.example: %v", err)
	}
}

func TestOutboundSchemes(t *testing.T) {
	t.Parallel()
	c := NewOutboundClient(OutboundPolicy{})
	for _, u := range []string{"file:///etc/passwd", "gopher://example.com:70/_x", "ftp://example.com/a", "FILE:///etc/passwd"} {
		_, _, err := get(c, u)
		be := assertBlocked(t, err, "", "is not allowed; only http and https")
		if be.IP.IsValid() {
			t.Errorf("%s: IP = %s", u, be.IP)
		}
		scheme, rest, _ := strings.Cut(u, ":")
		scheme = strings.ToLower(scheme) // as url.Parse leaves it
		if want := fmt.Sprintf("httpx: refused %s:%s: scheme %q is not allowed; only http and https are", scheme, rest, scheme); be.Error() != want {
			t.Errorf("error = %s\nwant %s", be.Error(), want)
		}
	}
}

func TestOutboundRedirects(t *testing.T) {
	t.Parallel()
	var bHits atomic.Int32
	var bAuth atomic.Value
	b := serveOn(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bHits.Add(1)
		bAuth.Store(r.Header.Get("Authorization") + "|" + r.Header.Get("Cookie") + "|" + r.Header.Get("Obmen-Signature") + "|" + r.Header.Get("X-Api-Key") + "|" + r.Header.Get("Accept"))
		io.WriteString(w, "hello")
	}))
	var aAuth atomic.Value
	a := serveOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/to-b":
			http.Redirect(w, r, b.URL+"/", http.StatusFound)
		case r.URL.Path == "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case r.URL.Path == "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case r.URL.Path == "/to-sub":
			http.Redirect(w, r, "http://sub.a.test:"+r.URL.Query().Get("port")+"/end", http.StatusFound)
		case r.URL.Path == "/to-self":
			http.Redirect(w, r, "/end", http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/chain/"):
			// /chain/n redirects n more times.
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/chain/"))
			if n > 0 {
				http.Redirect(w, r, "/chain/"+strconv.Itoa(n-1), http.StatusFound)
				return
			}
			io.WriteString(w, "hello")
		case r.URL.Path == "/end":
			aAuth.Store(r.Header.Get("Authorization"))
			io.WriteString(w, "hello")
		default:
			http.NotFound(w, r)
		}
	}))
	onlyA := OutboundPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, MaxRedirects: 3}
	both := OutboundPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

	t.Run("to a refused address", func(t *testing.T) {
		_, _, err := get(NewOutboundClient(onlyA), a.URL+"/to-b")
		be := assertBlocked(t, err, "127.0.0.2", "loopback address")
		if be.URL != b.URL+"/" {
			t.Errorf("URL in error = %q, want %q", be.URL, b.URL+"/")
		}
		if n := bHits.Load(); n != 0 {
			t.Errorf("refused server got %d requests", n)
		}
	})
	t.Run("to cloud metadata", func(t *testing.T) {
		_, _, err := get(NewOutboundClient(onlyA), a.URL+"/to-metadata")
		assertBlocked(t, err, "169.254.169.254", "cloud metadata")
	})
	t.Run("to a file URL", func(t *testing.T) {
		_, _, err := get(NewOutboundClient(onlyA), a.URL+"/to-file")
		assertBlocked(t, err, "", `scheme "file" is not allowed`)
	})
	t.Run("chain within the limit", func(t *testing.T) {
		if body, _, err := get(NewOutboundClient(onlyA), a.URL+"/chain/3"); err != nil || body != "hello" {
			t.Fatalf("got %q, %v", body, err)
		}
	})
	t.Run("too many", func(t *testing.T) {
		_, _, err := get(NewOutboundClient(onlyA), a.URL+"/chain/4")
		if !errors.Is(err, ErrTooManyRedirects) || !strings.Contains(err.Error(), "limit is 3") {
			t.Fatalf("err = %v, want too many redirects naming the limit", err)
		}
	})
	t.Run("default limit", func(t *testing.T) {
		c := NewOutboundClient(OutboundPolicy{AllowCIDRs: onlyA.AllowCIDRs})
		if _, _, err := get(c, a.URL+"/chain/5"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := get(c, a.URL+"/chain/6"); !errors.Is(err, ErrTooManyRedirects) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("none followed", func(t *testing.T) {
		_, resp, err := get(NewOutboundClient(OutboundPolicy{AllowCIDRs: onlyA.AllowCIDRs, MaxRedirects: -1}), a.URL+"/chain/1")
		if err != nil || resp.StatusCode != http.StatusFound {
			t.Fatalf("got %v, %v; want the 302", resp, err)
		}
	})
	t.Run("credentials dropped for another host", func(t *testing.T) {
		if _, _, err := get(NewOutboundClient(both), a.URL+"/to-b", "Authorization", "Bearer secret", "Cookie", "s=1",
			"Obmen-Signature", "t=1,v1=abc", "X-Api-Key", "k", "Accept", "application/json"); err != nil {
			t.Fatal(err)
		}
		if got := bAuth.Load(); got != "||||application/json" {
			t.Errorf("other host got Authorization|Cookie|Obmen-Signature|X-Api-Key|Accept %q", got)
		}
	})
	t.Run("credentials dropped for a subdomain", func(t *testing.T) {
		// net/http itself would keep them for sub.a.test.
		p := both
		p.Resolver = fakeResolver{"a.test": {"127.0.0.1"}, "sub.a.test": {"127.0.0.1"}}
		aAuth.Store("unset")
		if _, _, err := get(NewOutboundClient(p), "http://a.test:"+port(t, a)+"/to-sub?port="+port(t, a), "Authorization", "Bearer secret"); err != nil {
			t.Fatal(err)
		}
		if got := aAuth.Load(); got != "" {
			t.Errorf("subdomain got Authorization %q", got)
		}
	})
	t.Run("credentials kept for the same host", func(t *testing.T) {
		aAuth.Store("unset")
		if _, _, err := get(NewOutboundClient(both), a.URL+"/to-self", "Authorization", "Bearer secret"); err != nil {
			t.Fatal(err)
		}
		if got := aAuth.Load(); got != "Bearer secret" {
			t.Errorf("same host got Authorization %q", got)
		}
	})
}

func TestOutboundResponseLimit(t *testing.T) {
	t.Parallel()
	s := serveOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Write([]byte(strings.Repeat("x", n)))
	}))
	allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	for _, tt := range []struct {
		name      string
		clientMax int64 // OutboundPolicy.MaxResponseBytes
		readMax   int64 // ReadLimited's max
		n         int   // body size
		limit     int64 // limit named in the error; 0 if the read must succeed
	}{
		{"client cap exceeded", 1000, 0, 1001, 1000},
		{"client cap exactly", 1000, 0, 1000, 0},
		{"ReadLimited exceeded", 0, 500, 501, 500},
		{"ReadLimited exactly", 0, 500, 500, 0},
		{"lower client cap wins", 100, 500, 300, 100},
		{"default client cap", 0, 4 << 20, DefaultMaxResponseBytes + 1, DefaultMaxResponseBytes},
		{"no client cap", -1, 4 << 20, DefaultMaxResponseBytes + 1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewOutboundClient(OutboundPolicy{AllowCIDRs: allow, MaxResponseBytes: tt.clientMax})
			resp, err := c.Get(s.URL + "/?n=" + strconv.Itoa(tt.n))
			if err != nil {
				t.Fatal(err)
			}
			b, err := ReadLimited(resp, tt.readMax)
			if tt.limit == 0 {
				if err != nil || len(b) != tt.n {
					t.Fatalf("read %d bytes, %v; want %d", len(b), err, tt.n)
				}
				return
			}
			if !errors.Is(err, ErrResponseTooLarge) || !strings.Contains(err.Error(), fmt.Sprintf("limit is %d bytes", tt.limit)) {
				t.Fatalf("err = %v, want too large naming %d bytes", err, tt.limit)
			}
			if int64(len(b)) > tt.limit {
				t.Errorf("returned %d bytes, more than the limit %d", len(b), tt.limit)
			}
		})
	}
}

func TestOutboundTotalTimeout(t *testing.T) {
	t.Parallel()
	// The kernel completes the TCP handshake for a listener that never
	// accepts, so only the total timeout can end the request.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := NewOutboundClient(OutboundPolicy{
		AllowCIDRs:   []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		TotalTimeout: 300 * time.Millisecond,
	})
	start := time.Now()
	_, err = c.Get("http://" + l.Addr().String() + "/")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("gave up after %v, want about 300ms", d)
	}
}

func TestOutboundIgnoresEnvironmentProxy(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("http_proxy", "http://127.0.0.1:1")
	c := NewOutboundClient(OutboundPolicy{})
	if tr := c.Transport.(*outboundTransport).base; tr.Proxy != nil {
		t.Fatal("transport has a proxy function")
	}
	_, _, err := get(c, "http://10.0.0.5/")
	assertBlocked(t, err, "10.0.0.5", "private")
}

// TestOutboundKeepsConnectionsPerHost: the job workers post to one
// webhook receiver at once, round after round; the client keeps their
// connections alive instead of opening one per request (net/http keeps 2
// idle per host unless told: 64 + 62 × 9 connections here).
func TestOutboundKeepsConnectionsPerHost(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := NewOutboundClient(OutboundPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	for range 10 {
		var wg sync.WaitGroup
		for range MaxIdlePerHost {
			wg.Go(func() {
				resp, err := c.Post(srv.URL, "application/json", strings.NewReader(`{}`))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body) //nolint:errcheck
				resp.Body.Close()
			})
		}
		wg.Wait()
	}
	// A connection may be dialled while another is on its way back to
	// the pool; one per request would be 640.
	if n := conns.Load(); n > 2*MaxIdlePerHost {
		t.Fatalf("%d connections for %d requests in rounds of %d", n, 10*MaxIdlePerHost, MaxIdlePerHost)
	}
}
