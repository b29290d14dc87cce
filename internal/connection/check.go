package connection

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"syscall"

	"github.com/obmen/obmen/internal/httpx"
)

// Classes of a failed check; each has its message in the message files
// ("connection.check.<class>").
const (
	ClassCredentials = "credentials" // the remote side refused the login, password, key or token
	ClassAccount     = "account"     // no such account, host or site
	ClassNetwork     = "network"     // no connection: DNS, refused, timed out
	ClassRateLimited = "rate_limited"
	ClassTLS         = "tls" // the certificate or the TLS handshake
	ClassBlocked     = "blocked"
	ClassOther       = "other"
)

// CheckError is a check that failed, with its class and what the remote
// side said.
type CheckError struct {
	Class string
	Err   error
}

func (e *CheckError) Error() string { return e.Class + ": " + e.Err.Error() }
func (e *CheckError) Unwrap() error { return e.Err }

// Fail marks err as a failure of class.
func Fail(class string, err error) error {
	if err == nil {
		return nil
	}
	return &CheckError{Class: class, Err: err}
}

// Classify tells the class of a check's error: a *CheckError's own, else
// what the error is (a refused address, a TLS failure, a network one).
func Classify(err error) string {
	var ce *CheckError
	var be *httpx.BlockedError
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ie x509.CertificateInvalidError
	var re tls.RecordHeaderError
	var ae *tls.AlertError
	var ve *tls.CertificateVerificationError
	var dns *net.DNSError
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &ce):
		return ce.Class
	case errors.As(err, &be):
		return ClassBlocked
	case errors.As(err, &ue), errors.As(err, &he), errors.As(err, &ie), errors.As(err, &re), errors.As(err, &ae), errors.As(err, &ve):
		return ClassTLS
	case errors.As(err, &dns):
		return ClassAccount
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return ClassNetwork
	case errors.As(err, &ne) && ne.Timeout(), errors.As(err, &oe):
		return ClassNetwork
	}
	return ClassOther
}

// CheckResult is what a check answers: ok, or the class of the failure
// with a message for a person and the remote side's own words.
type CheckResult struct {
	OK      bool   `json:"ok"`
	Class   string `json:"class,omitempty"`
	Message string `json:"message"`
	Detail  string `json:"detail,omitempty"`
}

// result builds the answer to a check in lang.
func (r *Registry) result(lang string, err error) CheckResult {
	if err == nil {
		return CheckResult{OK: true, Message: r.msgs.T(lang, "connection.check.ok")}
	}
	class := Classify(err)
	detail := err.Error()
	var ce *CheckError
	if errors.As(err, &ce) {
		detail = ce.Err.Error()
	}
	return CheckResult{Class: class, Message: r.msgs.T(lang, "connection.check."+class), Detail: detail}
}
