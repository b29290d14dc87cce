package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/app"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestContentSecurityPolicy: every page carries the strict policy (scripts
// and styles from this origin only, no framing); the pages hold no inline
// script or style for it to block (TestBrowserEveryPageFits collects the
// violations Chromium reports on every page).
func TestContentSecurityPolicy(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	b := e.browser()
	for _, path := range []string{"/login", "/static/app.css"} {
		p := b.get(path)
		if got := p.Header.Get("Content-Security-Policy"); got != app.ContentSecurityPolicy {
			t.Errorf("%s: policy %q", path, got)
		}
	}
	for _, want := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(app.ContentSecurityPolicy, want) {
			t.Errorf("the policy lacks %s", want)
		}
	}
	b.signIn()
	p := b.get("/")
	if p.Status != http.StatusOK || strings.Contains(p.Body, "<script>") || strings.Contains(p.Body, "<style") || strings.Contains(p.Body, ` style="`) {
		t.Errorf("home: %d, inline script or style in the page", p.Status)
	}
}

// TestSignInLimitSharedAcrossSurfaces: guesses of one login through the
// API's POST /api/v1/session count against the UI's sign-in form too —
// one budget per login, not one per surface.
func TestSignInLimitSharedAcrossSurfaces(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	if _, err := e.app.Store.CreateUser(context.Background(), crm.Actor{}, crm.User{Login: "olga", Role: crm.RoleManager, Active: true}, "olga-password-1"); err != nil {
		t.Fatal(err)
	}
	limited := false
	for i := 0; i < 12; i++ {
		res, err := http.Post(e.srv.URL+"/api/v1/session", "application/json", strings.NewReader(`{"login":"olga","password":"wrong-guess"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("the API never limited the guesses")
	}
	b := e.browser()
	p := b.login(url.Values{"login": {"olga"}, "password": {"olga-password-1"}})
	if p.Status != http.StatusTooManyRequests {
		t.Errorf("the UI sign-in after the API's guesses: %d, want 429", p.Status)
	}
}
