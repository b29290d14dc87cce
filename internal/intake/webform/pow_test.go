package webform

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// solvePoW finds a nonce as pow.js does.
func solvePoW(t testing.TB, token string, bits int) string {
	t.Helper()
	for n := 0; n < 1<<26; n++ {
		s := strconv.Itoa(n)
		sum := powSum(token, s)
		if leadingZeroBits(sum[:]) >= bits {
			return s
		}
	}
	t.Fatal("no nonce found")
	return ""
}

// badNonce is a nonce that does not give the zero bits.
func badNonce(token string, bits int) string {
	for n := 0; ; n++ {
		s := strconv.Itoa(n)
		sum := powSum(token, s)
		if leadingZeroBits(sum[:]) < bits {
			return s
		}
	}
}

func TestLeadingZeroBits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   []byte
		want int
	}{
		{[]byte{0x80}, 0}, {[]byte{0x40}, 1}, {[]byte{0x01}, 7}, {[]byte{0, 0xff}, 8}, {[]byte{0, 0, 0x10}, 19}, {[]byte{0, 0}, 16},
	} {
		if got := leadingZeroBits(tc.in); got != tc.want {
			t.Errorf("%x: %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestPoWCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		key := []byte("0123456789abcdef0123456789abcdef")
		p := &pow{key: key, bits: 10, db: d}
		now := time.Unix(1_800_000_000, 0)
		solved := func(form string, at time.Time, bits int) (string, string) {
			ch := p.issueBits(form, at, bits)
			return ch.Token, solvePoW(t, ch.Token, bits)
		}
		tok, nonce := solved("form1", now, 10)
		parts := strings.Split(tok, ".")
		otherKey := &pow{key: []byte("another key of 32 bytes ........"), bits: 10, db: d}
		foreign := otherKey.issue("form1", now).Token
		lowTok, lowNonce := solved("form1", now, 4)
		forgedLow := strings.Join([]string{parts[0], parts[1], parts[2], "4", parts[4]}, ".")
		expTok, expNonce := solved("form1", now.Add(-powTTL-time.Second), 10)
		for _, tc := range []struct {
			name, form, token, nonce string
			want                     error
		}{
			{"solved", "form1", tok, nonce, nil},
			{"replay of the same challenge", "form1", tok, nonce, errPoWSpent},
			{"another form's challenge", "form2", tok, nonce, errPoWSignature},
			{"no nonce", "form1", p.issue("form1", now).Token, "", errPoWMalformed},
			{"signed by another key", "form1", foreign, solvePoW(t, foreign, 10), errPoWSignature},
			{"lower difficulty than the setting", "form1", lowTok, lowNonce, errPoWDifficulty},
			{"difficulty lowered in the token", "form1", forgedLow, solvePoW(t, forgedLow, 4), errPoWSignature},
			{"expired", "form1", expTok, expNonce, errPoWExpired},
			{"garbage", "form1", "p1.x.y.z", "1", errPoWMalformed},
			{"empty", "form1", "", "", errPoWMalformed},
			{"long nonce", "form1", tok, strings.Repeat("1", 40), errPoWMalformed},
		} {
			if err := p.check(ctx, tc.form, tc.token, tc.nonce, now); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		// A nonce that misses the zero bits is refused, and does not spend
		// the challenge: the right nonce passes after it.
		c := p.issue("form1", now)
		if err := p.check(ctx, "form1", c.Token, badNonce(c.Token, 10), now); !errors.Is(err, errPoWWork) {
			t.Errorf("bad nonce: %v", err)
		}
		if err := p.check(ctx, "form1", c.Token, solvePoW(t, c.Token, 10), now); err != nil {
			t.Errorf("right nonce after a bad one: %v", err)
		}
		// Single use holds across instances: a second service on the same
		// database with the same key refuses the spent challenge.
		other := &pow{key: key, bits: 10, db: d}
		if err := other.check(ctx, "form1", tok, nonce, now); !errors.Is(err, errPoWSpent) {
			t.Errorf("replay on another instance: %v", err)
		}
	})
}

func BenchmarkPoWCheck(b *testing.B) {
	d := storetest.OpenSQLite(b)
	p := &pow{key: make([]byte, 32), bits: 8, db: d}
	now := time.Now()
	type sol struct{ tok, nonce string }
	sols := make([]sol, b.N)
	for i := range sols {
		c := p.issue("f", now)
		sols[i] = sol{c.Token, solvePoW(b, c.Token, 8)}
	}
	b.ResetTimer()
	for i := range b.N {
		if err := p.check(context.Background(), "f", sols[i].tok, sols[i].nonce, now); err != nil {
			b.Fatal(err)
		}
	}
}
