package totp

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// RecoveryCount is how many one-time recovery codes an enrolment gives.
const RecoveryCount = 10

// recoveryAlphabet leaves out letters read as others (0/O, 1/I/L).
const recoveryAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// NewRecoveryCodes returns RecoveryCount codes of 10 characters (about 50
// bits each), written XXXXX-XXXXX.
func NewRecoveryCodes() []string {
	out := make([]string, RecoveryCount)
	for i := range out {
		b := make([]byte, 10)
		if _, err := rand.Read(b); err != nil {
			panic("totp: no randomness: " + err.Error())
		}
		var sb strings.Builder
		for j, c := range b {
			if j == 5 {
				sb.WriteByte('-')
			}
			// 256 is not a multiple of 31: the bias (at most 1/256 per
			// character) costs a fraction of a bit.
			sb.WriteByte(recoveryAlphabet[int(c)%len(recoveryAlphabet)])
		}
		out[i] = sb.String()
	}
	return out
}

// NormalizeRecovery is a typed recovery code as it is hashed: upper case,
// no spaces or dashes.
func NormalizeRecovery(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, code)
}

// HashRecovery is the stored form of a recovery code. A code has ~50
// random bits, so a fast hash is enough (as for API keys): it is not a
// password a person chose.
func HashRecovery(code string) string {
	h := sha256.Sum256([]byte("obmen totp recovery:" + NormalizeRecovery(code)))
	return hex.EncodeToString(h[:])
}
