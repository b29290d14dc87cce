package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestSignInIsRateLimited: password guessing against one login stops with
// 429 and Retry-After — the right password too, until the wait is over —
// while another login from the same address still gets its tries; and an
// address trying many logins is limited as well.
func TestSignInIsRateLimited(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	e.app.API.SetSignInLimits(httpx.NewLimiter(time.Hour, 8), httpx.NewLimiter(time.Hour, 3))
	for i := 1; i <= 3; i++ {
		r := e.doKey("", "POST", "/api/v1/session", map[string]string{"login": "admin", "password": "wrong"})
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := e.doKey("", "POST", "/api/v1/session", map[string]string{"login": "admin", "password": "admin-password"})
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("4th attempt on one login: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	r.json(t, &body)
	if body.Error.Code != "rate_limited" {
		t.Fatalf("code %q", body.Error.Code)
	}
	// Another login from the same address is not locked out by that.
	r = e.doKey("", "POST", "/api/v1/session", map[string]string{"login": "someone", "password": "x"})
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("other login: %d", r.Status)
	}
	// The address has its own limit: 8 attempts in all, then 429.
	for i := 0; i < 3; i++ {
		r = e.doKey("", "POST", "/api/v1/session", map[string]string{"login": "guess" + string(rune('a'+i)), "password": "x"})
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, r.Status)
		}
	}
	r = e.doKey("", "POST", "/api/v1/session", map[string]string{"login": "guess-last", "password": "x"})
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("9th attempt from one address: %d", r.Status)
	}
}
