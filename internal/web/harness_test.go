package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/app"
	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

const adminPassword = "admin-password"

// env is the real server over loopback HTTP on a real database.
type env struct {
	t     testing.TB
	srv   *httptest.Server
	app   *app.Server
	admin crm.Actor
}

func newEnv(t testing.TB, d *db.DB) *env {
	t.Helper()
	return newEnvWith(t, d, nil)
}

// newEnvWith is newEnv with the configuration adjusted by tweak first.
func newEnvWith(t testing.TB, d *db.DB, tweak func(*config.Config)) *env {
	t.Helper()
	cfg := config.Default()
	cfg.AdminPassword = adminPassword
	cfg.DataDir = t.TempDir()
	// The tests written before time zones read times in the machine's
	// zone; TestTimeZones sets others.
	cfg.TimeZone = "Local"
	// No requests to the Central Bank from tests (internal/currency
	// tests the rates against a fake).
	cfg.CurrencyRatesURL = "off"
	if tweak != nil {
		tweak(&cfg)
	}
	a, err := app.NewServer(d, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.EnsureAdmin(context.Background(), a.Store, cfg, io.Discard); err != nil {
		t.Fatal(err)
	}
	u, err := a.Store.UserByLogin(context.Background(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, app: a, admin: crm.Actor{UserID: u.ID}}
}

func eachEnv(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, d *db.DB) { fn(t, newEnv(t, d)) })
}

// browser is a cookie-keeping HTTP client that does not follow redirects,
// so tests see the 303s.
type browser struct {
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	Status   int
	Body     string
	Location string
	Header   http.Header
}

func (b *browser) do(method, path string, form url.Values) page {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	bs, _ := io.ReadAll(resp.Body)
	p := page{Status: resp.StatusCode, Body: string(bs), Location: resp.Header.Get("Location"), Header: resp.Header}
	if m := csrfRe.FindStringSubmatch(p.Body); m != nil {
		b.csrf = m[1]
	}
	return p
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func (b *browser) get(path string) page { return b.do(http.MethodGet, path, nil) }

// post sends a form with the page's CSRF token.
func (b *browser) post(path string, form url.Values) page {
	if form == nil {
		form = url.Values{}
	}
	if b.csrf != "" && !form.Has("csrf") {
		form.Set("csrf", b.csrf)
	}
	return b.do(http.MethodPost, path, form)
}

// login posts the sign-in form as a browser does: it loads /login first,
// which gives the form's CSRF token (and its cookie).
func (b *browser) login(form url.Values) page {
	b.e.t.Helper()
	if p := b.get("/login"); p.Status != http.StatusOK {
		b.e.t.Fatalf("sign-in page: %d", p.Status)
	}
	form.Set("csrf", b.csrf)
	return b.do(http.MethodPost, "/login", form)
}

// signIn signs in as admin and picks up a CSRF token.
func (b *browser) signIn() {
	b.e.t.Helper()
	p := b.login(url.Values{"login": {"admin"}, "password": {adminPassword}})
	if p.Status != http.StatusSeeOther || p.Location != "/" {
		b.e.t.Fatalf("sign in: %d %q %s", p.Status, p.Location, p.Body)
	}
	if h := b.get("/"); h.Status != http.StatusOK || b.csrf == "" {
		b.e.t.Fatalf("home after sign in: %d, csrf %q", h.Status, b.csrf)
	}
}
