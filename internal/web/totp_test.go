package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
	"github.com/obmen/obmen/internal/totp"
)

var (
	totpSecretRe   = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	totpRecoveryRe = regexp.MustCompile(`<li><code>([0-9A-Z]{5}-[0-9A-Z]{5})</code></li>`)
)

// enrolTOTP switches the signed-in browser's user to two-factor sign-in at
// clock time now and returns the key and the recovery codes.
func enrolTOTP(t *testing.T, b *browser, now time.Time) ([]byte, []string) {
	t.Helper()
	p := b.get("/account/totp")
	m := totpSecretRe.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil || !strings.Contains(p.Body, "otpauth://totp/") {
		t.Fatalf("enrolment page: %d %s", p.Status, p.Body)
	}
	if qr := b.get("/account/totp/qr.png"); qr.Status != http.StatusOK || !strings.HasPrefix(qr.Body, "\x89PNG") {
		t.Fatalf("QR: %d %q", qr.Status, qr.Body[:min(8, len(qr.Body))])
	}
	key, err := totp.Decode(m[1])
	if err != nil {
		t.Fatal(err)
	}
	p = b.post("/account/totp", url.Values{"code": {totp.Code(key, now)}})
	codes := totpRecoveryRe.FindAllStringSubmatch(p.Body, -1)
	if p.Status != http.StatusOK || len(codes) != totp.RecoveryCount || !strings.Contains(p.Body, `id="totp-state"`) {
		t.Fatalf("confirm: %d, %d codes", p.Status, len(codes))
	}
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = c[1]
	}
	// Shown once: the page does not show them again.
	if p := b.get("/account/totp"); totpRecoveryRe.MatchString(p.Body) || totpSecretRe.MatchString(p.Body) {
		t.Error("recovery codes or key shown again")
	}
	return key, out
}

func signedIn(b *browser) bool {
	p := b.get("/e/lead")
	return p.Status == http.StatusOK
}

func TestTOTPSignIn(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		now := time.Now()
		e.app.TOTP.SetClock(func() time.Time { return now })
		b := e.browser()
		b.signIn()
		key, _ := enrolTOTP(t, b, now)
		b.post("/logout", nil)

		// The password alone gives the code form and no session.
		b = e.browser()
		p := b.login(url.Values{"login": {"admin"}, "password": {adminPassword}, "next": {"/e/deal"}})
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `action="/login/totp"`) {
			t.Fatalf("after password: %d %s", p.Status, p.Body)
		}
		if signedIn(b) {
			t.Fatal("signed in before the code")
		}
		// Wrong code: refused, still no session.
		p = b.post("/login/totp", url.Values{"code": {"000000"}, "next": {"/e/deal"}})
		if totp.Code(key, now) != "000000" && p.Status != http.StatusUnauthorized {
			t.Fatalf("wrong code: %d", p.Status)
		}
		// The confirming code's step is spent: the same step is a replay.
		p = b.post("/login/totp", url.Values{"code": {totp.Code(key, now)}, "next": {"/e/deal"}})
		if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "totp-error") {
			t.Fatalf("replay of the confirming code: %d", p.Status)
		}
		now = now.Add(totp.Period)
		code := totp.Code(key, now)
		p = b.post("/login/totp", url.Values{"code": {code}, "next": {"/e/deal"}})
		if p.Status != http.StatusSeeOther || p.Location != "/e/deal" {
			t.Fatalf("right code: %d %q", p.Status, p.Location)
		}
		if !signedIn(b) {
			t.Fatal("not signed in after the code")
		}

		// The same code in a second sign-in within its step: refused.
		b2 := e.browser()
		b2.login(url.Values{"login": {"admin"}, "password": {adminPassword}})
		if p := b2.post("/login/totp", url.Values{"code": {code}}); p.Status != http.StatusUnauthorized {
			t.Fatalf("replayed code: %d", p.Status)
		}

		// A second user (a fresh per-login sign-in budget): recovery
		// codes, tickets, the API.
		if _, err := e.app.Store.CreateUser(context.Background(), e.admin, crm.User{Login: "ivan", Role: crm.RoleManager}, "ivan-password-1"); err != nil {
			t.Fatal(err)
		}
		ivan := url.Values{"login": {"ivan"}, "password": {"ivan-password-1"}}
		bi := e.browser()
		bi.login(ivan)
		bi.get("/account/totp")
		key, recovery := enrolTOTP(t, bi, now)
		// A recovery code signs in once.
		b2 = e.browser()
		b2.login(ivan)
		if p := b2.post("/login/totp", url.Values{"code": {strings.ToLower(recovery[0])}}); p.Status != http.StatusSeeOther {
			t.Fatalf("recovery code: %d", p.Status)
		}
		b3 := e.browser()
		b3.login(ivan)
		if p := b3.post("/login/totp", url.Values{"code": {recovery[0]}}); p.Status != http.StatusUnauthorized {
			t.Fatalf("recovery code reused: %d", p.Status)
		}
		code = totp.Code(key, now)

		// No ticket (the password step skipped) or a forged one: back to
		// the password.
		b4 := e.browser()
		b4.get("/login")
		if p := b4.post("/login/totp", url.Values{"code": {totp.Code(key, now.Add(totp.Period))}}); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login") {
			t.Fatalf("code without a ticket: %d %q", p.Status, p.Location)
		}
		u, _ := url.Parse(e.srv.URL + "/login")
		b4.c.Jar.SetCookies(u, []*http.Cookie{{Name: "obmen_totp_ticket", Value: "1.99999999999.AAAA", Path: "/login"}})
		if p := b4.post("/login/totp", url.Values{"code": {totp.Code(key, now.Add(totp.Period))}}); p.Status != http.StatusSeeOther || signedIn(b4) {
			t.Fatalf("forged ticket: %d %q", p.Status, p.Location)
		}

		// The API asks for the code too; an API key does not.
		api := func(body string) (int, string) {
			resp, err := http.Post(e.srv.URL+"/api/v1/session", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			bs, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(bs)
		}
		if st, body := api(`{"login":"ivan","password":"ivan-password-1"}`); st != http.StatusUnauthorized || !strings.Contains(body, "totp_required") {
			t.Fatalf("API without code: %d %s", st, body)
		}
		if st, body := api(`{"login":"ivan","password":"ivan-password-1","totp_code":"` + code + `"}`); st != http.StatusUnauthorized || !strings.Contains(body, "totp_replay") {
			t.Fatalf("API with a used code: %d %s", st, body)
		}
		now = now.Add(totp.Period)
		if st, body := api(`{"login":"ivan","password":"ivan-password-1","totp_code":"` + totp.Code(key, now) + `"}`); st != http.StatusOK {
			t.Fatalf("API with code: %d %s", st, body)
		}
		_, full, err := e.app.Store.CreateAPIKey(context.Background(), e.admin, e.admin.UserID, "k")
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/leads", nil)
		req.Header.Set("Authorization", "Bearer "+full)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("API key with TOTP on: %d", resp.StatusCode)
		}
	})
}

// Wrong codes count against the sign-in limit shared by the UI and the
// API: after the per-login budget (10) the API refuses the right password.
func TestTOTPWrongCodesLimited(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		now := time.Now()
		e.app.TOTP.SetClock(func() time.Time { return now })
		b := e.browser()
		b.signIn()
		key, _ := enrolTOTP(t, b, now)
		wrong := "123456"
		for i := 0; totp.Code(key, now) == wrong || totp.Code(key, now.Add(totp.Period)) == wrong || totp.Code(key, now.Add(-totp.Period)) == wrong; i++ {
			wrong = strings.Repeat(string(rune('0'+i)), 6)
		}
		b = e.browser()
		b.login(url.Values{"login": {"admin"}, "password": {adminPassword}})
		limited := false
		for range 12 {
			p := b.post("/login/totp", url.Values{"code": {wrong}})
			if p.Status == http.StatusTooManyRequests {
				limited = true
				break
			}
			if p.Status != http.StatusUnauthorized {
				t.Fatalf("wrong code: %d", p.Status)
			}
		}
		if !limited {
			t.Fatal("wrong codes never limited")
		}
		resp, err := http.Post(e.srv.URL+"/api/v1/session", "application/json", strings.NewReader(`{"login":"admin","password":"`+adminPassword+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("API sign-in after the UI's wrong codes: %d, want 429", resp.StatusCode)
		}
	})
}

func TestTOTPAdminResetAndRequired(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnvWith(t, d, func(c *config.Config) { c.RequireTOTPAdmins = true })
		ctx := context.Background()
		now := time.Now()
		e.app.TOTP.SetClock(func() time.Time { return now })
		if _, err := e.app.Store.CreateUser(ctx, e.admin, crm.User{Login: "ivan", Role: crm.RoleManager}, "ivan-password-1"); err != nil {
			t.Fatal(err)
		}
		// The admin must enrol first: every page leads to the enrolment.
		b := e.browser()
		if p := b.login(url.Values{"login": {"admin"}, "password": {adminPassword}}); p.Status != http.StatusSeeOther {
			t.Fatalf("admin sign-in: %d", p.Status)
		}
		if p := b.get("/e/lead"); p.Status != http.StatusSeeOther || p.Location != "/account/totp" {
			t.Fatalf("admin without TOTP: %d %q", p.Status, p.Location)
		}
		if p := b.get("/account/totp"); !strings.Contains(p.Body, `id="totp-required"`) {
			t.Error("enrolment page does not say it is required")
		}
		if p := b.post("/admin/users", url.Values{"login": {"x"}, "password": {"x-password-123"}}); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "2FA") && !strings.Contains(p.Body, "двухфакторный") {
			t.Fatalf("admin POST without TOTP: %d", p.Status)
		}
		enrolTOTP(t, b, now)
		if p := b.get("/e/lead"); p.Status != http.StatusOK {
			t.Fatalf("admin after enrolling: %d", p.Status)
		}
		// A manager is not forced; enrols of their own accord.
		m := e.browser()
		if p := m.login(url.Values{"login": {"ivan"}, "password": {"ivan-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("manager sign-in: %d", p.Status)
		}
		if p := m.get("/e/lead"); p.Status != http.StatusOK {
			t.Fatalf("manager: %d", p.Status)
		}
		m.get("/account/totp")
		enrolTOTP(t, m, now)
		ivan, _ := e.app.Store.UserByLogin(ctx, "ivan")
		// A manager cannot reset anyone's factor.
		if p := m.post("/admin/users/"+itoa(e.admin.UserID)+"/totp/reset", nil); p.Status != http.StatusForbidden {
			t.Fatalf("manager resets admin's TOTP: %d", p.Status)
		}
		// The admin sees it and resets it (a lost phone).
		p := b.get("/admin/users")
		if !strings.Contains(p.Body, `id="totp-reset-`+itoa(ivan.ID)+`"`) {
			t.Fatal("users page offers no reset for an enrolled user")
		}
		if p := b.post("/admin/users/"+itoa(ivan.ID)+"/totp/reset", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("reset: %d %s", p.Status, html.UnescapeString(p.Body))
		}
		m2 := e.browser()
		if p := m2.login(url.Values{"login": {"ivan"}, "password": {"ivan-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("manager after reset should sign in with the password alone: %d", p.Status)
		}
	})
}
