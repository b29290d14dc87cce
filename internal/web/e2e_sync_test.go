package web_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/store/storetest"
)

// Issue 16's Chromium test: on a bitrix24 connection's page "Включить
// синхронизацию" installs the two bundles of the shipped templates bound
// to the connection and switched on, shows them with links and the hook
// URL to give the portal (once); the same form sent again from a stale
// tab makes no second pair; "Выключить" switches both off and keeps
// them. The page fits a phone's 390 px and a laptop's 1280 px (no
// sideways scroll); screenshots of both are saved.
func TestBrowserConnectionSync(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	ctx := context.Background()
	c, err := e.app.Connections.Create(ctx, e.admin.UserID, connection.Input{Type: "bitrix24", Name: "Портал продаж", Settings: map[string]any{
		"portal_url": "https://shop.bitrix24.ru", "user_id": int64(1), "webhook_code": "code", "app_token": "tok"}})
	if err != nil {
		t.Fatal(err)
	}
	page := e.srv.URL + "/admin/connections/" + strconv.FormatInt(c.ID, 10)
	bs := newBrowserSession(t, e)
	bs.run("the connection's page",
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.CSS(`#connection-sync-on`)),
	)
	if got := bs.eval(`document.querySelectorAll("#connection-sync-parts li").length + " " + document.querySelectorAll("#connection-sync-parts a").length`); got != "2 0" {
		t.Fatalf("before: parts and links %s", got)
	}
	bs.run("switch on",
		chromedp.Click(chromedp.CSS(`#connection-sync-on button`)),
		chromedp.WaitVisible(chromedp.CSS(`#connection-sync-done`)),
	)
	bs.labelled("sync on")
	if got := bs.eval(`document.getElementById("connection-hook-url").textContent`); !strings.Contains(got, "/hooks/c/") {
		t.Fatalf("the hook URL shown: %q", got)
	}
	list, err := e.app.Automation.List(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("%d bundles: %v", len(list), err)
	}
	for _, b := range list {
		if !b.Active || b.Steps[0].Connection != c.ID {
			t.Fatalf("bundle %+v", b)
		}
		if n := bs.eval(fmt.Sprintf(`String(document.querySelectorAll('#connection-sync-parts a[href="/automation/%d"]').length)`, b.ID)); n != "1" {
			t.Fatalf("no link to bundle %d", b.ID)
		}
	}
	if bs.eval(`String(document.getElementById("connection-sync-on") === null)`) != "true" {
		t.Fatalf("the switch-on button is still shown")
	}
	fits := func(width int64) {
		wide := bs.eval(`String(document.scrollingElement.scrollWidth > innerWidth ? document.scrollingElement.scrollWidth : "")`)
		if wide != "" {
			t.Errorf("the page scrolls sideways at %d px: %s px wide", width, wide)
		}
	}
	fits(390)
	bs.run("phone shot", shot(bs.dir, "connection-sync-phone"))
	bs.run("laptop", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`#connection-sync-off`)), shot(bs.dir, "connection-sync-laptop"))
	fits(1280)

	// A stale tab still shows the button: pressing it makes nothing more.
	bs.run("stale tab", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`#connection-sync-off`)))
	bs.eval(`(function(){ const f = document.createElement("form"); f.method = "post"; f.action = location.pathname + "/sync_on";
		const i = document.createElement("input"); i.type = "hidden"; i.name = "csrf"; i.value = document.querySelector('#connection-sync-off input[name=csrf]').value;
		f.appendChild(i); document.body.appendChild(f); f.submit(); return "" })()`)
	bs.run("pressed again", chromedp.WaitVisible(chromedp.CSS(`#connection-sync-done`)))
	if list, _ = e.app.Automation.List(ctx); len(list) != 2 {
		t.Fatalf("%d bundles after pressing twice", len(list))
	}
	if bs.eval(`String(document.getElementById("connection-hook-url") === null)`) != "true" {
		t.Fatalf("the hook URL was made again")
	}

	bs.run("switch off",
		chromedp.Click(chromedp.CSS(`#connection-sync-off button`)),
		chromedp.WaitVisible(chromedp.CSS(`#connection-sync-on`)),
	)
	if list, _ = e.app.Automation.List(ctx); len(list) != 2 || list[0].Active || list[1].Active {
		t.Fatalf("after switching off: %+v", list)
	}
	if got := bs.eval(`document.getElementById("connection-sync-state").textContent`); got != "Синхронизация выключена." {
		t.Fatalf("the state shown: %q", got)
	}
}
