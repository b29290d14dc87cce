package dav_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dav"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func do(t *testing.T, method, url, login, password, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if login != "" {
		req.SetBasicAuth(login, password)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/xml; charset=utf-8")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

const principalProps = `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
<d:prop><d:current-user-principal/><card:addressbook-home-set/></d:prop></d:propfind>`

// TestAuthAndPrincipal: discovery, the credentials DAV accepts (password,
// API key as an app password) and refuses (none, a wrong one, another
// user's key, a session cookie), another user's principal, and the
// sign-in limit on failures.
func TestAuthAndPrincipal(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		alice, err := s.CreateUser(ctx, admin, crm.User{Login: "alice", Role: crm.RoleManager, FirstName: "Алиса"}, "alice-Secret-1")
		if err != nil {
			t.Fatal(err)
		}
		bob, err := s.CreateUser(ctx, admin, crm.User{Login: "bob", Role: crm.RoleManager, FirstName: "Боб"}, "bob-Secret-1")
		if err != nil {
			t.Fatal(err)
		}
		_, key, err := s.CreateAPIKey(ctx, admin, alice.ID, "thunderbird")
		if err != nil {
			t.Fatal(err)
		}
		_, bobKey, err := s.CreateAPIKey(ctx, admin, bob.ID, "phone")
		if err != nil {
			t.Fatal(err)
		}
		sess, err := s.CreateSession(ctx, alice.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		h := dav.New(s, slog.New(slog.DiscardHandler))
		h.SetSignInLimits(httpx.NewLimiter(time.Hour, 4), httpx.NewLimiter(time.Hour, 100))
		mux := http.NewServeMux()
		h.Register(mux)
		srv := httptest.NewServer(mux)
		defer srv.Close()

		resp, _ := do(t, "GET", srv.URL+"/.well-known/carddav", "", "", "")
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/dav/" {
			t.Errorf("well-known carddav: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, _ = do(t, "PROPFIND", srv.URL+"/.well-known/caldav", "", "", "")
		if resp.StatusCode != http.StatusMovedPermanently {
			t.Errorf("well-known caldav: %d", resp.StatusCode)
		}
		resp, _ = do(t, "PROPFIND", srv.URL+"/dav/", "", "", principalProps, "Depth", "0")
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("no credentials: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		resp, _ = do(t, "PROPFIND", srv.URL+"/dav/", "", "", principalProps, "Depth", "0", "Cookie", "obmen_session="+sess.ID)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("a session cookie: %d, want 401", resp.StatusCode)
		}
		for _, cred := range [][2]string{{"alice", "alice-Secret-1"}, {"alice", key}, {"ALICE", key}} {
			resp, body := do(t, "PROPFIND", srv.URL+"/dav/", cred[0], cred[1], principalProps, "Depth", "0")
			if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(body, "/dav/principals/alice/") {
				t.Errorf("%s: %d %s", cred[0], resp.StatusCode, body)
			}
		}
		resp, body := do(t, "PROPFIND", srv.URL+"/dav/principals/alice/", "alice", key, principalProps, "Depth", "0")
		if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(body, "principal") {
			t.Errorf("principal: %d %s", resp.StatusCode, body)
		}
		resp, body = do(t, "PROPFIND", srv.URL+"/dav/principals/bob/", "alice", key, principalProps, "Depth", "0")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("another user's principal: %d %s", resp.StatusCode, body)
		}
		// The first password check took a token; failures: a wrong password, bob's key under alice's
		// login, a wrong password again, then the fifth check from this address is
		// over the limit.
		resp, _ = do(t, "PROPFIND", srv.URL+"/dav/", "alice", "wrong", principalProps)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("wrong password: %d", resp.StatusCode)
		}
		resp, _ = do(t, "PROPFIND", srv.URL+"/dav/", "alice", bobKey, principalProps)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("another user's key: %d", resp.StatusCode)
		}
		resp, _ = do(t, "PROPFIND", srv.URL+"/dav/", "alice", "wrong-again", principalProps)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("third failure: %d", resp.StatusCode)
		}
		resp, _ = do(t, "PROPFIND", srv.URL+"/dav/", "bob", "wrong", principalProps)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Errorf("over the limit: %d", resp.StatusCode)
		}
		// A cached good password still works: only unchecked ones are charged.
		resp, _ = do(t, "PROPFIND", srv.URL+"/dav/", "alice", "alice-Secret-1", principalProps)
		if resp.StatusCode != http.StatusMultiStatus {
			t.Errorf("cached password after the limit: %d", resp.StatusCode)
		}
		// A disabled user is refused at once, cache or not.
		alice.Active = false
		if _, err := s.UpdateUser(ctx, admin, alice); err != nil {
			t.Fatal(err)
		}
		for _, pw := range []string{key, "alice-Secret-1"} {
			resp, _ = do(t, "PROPFIND", srv.URL+"/dav/", "alice", pw, principalProps)
			if resp.StatusCode == http.StatusMultiStatus {
				t.Errorf("disabled user: %d", resp.StatusCode)
			}
		}
	})
}
