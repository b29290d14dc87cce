package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/store/storetest"
)

// The web shops page (linked from the 1C settings): add a site with the
// form, a bad address is refused naming the field with the form kept,
// the password is never shown back, an owner company that does not
// exist is refused in Russian, "check connection" reports the
// failure in Russian, and the page fits a phone and a laptop.
func TestSitesPage(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	b := e.browser()
	b.signIn()
	if p := b.get("/admin/1c"); !strings.Contains(p.Body, `href="/admin/sites"`) {
		t.Fatalf("the 1C settings do not link the sites page")
	}
	if p := b.get("/admin/sites"); p.Status != http.StatusOK || !strings.Contains(p.Body, "Обмен с сайтами") {
		t.Fatalf("page: %d", p.Status)
	}
	form := url.Values{"name": {"Магазин"}, "url": {"ftp://shop/1c_exchange.php"}, "login": {"admin"}, "password": {"секрет"},
		"catalog_every": {"15"}, "orders_every": {"5"}, "enabled": {"on"}, "status_map": {"Delivered=F\nCreated=N"}}
	p := b.post("/admin/sites", form)
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="site-error"`) || !strings.Contains(p.Body, "Адрес скрипта обмена сайта") ||
		!strings.Contains(p.Body, `value="Магазин"`) || strings.Contains(p.Body, "секрет") {
		t.Fatalf("bad url: %d %s", p.Status, p.Body)
	}
	form.Set("url", "http://10.9.9.9/1c_exchange.php")
	// The catalog's owner must be a company that exists; the refusal is
	// in Russian and names the field.
	form.Set("owner_account_id", "987654")
	p = b.post("/admin/sites", form)
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Владелец каталога") || !strings.Contains(p.Body, "987654") || strings.Contains(p.Body, "no such") {
		t.Fatalf("bad owner: %d %s", p.Status, p.Body)
	}
	form.Del("owner_account_id")
	p = b.post("/admin/sites", form)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", p.Status, p.Body)
	}
	loc := p.Header.Get("Location")
	m := regexp.MustCompile(`^/admin/sites/(\d+)`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("redirect to %q", loc)
	}
	p = b.get("/admin/sites/" + m[1])
	if p.Status != http.StatusOK || strings.Contains(p.Body, "секрет") || !strings.Contains(p.Body, "Delivered=F") || !strings.Contains(p.Body, "сохранён") {
		t.Fatalf("site page: %d %s", p.Status, p.Body)
	}
	p = b.post("/admin/sites/"+m[1]+"/check", url.Values{})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="site-check"`) || !strings.Contains(p.Body, "Связи нет") {
		t.Fatalf("check: %d %s", p.Status, p.Body)
	}
	// "Run now" reports the failed run with its journal entry, which
	// the exchange journal shows with the direction "с сайтом".
	p = b.post("/admin/sites/"+m[1]+"/run-orders", url.Values{})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="site-run"`) || !strings.Contains(p.Body, "failure") {
		t.Fatalf("run now: %d %s", p.Status, p.Body)
	}
	if p := b.get("/integrations/1c"); !strings.Contains(p.Body, "с сайтом") || !strings.Contains(p.Body, "сайт sale") {
		t.Errorf("the journal does not show the site's run: %s", p.Body)
	}

	bs := newBrowserSession(t, e)
	for _, size := range []struct{ w, h int64 }{{390, 844}, {1280, 800}} {
		bs.run("viewport", chromedp.EmulateViewport(size.w, size.h))
		for _, path := range []string{"/admin/sites", "/admin/sites/" + m[1]} {
			bs.run(path, chromedp.Navigate(e.srv.URL+path), chromedp.WaitReady(chromedp.CSS(`#site-form`)))
			bs.noHorizontalScroll(path)
			bs.labelled(path)
		}
	}
}
