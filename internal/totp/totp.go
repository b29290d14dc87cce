// Package totp is time-based one-time passwords (RFC 6238 over RFC 4226's
// HOTP) for the optional second sign-in step: HMAC-SHA-1, 6 digits, 30 s
// steps, a code of the step before or after accepted for clock drift.
// The algorithm is a few lines of the standard library; a dependency
// would not save anything.
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

const (
	// Period is the length of one time step.
	Period = 30 * time.Second
	// Digits is the length of a code.
	Digits = 6
	// Skew is how many steps before and after the current one a code may
	// come from.
	Skew = 1
	// SecretBytes is the length of a new secret (160 bits, RFC 4226's
	// recommendation for SHA-1).
	SecretBytes = 20
)

var pow10 = [...]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000}

// HOTP is RFC 4226's code for a counter, digits long (1–9).
func HOTP(key []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%0*d", digits, bin%pow10[digits])
}

// Step is the time step a moment falls in.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// Code is the code of the step t falls in.
func Code(key []byte, t time.Time) string { return HOTP(key, uint64(Step(t)), Digits) }

// Verify reports whether code is the code of the step of now or one of
// the Skew steps around it, and which step matched (the caller refuses a
// step not after the last one used, so that a code works once). The
// comparison takes the same time for every candidate.
func Verify(key []byte, code string, now time.Time) (step int64, ok bool) {
	code = strings.TrimSpace(code)
	if len(code) != Digits {
		return 0, false
	}
	cur := Step(now)
	for d := int64(-Skew); d <= Skew; d++ {
		s := cur + d
		if s < 0 {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(HOTP(key, uint64(s), Digits)), []byte(code)) == 1 {
			step, ok = s, true
		}
	}
	return step, ok
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret returns a random secret.
func NewSecret() []byte {
	b := make([]byte, SecretBytes)
	if _, err := rand.Read(b); err != nil {
		panic("totp: no randomness: " + err.Error())
	}
	return b
}

// Encode is the secret as authenticator apps take it typed in: base32
// without padding.
func Encode(key []byte) string { return b32.EncodeToString(key) }

// Decode reads a secret written by Encode (spaces and case ignored).
func Decode(s string) ([]byte, error) {
	s = strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	key, err := b32.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("totp: secret is not base32: %w", err)
	}
	return key, nil
}

// URI is the otpauth:// address of Google Authenticator's key URI format,
// which authenticator apps read from a QR code.
func URI(issuer, account string, key []byte) string {
	label := url.PathEscape(issuer + ":" + account)
	q := url.Values{}
	q.Set("secret", Encode(key))
	q.Set("issuer", issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", fmt.Sprint(Digits))
	q.Set("period", fmt.Sprint(int(Period/time.Second)))
	return "otpauth://totp/" + label + "?" + q.Encode()
}
