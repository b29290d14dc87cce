package webform

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"math/bits"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/obmen/obmen/internal/db"
)

// The proof-of-work captcha: the server issues a signed, expiring
// challenge (a random id and a difficulty of N bits); the visitor's
// browser (pow.js, served at /f/pow.js) finds a nonce such that
// SHA-256(challenge ":" nonce) starts with N zero bits — about 2^N
// hashes, a second or so — and the server checks it with one hash. A
// challenge is spent once, recorded in the database (webform_pow_spent) so
// that it holds across instances. A visitor without JavaScript answers the
// arithmetic question instead.

// Captcha modes of a form (Form.CaptchaMode).
const (
	CaptchaOff        = "off"
	CaptchaArithmetic = "arithmetic"
	CaptchaPoW        = "proof-of-work"
)

// DefaultPoWBits is the default difficulty: 2^16 hashes on average, well
// under a second in a browser's JavaScript.
const DefaultPoWBits = 16

// powTTL is how long a challenge may be solved and sent.
const powTTL = 10 * time.Minute

// Fields of a proof-of-work answer.
const (
	fieldPoWToken = "obmen_pow_token"
	fieldPoWNonce = "obmen_pow_nonce"
)

// PoWChallenge is what the browser solves.
type PoWChallenge struct {
	Token string `json:"token"`
	Bits  int    `json:"bits"`
}

// Why a proof of work is refused (for the journal and tests).
var (
	errPoWMalformed  = errors.New("webform: proof of work: malformed challenge")
	errPoWSignature  = errors.New("webform: proof of work: challenge not signed by this installation")
	errPoWExpired    = errors.New("webform: proof of work: challenge expired")
	errPoWDifficulty = errors.New("webform: proof of work: challenge of another difficulty")
	errPoWWork       = errors.New("webform: proof of work: nonce does not give the required zero bits")
	errPoWSpent      = errors.New("webform: proof of work: challenge already used")
)

type pow struct {
	key  []byte
	bits int
	db   *db.DB
}

func (p *pow) mac(form string, exp int64, id string, n int) string {
	h := hmac.New(sha256.New, p.key)
	fmt.Fprintf(h, "pow|%s|%d|%s|%d", form, exp, id, n)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18])
}

func (p *pow) issue(form string, now time.Time) PoWChallenge {
	return p.issueBits(form, now, p.bits)
}

func (p *pow) issueBits(form string, now time.Time, n int) PoWChallenge {
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	exp := now.Add(powTTL).Unix()
	return PoWChallenge{Token: fmt.Sprintf("p1.%d.%s.%d.%s", exp, id, n, p.mac(form, exp, id, n)), Bits: n}
}

// leadingZeroBits counts the zero bits at the start of sum.
func leadingZeroBits(sum []byte) int {
	n := 0
	for _, c := range sum {
		if c != 0 {
			return n + bits.LeadingZeros8(c)
		}
		n += 8
	}
	return n
}

// powSum is the hash the work is done on.
func powSum(token, nonce string) [32]byte { return sha256.Sum256([]byte(token + ":" + nonce)) }

// check verifies a solved challenge of form and spends it. The work is one
// HMAC, one SHA-256 and one insert, whatever the visitor sent.
func (p *pow) check(ctx context.Context, form, token, nonce string, now time.Time) error {
	parts := strings.Split(token, ".")
	if len(parts) != 5 || parts[0] != "p1" || len(nonce) == 0 || len(nonce) > 32 {
		return errPoWMalformed
	}
	exp, err1 := strconv.ParseInt(parts[1], 10, 64)
	n, err2 := strconv.Atoi(parts[3])
	if err1 != nil || err2 != nil {
		return errPoWMalformed
	}
	if !hmac.Equal([]byte(p.mac(form, exp, parts[2], n)), []byte(parts[4])) {
		return errPoWSignature
	}
	if now.Unix() > exp {
		return errPoWExpired
	}
	if n != p.bits {
		// Issued under another setting (or forged lower): not accepted.
		return errPoWDifficulty
	}
	sum := powSum(token, nonce)
	if leadingZeroBits(sum[:]) < n {
		return errPoWWork
	}
	return p.spend(ctx, parts[2], exp, now)
}

// spend records a challenge as used; errPoWSpent when it was already.
func (p *pow) spend(ctx context.Context, id string, exp int64, now time.Time) error {
	err := spendChallenge(ctx, p.db, id, exp, now)
	if err != nil && !errors.Is(err, errPoWSpent) {
		return fmt.Errorf("webform: proof of work: %w", err)
	}
	return err
}

// spentSweep is when this process last deleted the spent challenges that
// can no longer be sent (Unix seconds); once a minute is enough, as an
// expired challenge is refused before it is looked up.
var spentSweep atomic.Int64

// spendChallenge records a captcha's challenge or nonce id as used, in the
// database every instance shares; errPoWSpent when it was already.
func spendChallenge(ctx context.Context, d *db.DB, id string, exp int64, now time.Time) error {
	sweep := false
	if last := spentSweep.Load(); now.Unix()-last >= 60 && spentSweep.CompareAndSwap(last, now.Unix()) {
		sweep = true
	}
	return d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if sweep {
			if _, err := tx.ExecContext(ctx, "DELETE FROM webform_pow_spent WHERE expires_at < $1", now.Unix()); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO webform_pow_spent (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", id, exp)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errPoWSpent
		}
		return nil
	})
}

// usesPoW reports whether a form's captcha is the proof of work.
func (f Form) usesPoW() bool { return f.Captcha && f.CaptchaMode == CaptchaPoW }

// challengeOf is a form's captcha challenge: the arithmetic question and,
// for a proof-of-work form, the puzzle that a browser with JavaScript
// solves instead; with the form's fill-time stamp.
func (s *Service) challengeOf(f Form) Challenge {
	now := time.Now()
	ch := s.captcha.issue(f.PublicID, now)
	if f.usesPoW() {
		p := s.pow.issue(f.PublicID, now)
		ch.PoW = &p
	}
	ch.Stamp = s.captcha.stamp(f.PublicID, stampForm, now)
	return ch
}

// captchaPassed checks a submit's captcha: a solved proof of work when the
// form uses one and the visitor's browser sent a nonce, else the answer to
// the arithmetic question.
func (s *Service) captchaPassed(ctx context.Context, f Form, vals Values, ip string) bool {
	if f.usesPoW() && vals[fieldPoWNonce] != "" {
		err := s.pow.check(ctx, f.PublicID, vals[fieldPoWToken], vals[fieldPoWNonce], time.Now())
		if err != nil {
			s.log.Info("webform: proof of work refused", "form", f.ID, "remote", ip, "err", err)
		}
		return err == nil
	}
	ok, err := s.captcha.check(ctx, f.PublicID, vals[fieldCaptchaToken], vals[fieldCaptchaAnswer], time.Now())
	if err != nil {
		s.log.Warn("webform: captcha answer refused", "form", f.ID, "remote", ip, "err", err)
	}
	return ok
}

//go:embed static/pow.js
var powScript []byte

// servePoWScript serves the solver; a site embedding a form loads it from
// Obmen, and Obmen's own form page under its script-src 'self'.
func servePoWScript(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
	_, _ = w.Write(powScript)
}
