package webform

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The built-in captcha needs no outside service: a small sum to solve,
// whose answer is not in the page — the token carries only an HMAC of
// (form, expiry, nonce, answer) under a key every instance shares (derived
// from the installation's secret key). A token is good for captchaTTL and
// once per instance (the used nonces are kept in memory).
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

	mu   sync.Mutex
	used map[string]time.Time // nonce → expiry
}

// newCaptcha uses key, or a random one (good in this process only) when
// key is empty.
func newCaptcha(key []byte) *captcha {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	return &captcha{key: key, used: map[string]time.Time{}}
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

// check verifies an answer to a token; a token passes once.
func (c *captcha) check(form, token, answer string, now time.Time) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	exp, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || now.Unix() > exp {
		return false
	}
	n, err := strconv.Atoi(strings.TrimSpace(answer))
	if err != nil || n < 0 || n > 1000 {
		return false
	}
	want := c.mac(form, exp, parts[1], n)
	if !hmac.Equal([]byte(want), []byte(parts[2])) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.used) > 10000 {
		for k, e := range c.used {
			if now.Unix() > e.Unix() {
				delete(c.used, k)
			}
		}
	}
	if _, seen := c.used[parts[1]]; seen {
		return false
	}
	c.used[parts[1]] = time.Unix(exp, 0)
	return true
}
