package totp

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// The SHA-1 vectors of RFC 6238 appendix B: 8 digits, key
// "12345678901234567890".
func TestRFC6238Vectors(t *testing.T) {
	t.Parallel()
	key := []byte("12345678901234567890")
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		got := HOTP(key, uint64(Step(time.Unix(tc.unix, 0))), 8)
		if got != tc.want {
			t.Errorf("T=%d: got %s, want %s", tc.unix, got, tc.want)
		}
		// Six digits are the last six of the eight.
		if got6 := Code(key, time.Unix(tc.unix, 0)); got6 != tc.want[2:] {
			t.Errorf("T=%d: 6 digits %s, want %s", tc.unix, got6, tc.want[2:])
		}
	}
}

// RFC 4226 appendix D.
func TestHOTPVectors(t *testing.T) {
	t.Parallel()
	key := []byte("12345678901234567890")
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for i, w := range want {
		if got := HOTP(key, uint64(i), 6); got != w {
			t.Errorf("count %d: got %s, want %s", i, got, w)
		}
	}
}

func TestVerifyWindow(t *testing.T) {
	t.Parallel()
	key := []byte("12345678901234567890")
	now := time.Unix(1234567890, 0)
	for _, tc := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"same step", now, true},
		{"one step before", now.Add(-Period), true},
		{"one step after", now.Add(Period), true},
		{"two steps before", now.Add(-2 * Period), false},
		{"two steps after", now.Add(2 * Period), false},
	} {
		code := Code(key, tc.at)
		step, ok := Verify(key, code, now)
		if ok != tc.ok {
			t.Errorf("%s: ok %v, want %v", tc.name, ok, tc.ok)
		}
		if ok && step != Step(tc.at) {
			t.Errorf("%s: step %d, want %d", tc.name, step, Step(tc.at))
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := Verify(key, bad, now); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestEncodeURI(t *testing.T) {
	t.Parallel()
	key := []byte("12345678901234567890")
	enc := Encode(key)
	if enc != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" {
		t.Fatalf("base32 %s", enc)
	}
	back, err := Decode(strings.ToLower(enc[:4]) + " " + enc[4:])
	if err != nil || string(back) != string(key) {
		t.Fatalf("decode: %q %v", back, err)
	}
	u, err := url.Parse(URI("Obmen", "admin@example", key))
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("uri %v %v", u, err)
	}
	if u.Query().Get("secret") != enc || u.Query().Get("digits") != "6" || u.Query().Get("period") != "30" {
		t.Errorf("query %v", u.Query())
	}
}

func TestRecoveryCodes(t *testing.T) {
	t.Parallel()
	codes := NewRecoveryCodes()
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 11 || c[5] != '-' || seen[c] {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
		if HashRecovery(strings.ToLower(strings.ReplaceAll(c, "-", " "))) != HashRecovery(c) {
			t.Errorf("typed forms of %q hash differently", c)
		}
	}
	if HashRecovery(codes[0]) == HashRecovery(codes[1]) {
		t.Error("two codes hash alike")
	}
}
