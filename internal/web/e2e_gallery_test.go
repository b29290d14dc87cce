package web_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/connector/calltouch/calltouchtest"
	"github.com/obmen/obmen/internal/connector/retailcrm/retailcrmtest"
	"github.com/obmen/obmen/internal/store/storetest"
)

// Issue 15's Chromium test: a retailCRM connection made in the browser,
// checked (the fake retailCRM answers) and refreshed, a Calltouch one
// beside it, then template (1) installed from the gallery with them.
func TestBrowserGalleryInstall(t *testing.T) {
	e := newEnvWith(t, storetest.OpenSQLite(t), func(c *config.Config) { c.OutboundAllow = []string{"127.0.0.1"} })
	rc := retailcrmtest.New(t, "rc-key")
	ct := calltouchtest.New(t)
	bs := newBrowserSession(t, e)
	base := e.srv.URL
	bs.run("a retailCRM connection",
		chromedp.Navigate(base+"/admin/connections/new?type=retailcrm"),
		chromedp.WaitVisible(chromedp.CSS(`#connection-form`)),
		chromedp.SendKeys(chromedp.CSS(`#c-name`), "Магазин"),
		chromedp.SendKeys(chromedp.CSS(`#s-url`), rc.URL),
		chromedp.SendKeys(chromedp.CSS(`#s-api_key`), "rc-key"),
		chromedp.SendKeys(chromedp.CSS(`#s-site`), "shop"),
		chromedp.Click(chromedp.CSS(`#connection-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#connection-check`)),
		chromedp.Click(chromedp.CSS(`#connection-check button`)),
		chromedp.WaitVisible(chromedp.CSS(`#check-result`)),
	)
	if got := bs.eval(`document.getElementById("check-result").className`); got != "flash" {
		t.Fatalf("the check failed: %s", bs.eval(`document.getElementById("check-result").innerText`))
	}
	// Refreshed, the page comes back with the layout's flash (a p; the
	// check's result was a div).
	bs.run("refresh its fields",
		chromedp.Click(chromedp.CSS(`#connection-refresh button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
	)
	bs.run("a Calltouch connection",
		chromedp.Navigate(base+"/admin/connections/new?type=calltouch"),
		chromedp.WaitVisible(chromedp.CSS(`#connection-form`)),
		chromedp.SendKeys(chromedp.CSS(`#c-name`), "Calltouch"),
		chromedp.SendKeys(chromedp.CSS(`#s-site_id`), ct.Site),
		chromedp.SendKeys(chromedp.CSS(`#s-token`), ct.Token),
		chromedp.SetValue(chromedp.CSS(`#s-url`), ct.URL()),
		chromedp.Click(chromedp.CSS(`#connection-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#connection-check`)),
	)
	bs.run("the gallery",
		chromedp.Navigate(base+"/automation/templates"),
		chromedp.WaitVisible(chromedp.CSS(`#install-calltouch-call-retailcrm`)),
		chromedp.Click(chromedp.CSS(`#install-calltouch-call-retailcrm`)),
		chromedp.WaitVisible(chromedp.CSS(`#install-form`)),
	)
	bs.labelled("install form")
	if got := bs.eval(`Array.from(document.querySelector("#param-status_new").options).map(o => o.value).join(",")`); got != "new,assembly,complete" {
		t.Fatalf("the statuses offered: %s", got)
	}
	bs.run("install",
		chromedp.SendKeys(chromedp.CSS(`#i-name`), "Звонки → retailCRM"),
		chromedp.Click(chromedp.CSS(`#install`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
	)
	bs.labelled("installed")
	list, err := e.app.Automation.List(context.Background())
	if err != nil || len(list) != 1 {
		t.Fatalf("%d bundles: %v", len(list), err)
	}
	b := list[0]
	if b.Active || b.Name != "Звонки → retailCRM" || b.Trigger.Type != "calltouch.call" || len(b.Steps) != 4 {
		t.Fatalf("installed %+v", b)
	}
	if got := bs.eval(`location.pathname`); got != "/automation/"+strconv.FormatInt(b.ID, 10) {
		t.Fatalf("after install: %s", got)
	}
}
