package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/telephony"
	"github.com/obmen/obmen/internal/store/storetest"
)

// A telephony connection's page on a phone offers the hook URL as other
// connections' do, naming the call triggers it feeds; the URL made there
// takes Zadarma's signed notification, which becomes a call activity.
func TestBrowserTelephonyHook(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	c, err := e.app.Connections.Create(context.Background(), e.admin.UserID, connection.Input{Type: telephony.TypeZadarma, Name: "Zadarma",
		Settings: map[string]any{"key": "k1", "secret": "s1"}})
	if err != nil {
		t.Fatal(err)
	}
	bs := newBrowserSession(t, e)
	page := e.srv.URL + "/admin/connections/" + strconv.FormatInt(c.ID, 10)
	bs.run("phone", chromedp.EmulateViewport(390, 900), chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`#connection-hook-form button`)))
	about := bs.eval(`document.getElementById("connection-hook-form").previousElementSibling.textContent`)
	for _, want := range []string{"«Входящий звонок»", "«Пропущенный звонок»"} {
		if !strings.Contains(about, want) {
			t.Errorf("the hook's text %q does not name %s", about, want)
		}
	}
	bs.run("make the hook", chromedp.Click(chromedp.CSS(`#connection-hook-form button`)), chromedp.WaitVisible(chromedp.CSS(`#connection-hook-url`)))
	bs.noHorizontalScroll("the telephony connection's page")
	bs.labelled("the telephony connection's page")
	bs.run("screenshot", shot(bs.dir, "connection-telephony-hook-390"))
	// The URL is made on the configured public address; the test's
	// server listens elsewhere.
	_, token, ok := strings.Cut(bs.eval(`document.getElementById("connection-hook-url").textContent`), "/hooks/c/")
	if !ok {
		t.Fatalf("no hook URL on the page")
	}
	hook := e.srv.URL + "/hooks/c/" + token
	form := url.Values{"event": {"NOTIFY_START"}, "call_start": {"2026-12-05 12:00:00"}, "pbx_call_id": {"in_e2e"},
		"caller_id": {"79256424295"}, "called_did": {"74951234567"}}
	req, _ := http.NewRequest(http.MethodPost, hook, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Signature", telephony.ZadarmaNotifySign("s1", "NOTIFY_START", form))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `"result":"created"`) {
		t.Fatalf("NOTIFY_START to the page's hook URL: %d %s", res.StatusCode, b)
	}
}
