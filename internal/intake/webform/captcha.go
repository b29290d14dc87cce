package webform

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/db"
)

// The built-in captcha needs no outside service: a small sum to solve,
// whose answer is not in the page — the token carries only an HMAC of
// (form, expiry, nonce, answer) under a key every instance shares (derived
// from the installation's secret key). A token is good for captchaTTL and
// once: its nonce is spent in the database (webform_pow_spent, as the
// proof of work's challenges), so a token answered on one instance is
// refused by every other on the same PostgreSQL.
const captchaTTL = 10 * time.Minute

// Challenge is a question to show and the token to send back with the
// answer.
type Challenge struct {
	Question string `json:"question"`
	Token    string `json:"token"`
	// PoW is the proof-of-work puzzle of a form that uses one; the
	// question stays for a browser that cannot solve it.
	PoW *PoWChallenge `json:"pow,omitempty"`
	// Stamp is the signed moment the form was served (stamp.go), sent
	// back in obmen_ts for the minimum fill time.
	Stamp string `json:"stamp"`
}

type captcha struct {
	key []byte
	db  *db.DB // keeps the spent nonces for every instance
}

// newCaptcha uses key, or a random one (good in this process only) when
// key is empty, and spends answered tokens in d (nil: a captcha that only
// issues and signs, as the fill-time stamps use).
func newCaptcha(key []byte, d *db.DB) *captcha {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	return &captcha{key: key, db: d}
}

func (c *captcha) mac(form string, exp int64, nonce string, answer int) string {
	h := hmac.New(sha256.New, c.key)
	fmt.Fprintf(h, "%s|%d|%s|%d", form, exp, nonce, answer)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18])
}

func (c *captcha) issue(form string, now time.Time) Challenge {
	var b [10]byte
	_, _ = rand.Read(b[:])
	a, d := 2+int(b[0])%18, 1+int(b[1])%9
	nonce := base64.RawURLEncoding.EncodeToString(b[2:])
	exp := now.Add(captchaTTL).Unix()
	return Challenge{Question: fmt.Sprintf("Сколько будет %d + %d?", a, d),
		Token: strconv.FormatInt(exp, 10) + "." + nonce + "." + c.mac(form, exp, nonce, a+d)}
}

// check verifies an answer to a token; a token passes once. A failure to
// record the spent nonce refuses the answer (wrapped in the error).
func (c *captcha) check(ctx context.Context, form, token, answer string, now time.Time) (bool, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false, nil
	}
	exp, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || now.Unix() > exp {
		return false, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(answer))
	if err != nil || n < 0 || n > 1000 {
		return false, nil
	}
	want := c.mac(form, exp, parts[1], n)
	if !hmac.Equal([]byte(want), []byte(parts[2])) {
		return false, nil
	}
	// "a." keeps the arithmetic nonces apart from the proof of work's
	// challenge ids in the one table.
	switch err := spendChallenge(ctx, c.db, "a."+parts[1], exp, now); {
	case errors.Is(err, errPoWSpent):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("webform: captcha: %w", err)
	}
	return true, nil
}
