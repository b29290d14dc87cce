package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/app"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestContentSecurityPolicy: every page carries the strict policy (scripts
// and styles from this origin only, no framing); the pages hold no inline
// script or style for it to block (TestBrowserEveryPageFits collects the
// violations Chromium reports on every page).
func TestContentSecurityPolicy(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
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
