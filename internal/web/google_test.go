package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The Google sync page: without an OAuth client it says so (an admin gets
// the link to add one and the redirect URI to copy); with one, "Connect
// Google" goes to Google's consent page with a state, a forged answer is
// refused in Russian, the settings form saves the mapping and refuses a
// pair of fields of different kinds naming it, "sync now" says the
// account is not connected, "remove sync" works; the page fits a phone
// and a laptop.
func TestGooglePage(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	b := e.browser()
	b.signIn()
	p := b.get("/google")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Синхронизация с Google") || !strings.Contains(p.Body, `id="google-no-client"`) ||
		!strings.Contains(p.Body, "/google/callback</code>") || !strings.Contains(p.Body, `href="/google"`) {
		t.Fatalf("page without a client: %d %s", p.Status, p.Body)
	}
	if _, err := e.app.Connections.Create(context.Background(), e.admin.UserID, connection.Input{Type: "google", Name: "Google",
		Settings: map[string]any{"client_id": "1-abc.apps.googleusercontent.com", "client_secret": "секрет-клиента"}}); err != nil {
		t.Fatal(err)
	}
	p = b.get("/google")
	if strings.Contains(p.Body, `id="google-no-client"`) || !strings.Contains(p.Body, `href="/google/connect"`) || strings.Contains(p.Body, "секрет-клиента") {
		t.Fatalf("page with a client: %s", p.Body)
	}
	p = b.get("/google/connect")
	to, _ := url.Parse(p.Header.Get("Location"))
	if p.Status != http.StatusSeeOther || to == nil || to.Host != "accounts.google.com" || to.Query().Get("state") == "" ||
		to.Query().Get("client_id") != "1-abc.apps.googleusercontent.com" || !strings.HasSuffix(to.Query().Get("redirect_uri"), "/google/callback") {
		t.Fatalf("connect: %d %s", p.Status, p.Header.Get("Location"))
	}
	p = b.get("/google/callback?state=forged&code=x")
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "не относится к этому сеансу") {
		t.Fatalf("forged callback: %d %s", p.Status, p.Body)
	}
	p = b.get("/google/callback?error=access_denied&state=" + url.QueryEscape(to.Query().Get("state")))
	if !strings.Contains(p.Body, "Доступ в Google не предоставлен") {
		t.Fatalf("denied: %s", p.Body)
	}
	form := url.Values{"contacts": {"on"}, "direction": {"to_google"}, "conflict": {"obmen"}, "cf.name": {"names.givenName"}, "cf.phones": {"names.familyName"}}
	p = b.post("/google/settings", form)
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "нельзя сопоставить") {
		t.Fatalf("bad pair: %d %s", p.Status, p.Body)
	}
	form.Set("cf.phones", "phoneNumbers")
	if p = b.post("/google/settings", form); p.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", p.Status, p.Body)
	}
	p = b.get("/google?flash=google.saved")
	if !strings.Contains(p.Body, "Настройки синхронизации сохранены") || !strings.Contains(p.Body, `<option value="to_google" selected>`) ||
		!strings.Contains(p.Body, `<option value="phoneNumbers" selected>`) || strings.Contains(p.Body, `name="calendar" id="google-calendar" checked`) {
		t.Fatalf("saved: %s", p.Body)
	}
	p = b.post("/google/run", url.Values{})
	if !strings.Contains(p.Body, "не подключён") {
		t.Fatalf("run unconnected: %d %s", p.Status, p.Body)
	}

	bs := newBrowserSession(t, e)
	for _, size := range []struct{ w, h int64 }{{390, 844}, {1280, 800}} {
		bs.run("viewport", chromedp.EmulateViewport(size.w, size.h))
		bs.run("/google", chromedp.Navigate(e.srv.URL+"/google"), chromedp.WaitReady(chromedp.CSS(`#google-form`)))
		bs.noHorizontalScroll("/google")
		bs.labelled("/google")
	}

	if p = b.post("/google/remove", url.Values{}); p.Status != http.StatusSeeOther {
		t.Fatalf("remove: %d %s", p.Status, p.Body)
	}
	if p = b.get("/google?flash=google.removed"); !strings.Contains(p.Body, "остались в Obmen и в Google") || strings.Contains(p.Body, `id="google-remove"`) {
		t.Fatalf("removed: %s", p.Body)
	}
}
