// Package smtptest runs a real SMTP server (emersion/go-smtp) on loopback
// for tests: it keeps every letter it is given, may want AUTH PLAIN, and
// may refuse the first letters with 451 as a busy server does.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Letter is one letter the server took.
type Letter struct {
	From string
	To   []string
	Data []byte
}

// Server is the running server. User and Pass, when set, make AUTH PLAIN
// required before MAIL; TempFail refuses that many letters with 451.
// Security "ssl" serves implicit TLS (port 465 style), "starttls" offers
// STARTTLS; with either, AUTH is refused before TLS. The certificate is
// made at Start for 127.0.0.1 and localhost; RootCAs trusts it.
type Server struct {
	User, Pass string
	TempFail   int
	Security   string
	Addr       string

	mu      sync.Mutex
	letters []Letter
	roots   *x509.CertPool
}

// RootCAs is a pool that trusts the server's certificate.
func (s *Server) RootCAs() *x509.CertPool { return s.roots }

// selfSigned makes a certificate for the loopback names.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// Start listens on a loopback port until the test ends.
func Start(t testing.TB, s *Server) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(s)
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	switch s.Security {
	case "ssl", "starttls":
		cert, pool := selfSigned(t)
		s.roots = pool
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		srv.AllowInsecureAuth = false
		if s.Security == "ssl" {
			l = tls.NewListener(l, srv.TLSConfig)
		}
	case "":
	default:
		t.Fatalf("smtptest: unknown security %q", s.Security)
	}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.Addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Host and Port are the server's address.
func (s *Server) Host() string { h, _, _ := net.SplitHostPort(s.Addr); return h }

// Port is the server's port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Letters returns what the server took so far.
func (s *Server) Letters() []Letter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Letter(nil), s.letters...)
}

// NewSession is go-smtp's Backend.
func (s *Server) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{srv: s}, nil }

type session struct {
	srv    *Server
	authed bool
	cur    Letter
}

func (s *session) AuthMechanisms() []string {
	if s.srv.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.srv.User || pass != s.srv.Pass {
			return errors.New("invalid credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.User != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.cur.From = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if s.srv.TempFail > 0 {
		s.srv.TempFail--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.cur.Data = b
	s.srv.letters = append(s.srv.letters, s.cur)
	return nil
}

func (s *session) Reset()        { s.cur = Letter{} }
func (s *session) Logout() error { return nil }
