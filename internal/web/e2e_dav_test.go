package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestProfileDAV: the user's own profile shows the CardDAV/CalDAV
// addresses to copy and how to make an app password; an administrator
// looking at another user's profile does not get the block; the server
// answers at those addresses (the app mounts internal/dav).
func TestProfileDAV(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		adm := e.browser()
		adm.signIn()
		p := adm.get("/account/profile")
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="dav-server"`) || !strings.Contains(p.Body, "/dav/principals/admin/addressbooks/contacts/") ||
			!strings.Contains(p.Body, "Контакты и календари в почте и на телефоне") || !strings.Contains(p.Body, `href="/keys"`) {
			t.Fatalf("own profile: %d %s", p.Status, p.Body)
		}
		anna, err := e.app.Store.CreateUser(context.Background(), e.admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1")
		if err != nil {
			t.Fatal(err)
		}
		if p := adm.get("/admin/users/" + strconv.FormatInt(anna.ID, 10) + "/profile"); strings.Contains(p.Body, `id="dav-server"`) {
			t.Errorf("another user's profile shows the DAV block")
		}
		req, _ := http.NewRequest("PROPFIND", e.srv.URL+"/dav/", strings.NewReader(`<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>`))
		req.Header.Set("Content-Type", "application/xml")
		req.Header.Set("Depth", "0")
		req.SetBasicAuth("admin", adminPassword)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMultiStatus {
			t.Errorf("PROPFIND /dav/ through the app: %d", resp.StatusCode)
		}
	})
}

// TestBrowserProfileDAV: the block fits a phone's 390 px and a laptop's
// 1280 px without scrolling sideways, the addresses whole in their boxes;
// so does the calendar link block under it.
func TestBrowserProfileDAV(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	for _, w := range []int64{390, 1280} {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			bs := newBrowserSession(t, e)
			bs.run("profile", chromedp.EmulateViewport(w, 844), chromedp.Navigate(e.srv.URL+"/account/profile"), chromedp.WaitVisible(chromedp.CSS(`#dav-contacts`)))
			if got := bs.eval(`document.scrollingElement.scrollWidth <= innerWidth ? "" : "scrolls: " + document.scrollingElement.scrollWidth`); got != "" {
				t.Errorf("at %d px the page %s", w, got)
			}
			if got := bs.eval(`Array.from(document.querySelectorAll("#dav input")).filter(i => i.getBoundingClientRect().right > innerWidth).map(i => i.id).join(",")`); got != "" {
				t.Errorf("at %d px these stick out: %s", w, got)
			}
			// The calendar link (iCal feed) below it: made, then shown whole.
			bs.run("feed", chromedp.Click(chromedp.CSS(`#ical-new`)), chromedp.WaitVisible(chromedp.CSS(`#ical-url`)))
			if got := bs.eval(`Array.from(document.querySelectorAll("#dav input, #ical-feed input, #ical-feed button")).filter(i => i.getBoundingClientRect().right > innerWidth).map(i => i.id).join(",")`); got != "" {
				t.Errorf("at %d px these stick out after a feed link is made: %s", w, got)
			}
			if got := bs.eval(`document.querySelector("#ical-url").value`); !strings.Contains(got, "/ical/") {
				t.Errorf("feed link %q", got)
			}
			if got := bs.eval(`document.querySelector("#dav-server").value`); !strings.HasSuffix(got, "/dav/") {
				t.Errorf("server address %q", got)
			}
			if w == 390 {
				bs.run("shot", shot(bs.dir, "profile-dav-phone"))
			}
		})
	}
}
