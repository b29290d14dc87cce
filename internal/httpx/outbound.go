package httpx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Defaults of OutboundPolicy's zero fields.
const (
	DefaultConnectTimeout   = 5 * time.Second
	DefaultTotalTimeout     = 30 * time.Second
	DefaultMaxRedirects     = 5
	DefaultMaxResponseBytes = 1 << 20
)

// Resolver turns a host name into addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// OutboundPolicy says where the server may send requests to URLs that
// users, admins or remote systems gave it (webhooks, connectors).
// Anything that is not a public Internet address is refused unless
// allowed here.
type OutboundPolicy struct {
	// AllowHosts are host names (exact, case-insensitive) trusted whatever
	// they resolve to, such as a 1C server on the LAN.
	AllowHosts []string
	// AllowCIDRs are address ranges allowed although not public.
	AllowCIDRs []netip.Prefix
	// ConnectTimeout bounds resolving and connecting, and separately the
	// TLS handshake. Zero or less means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// TotalTimeout bounds a whole exchange, redirects and reading the body
	// included. Zero or less means DefaultTotalTimeout.
	TotalTimeout time.Duration
	// MaxRedirects is how many redirects are followed; zero means
	// DefaultMaxRedirects, less than zero means none (the 3xx response is
	// returned as it is).
	MaxRedirects int
	// MaxResponseBytes caps every response body; reading past it fails.
	// Zero means DefaultMaxResponseBytes, less than zero no cap (for a
	// caller that streams and limits the body itself).
	MaxResponseBytes int64
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver Resolver
}

// BlockedError is a request the outbound policy refused.
type BlockedError struct {
	URL    string     // the request URL, password removed
	IP     netip.Addr // the refused address; zero when the URL itself is refused
	Reason string
}

func (e *BlockedError) Error() string {
	var b strings.Builder
	b.WriteString("httpx: refused ")
	if e.IP.IsValid() {
		fmt.Fprintf(&b, "to connect to %s (%s)", e.IP, e.Reason)
		if e.URL != "" {
			b.WriteString(" for " + e.URL)
		}
		return b.String()
	}
	if e.URL != "" {
		b.WriteString(e.URL)
	}
	b.WriteString(": " + e.Reason)
	return b.String()
}

var (
	// ErrTooManyRedirects is returned, wrapped, when a chain of redirects
	// is longer than the policy allows.
	ErrTooManyRedirects = errors.New("too many redirects")
	// ErrResponseTooLarge is returned, wrapped, when a response body is
	// longer than the limit.
	ErrResponseTooLarge = errors.New("response body too large")
)

// newGuard is the address check every outbound connection goes through.
func newGuard(p OutboundPolicy) *guard {
	g := &guard{
		allowHosts: map[string]bool{},
		resolver:   p.Resolver,
		timeout:    p.ConnectTimeout,
	}
	for _, h := range p.AllowHosts {
		g.allowHosts[strings.ToLower(h)] = true
	}
	for _, c := range p.AllowCIDRs {
		// Write ::ffff:10.0.0.0/104 as 10.0.0.0/8: addresses are unmapped
		// before they are checked.
		if c.Addr().Is4In6() && c.Bits() >= 96 {
			c = netip.PrefixFrom(c.Addr().Unmap(), c.Bits()-96)
		}
		g.allowCIDRs = append(g.allowCIDRs, c.Masked())
	}
	if g.resolver == nil {
		g.resolver = net.DefaultResolver
	}
	if g.timeout <= 0 {
		g.timeout = DefaultConnectTimeout
	}
	return g
}

// Dialer opens TCP connections for protocols other than HTTP — IMAP,
// SMTP and whatever a connector speaks — under the same guard as the HTTP
// client: the host is resolved once, internal addresses are refused
// before connecting (unless the policy allows them), and the socket is
// checked again as it connects.
type Dialer struct{ g *guard }

// NewDialer returns a guarded dialer for p (only the allow lists, the
// resolver and ConnectTimeout apply).
func NewDialer(p OutboundPolicy) *Dialer { return &Dialer{g: newGuard(p)} }

// DialContext connects to addr ("host:port") over network ("tcp").
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return d.g.dialContext(ctx, network, addr)
}

// DialTLS returns a dial function that connects through d and then does
// the TLS handshake with tc (its ServerName is the name checked): implicit
// TLS (SMTP on 465, IMAPS) for clients that take a dial function, since
// a library given one does not wrap the connection itself.
func (d *Dialer) DialTLS(tc *tls.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		t := tls.Client(conn, tc)
		if err := t.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
		}
		return t, nil
	}
}

// NewOutboundClient returns a client that connects only where p allows.
// The check is made on each address actually dialled, after resolving, so
// a name that resolves to a public address when a URL is saved and to an
// internal one later (DNS rebinding) is still refused. Environment proxies
// are ignored: a proxy would connect on our behalf, past the check.
func NewOutboundClient(p OutboundPolicy) *http.Client {
	g := newGuard(p)
	total := p.TotalTimeout
	if total <= 0 {
		total = DefaultTotalTimeout
	}
	maxRedirects := p.MaxRedirects
	if maxRedirects == 0 {
		maxRedirects = DefaultMaxRedirects
	}
	maxBody := p.MaxResponseBytes
	if maxBody == 0 {
		maxBody = DefaultMaxResponseBytes
	}
	return &http.Client{
		Transport: &outboundTransport{
			base: &http.Transport{
				Proxy:                 nil,
				DialContext:           g.dialContext,
				ForceAttemptHTTP2:     true, // a custom DialContext turns it off otherwise
				TLSHandshakeTimeout:   g.timeout,
				ExpectContinueTimeout: time.Second,
				IdleConnTimeout:       90 * time.Second,
				MaxIdleConns:          100,
				// A webhook receiver is one host that the job workers
				// (64, internal/jobs) post to at once: with net/http's
				// default of 2 idle connections per host, most deliveries
				// of a stream opened a connection of their own (obmen
				// bench --deliveries: 679 connections for 1,155
				// deliveries at 200/s) and left it in TIME_WAIT.
				MaxIdleConnsPerHost: MaxIdlePerHost,
			},
			maxBody: maxBody,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			return checkRedirect(req, via, maxRedirects)
		},
		Timeout: total,
	}
}

// MaxIdlePerHost is how many idle connections an outbound client keeps
// to one host: as many as the job workers that may call it at once.
const MaxIdlePerHost = 64

// guard resolves and dials, refusing addresses the policy does not allow.
type guard struct {
	allowHosts map[string]bool
	allowCIDRs []netip.Prefix
	resolver   Resolver
	timeout    time.Duration
}

// refused returns why ip may not be dialled, or "" if it may.
func (g *guard) refused(ip netip.Addr) string {
	ip = ip.WithZone("").Unmap() // Prefix.Contains is false for zoned addresses
	for _, c := range g.allowCIDRs {
		if c.Contains(ip) {
			return ""
		}
	}
	return refusedReason(ip)
}

func (g *guard) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("httpx: dial %s: %w", addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()

	trusted := g.allowHosts[strings.ToLower(host)]
	ips, err := g.resolve(ctx, network, host)
	if err != nil {
		return nil, err
	}
	// Dial only addresses that pass; refuse if none does. A name that
	// resolves to both a public and an internal address reaches only the
	// public one.
	var allowed []netip.Addr
	var blocked *BlockedError
	for _, ip := range ips {
		ip = ip.Unmap()
		if trusted {
			allowed = append(allowed, ip)
		} else if r := g.refused(ip); r == "" {
			allowed = append(allowed, ip)
		} else if blocked == nil {
			blocked = &BlockedError{IP: ip, Reason: r}
		}
	}
	if len(allowed) == 0 {
		if blocked == nil {
			return nil, fmt.Errorf("httpx: resolve %s: no addresses", host)
		}
		return nil, blocked
	}

	d := net.Dialer{KeepAlive: 30 * time.Second}
	if !trusted {
		// Check again on the socket about to connect, so that a future
		// change here that dials a name instead of a checked address fails
		// closed.
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("httpx: dial %s: %w", address, err)
			}
			if r := g.refused(ap.Addr()); r != "" {
				return &BlockedError{IP: ap.Addr().Unmap(), Reason: r}
			}
			return nil
		}
	}
	var firstErr error
	for _, ip := range allowed {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

func (g *guard) resolve(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	// RFC 6761: localhost names are loopback, whatever DNS says.
	if name := strings.TrimSuffix(strings.ToLower(host), "."); name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}, nil
	}
	ipNet := "ip"
	switch network {
	case "tcp4":
		ipNet = "ip4"
	case "tcp6":
		ipNet = "ip6"
	}
	ips, err := g.resolver.LookupNetIP(ctx, ipNet, host)
	if err != nil {
		return nil, fmt.Errorf("httpx: resolve %s: %w", host, err)
	}
	return ips, nil
}

// outboundTransport refuses schemes other than http and https, names the
// URL in refusals from the dialer, and caps response bodies.
type outboundTransport struct {
	base    *http.Transport
	maxBody int64
}

func (t *outboundTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkScheme(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		var be *BlockedError
		if errors.As(err, &be) && be.URL == "" {
			named := *be
			named.URL = req.URL.Redacted()
			return nil, &named
		}
		return nil, err
	}
	if t.maxBody >= 0 {
		resp.Body = &limitedBody{rc: resp.Body, left: t.maxBody, limit: t.maxBody}
	}
	return resp, nil
}

func checkScheme(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return nil
	}
	return &BlockedError{URL: u.Redacted(), Reason: fmt.Sprintf("scheme %q is not allowed; only http and https are", u.Scheme)}
}

func checkRedirect(req *http.Request, via []*http.Request, max int) error {
	if max < 0 {
		return http.ErrUseLastResponse
	}
	if len(via) > max {
		return fmt.Errorf("httpx: %w: limit is %d", ErrTooManyRedirects, max)
	}
	if err := checkScheme(req.URL); err != nil {
		return err
	}
	// net/http keeps credentials for a subdomain of the first host and
	// every header it does not know (a webhook's Obmen-Signature, an API
	// key header) for any host. Another scheme, host or port gets only
	// the headers that describe the request, none that prove who sent it.
	if first := via[0].URL; !sameOrigin(first, req.URL) {
		for k := range req.Header {
			if !crossOriginHeaders[http.CanonicalHeaderKey(k)] {
				req.Header.Del(k)
			}
		}
	}
	return nil
}

// crossOriginHeaders are the request headers a redirect to another origin
// keeps.
var crossOriginHeaders = map[string]bool{
	"Accept": true, "Accept-Encoding": true, "Accept-Language": true, "User-Agent": true,
	"Content-Type": true, "Content-Encoding": true, "Content-Language": true,
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// limitedBody fails a read that goes past limit bytes.
type limitedBody struct {
	rc          io.ReadCloser
	left, limit int64
	err         error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	// Read one byte more than is left, to tell "exactly the limit" from
	// "more than the limit".
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) <= b.left {
		b.left -= int64(n)
		return n, err
	}
	n = int(b.left)
	b.left = 0
	b.err = tooLarge(b.limit)
	return n, b.err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

func tooLarge(limit int64) error {
	return fmt.Errorf("httpx: %w: the limit is %d bytes", ErrResponseTooLarge, limit)
}

// ReadLimited reads and closes resp.Body, failing with ErrResponseTooLarge,
// naming the limit, if it holds more than max bytes (zero or less means
// DefaultMaxResponseBytes).
func ReadLimited(resp *http.Response, max int64) ([]byte, error) {
	defer resp.Body.Close()
	if max <= 0 {
		max = DefaultMaxResponseBytes
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if errors.Is(err, ErrResponseTooLarge) {
		return b, err // the client's own cap, lower than max
	}
	if err != nil {
		return b, fmt.Errorf("httpx: read response body: %w", err)
	}
	if int64(len(b)) > max {
		return b[:max], tooLarge(max)
	}
	return b, nil
}
