package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/calltouch/calltouchtest"
	"github.com/obmen/obmen/internal/connector/retailcrm/retailcrmtest"
	"github.com/obmen/obmen/internal/store/storetest"
)

// Issue 15's Chromium test: a retailCRM connection made in the browser,
// checked (the fake retailCRM answers) and refreshed, a Calltouch one
// beside it, then template (1) installed from the gallery with them.
func TestBrowserGalleryInstall(t *testing.T) {
	e := newEnvWith(t, storetest.OpenAny(t), func(c *config.Config) { c.OutboundAllow = []string{"127.0.0.1"} })
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

// The install form's dictionary pickers follow the connection chosen for
// their role: two retailCRM accounts with different statuses, the
// status select offers the first's, then the second's when it is
// chosen, then the first's again.
func TestBrowserGalleryDictionaryPerConnection(t *testing.T) {
	e := newEnvWith(t, storetest.OpenAny(t), func(c *config.Config) { c.OutboundAllow = []string{"127.0.0.1"} })
	a, b := galleryConns(t, e)
	bs := newBrowserSession(t, e)
	bs.run("the install form",
		chromedp.Navigate(e.srv.URL+"/automation/templates/calltouch-call-retailcrm"),
		chromedp.WaitVisible(chromedp.CSS(`#install-form`)),
	)
	statuses := `Array.from(document.querySelector("#param-status_new").options).map(o => o.value + "=" + o.selected).join(",")`
	types := `Array.from(document.querySelector("#param-order_type").options).map(o => o.value).join(",")`
	first := bs.eval(`document.querySelector("#conn-crm").value`)
	if first != strconv.FormatInt(a, 10) {
		t.Fatalf("the connection offered first: %s (a %d, b %d)", first, a, b)
	}
	if got := bs.eval(statuses); got != "new=true,assembly=false,complete=false" {
		t.Fatalf("statuses of %s: %s", first, got)
	}
	bs.setSelect("#conn-crm", strconv.FormatInt(b, 10))
	if got := bs.eval(statuses); got != "wait=true,done=false" {
		t.Fatalf("statuses after choosing the second account: %s", got)
	}
	if got := bs.eval(types); got != "b2b" {
		t.Fatalf("order types after choosing the second account: %s", got)
	}
	if got := bs.eval(`document.querySelector("#param-status_new").selectedOptions[0].textContent`); got != "Ждёт (wait)" {
		t.Fatalf("the option's text: %s", got)
	}
	bs.setSelect("#conn-crm", strconv.FormatInt(a, 10))
	if got := bs.eval(statuses); got != "new=true,assembly=false,complete=false" {
		t.Fatalf("statuses back on the first account: %s", got)
	}
}

// In the bundle editor a connector step's fields that its connection's
// dictionaries fill (retailCRM's status, orderType, site) suggest the
// entries of the connection chosen for the step, and those of the other
// when the step's connection changes.
func TestBrowserEditorDictionaryPerConnection(t *testing.T) {
	e := newEnvWith(t, storetest.OpenAny(t), func(c *config.Config) { c.OutboundAllow = []string{"127.0.0.1"} })
	a, b := galleryConns(t, e)
	bu, err := e.app.Automation.Create(context.Background(), e.admin, automation.Definition{Name: "Заказы",
		Trigger: automation.TriggerSpec{Type: automation.TriggerManual, Entity: "lead"},
		Steps:   []automation.Step{{ID: "order", Action: "retailcrm.order.create", Connection: a, Input: map[string]any{"firstName": "{{trigger.record.title}}"}}}})
	if err != nil {
		t.Fatal(err)
	}
	bs := newBrowserSession(t, e)
	status := `[data-path="input.status"]`
	bs.run("the editor",
		chromedp.Navigate(e.srv.URL+"/automation/"+strconv.FormatInt(bu.ID, 10)),
		chromedp.WaitVisible(chromedp.CSS(status)),
	)
	offered := func(path string) string {
		return bs.eval(`(function(){ const i = document.querySelector('[data-path="` + path + `"]'); const l = i && i.list;
			return l ? Array.from(l.options).map(o => o.value).join(",") : "none" })()`)
	}
	if got := offered("input.status"); got != "new,assembly,complete" {
		t.Fatalf("statuses offered for connection %d: %s", a, got)
	}
	if got := offered("input.orderType"); got != "eshop-individual" {
		t.Fatalf("order types offered for connection %d: %s", a, got)
	}
	bs.setSelect(`select[data-path="connection"]`, strconv.FormatInt(b, 10))
	bs.waitJS("the second account's statuses", `(function(){ const i = document.querySelector('`+status+`'); return !!(i && i.list && i.list.options.length === 2) })()`)
	if got := offered("input.status"); got != "wait,done" {
		t.Fatalf("statuses offered for connection %d: %s", b, got)
	}
	if got := offered("input.orderType"); got != "b2b" {
		t.Fatalf("order types offered for connection %d: %s", b, got)
	}
	if got := offered("input.firstName"); got != "none" {
		t.Fatalf("a field no dictionary fills suggests %s", got)
	}
}

// TestBrowserConnectionPhoneWidth: the connection page with its hook URL
// just made, and the template install form, at 390 and 1280 px: no
// sideways scrolling (the hook URL is one long word).
func TestBrowserConnectionPhoneWidth(t *testing.T) {
	e := newEnvWith(t, storetest.OpenAny(t), func(c *config.Config) { c.OutboundAllow = []string{"127.0.0.1"} })
	galleryConns(t, e)
	list, err := e.app.Connections.List(context.Background(), "calltouch")
	if err != nil || len(list) != 1 {
		t.Fatalf("%v %v", list, err)
	}
	bs := newBrowserSession(t, e)
	for _, w := range []struct {
		width  int64
		suffix string
	}{{390, "-phone"}, {1280, ""}} {
		bs.run("the connection's hook URL",
			chromedp.EmulateViewport(w.width, 900),
			chromedp.Navigate(e.srv.URL+"/admin/connections/"+strconv.FormatInt(list[0].ID, 10)),
			chromedp.WaitVisible(chromedp.CSS(`#connection-hook-form`)),
			chromedp.Click(chromedp.CSS(`#connection-hook-form button`)),
			chromedp.WaitVisible(chromedp.CSS(`#connection-hook-url`)),
			chromedp.ScrollIntoView(chromedp.CSS(`#connection-hook`)),
			viewShot(bs.dir, "connection-hook"+w.suffix),
		)
		bs.noHorizontalScroll(fmt.Sprintf("the connection page at %d px", w.width))
		bs.run("the install form",
			chromedp.Navigate(e.srv.URL+"/automation/templates/calltouch-call-retailcrm"),
			chromedp.WaitVisible(chromedp.CSS(`#install-form`)),
			viewShot(bs.dir, "template-install"+w.suffix),
		)
		bs.noHorizontalScroll(fmt.Sprintf("the install form at %d px", w.width))
	}
}

// viewShot saves what the window shows, at the emulated width
// (FullScreenshot lays a narrow page out at Chromium's own 375 px).
func viewShot(dir, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		buf, err := chromedp.CaptureScreenshot()(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	})
}

// galleryConns saves two retailCRM connections with different
// dictionaries (as "refresh fields" stores them) and a Calltouch one.
func galleryConns(t *testing.T, e *env) (a, b int64) {
	ctx := context.Background()
	mk := func(typ, name string, settings map[string]any, dicts string) int64 {
		c, err := e.app.Connections.Create(ctx, e.admin.UserID, connection.Input{Type: typ, Name: name, Settings: settings})
		if err != nil {
			t.Fatal(err)
		}
		if dicts != "" {
			err := e.app.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, "UPDATE connections SET dictionaries = $1, refreshed_at = $2 WHERE id = $3", dicts, time.Now().Unix(), c.ID)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		return c.ID
	}
	a = mk("retailcrm", "А-магазин", map[string]any{"url": "https://a.retailcrm.ru", "api_key": "k1", "site": "a"},
		`{"statuses":[{"code":"new","name":"Новый"},{"code":"assembly","name":"Комплектуется"},{"code":"complete","name":"Выполнен"}],"order_types":[{"code":"eshop-individual","name":"Физлицо"}]}`)
	b = mk("retailcrm", "Б-магазин", map[string]any{"url": "https://b.retailcrm.ru", "api_key": "k2", "site": "b"},
		`{"statuses":[{"code":"wait","name":"Ждёт"},{"code":"done","name":"Готов"}],"order_types":[{"code":"b2b","name":"Юрлицо"}]}`)
	mk("calltouch", "Calltouch", map[string]any{"site_id": "1", "token": "t"}, "")
	return a, b
}
