package api_test

import (
	"net/http"
	"testing"

	"github.com/obmen/obmen/internal/store/storetest"
)

// TestSignInIsRateLimited: password guessing against one login stops with
// 429 and Retry-After, while the right password of another login from the
// same address still works.
func TestSignInIsRateLimited(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	for i := 1; i <= 10; i++ {
		r := e.doKey("", "POST", "/api/v1/session", map[string]string{"login": "admin", "password": "wrong"})
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := e.doKey("", "POST", "/api/v1/session", map[string]string{"login": "admin", "password": "admin-password"})
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("11th attempt on one login: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	r.json(t, &body)
	if body.Error.Code != "rate_limited" {
		t.Fatalf("code %q", body.Error.Code)
	}
	// Another login from the same address is not locked out by that.
	r = e.doKey("", "POST", "/api/v1/session", map[string]string{"login": "ADMIN2", "password": "x"})
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("other login: %d", r.Status)
	}
	// The address as a whole has a limit too.
	limited := false
	for i := 0; i < 30 && !limited; i++ {
		r = e.doKey("", "POST", "/api/v1/session", map[string]string{"login": "guess" + string(rune('a'+i)), "password": "x"})
		limited = r.Status == http.StatusTooManyRequests
	}
	if !limited {
		t.Fatal("many logins from one address were never limited")
	}
}
