package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/intake/webform"
	"github.com/obmen/obmen/internal/store/storetest"
)

// powForm makes a proof-of-work form that a site at origin may use.
func powForm(t *testing.T, e *env, origin string) webform.Form {
	t.Helper()
	f, err := e.app.Forms.Create(context.Background(), webform.Form{Name: "Заявка", Enabled: true, UserID: e.admin.UserID, Module: "leads",
		CaptchaMode: webform.CaptchaPoW, AllowedOrigins: []string{origin},
		Fields: []webform.Field{{Name: "name", Label: "Имя", Required: true}, {Name: "phone", Label: "Телефон"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !f.Captcha || f.CaptchaMode != webform.CaptchaPoW {
		t.Fatalf("saved form: captcha %v mode %q", f.Captcha, f.CaptchaMode)
	}
	return f
}

func countLeads(t *testing.T, d *db.DB, name string) int {
	t.Helper()
	var n int
	if err := d.Read.QueryRow("SELECT COUNT(*) FROM leads WHERE name = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBrowserWebformProofOfWork: in Chromium, a site's form posted without
// the captcha gets Obmen's page, whose script (under its strict CSP)
// solves the puzzle and the visitor sends without answering a question;
// the pasted snippet on the site does the same by fetch.
func TestBrowserWebformProofOfWork(t *testing.T) {
	d := storetest.OpenAny(t)
	e := newEnv(t, d)
	var f webform.Form
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/plain":
			io.WriteString(w, `<!doctype html><html><body><form id="plain" action="`+e.srv.URL+"/f/"+f.PublicID+`" method="post">
<input id="n" name="name"><input id="p" name="phone"><button id="go" type="submit">Отправить</button></form></body></html>`)
		case "/snippet":
			base := strings.TrimSuffix(f.SubmitURL, "/f/"+f.PublicID)
			io.WriteString(w, `<!doctype html><html><body>`+strings.ReplaceAll(f.HTML, base, e.srv.URL)+`</body></html>`)
		}
	}))
	defer site.Close()
	f = powForm(t, e, site.URL)
	bs := &browserSession{t: t, ctx: newChrome(t), e: e, dir: t.TempDir()}

	// A plain form on the site: Obmen's page takes over.
	bs.run("site form", chromedp.Navigate(site.URL+"/plain"), chromedp.WaitVisible(chromedp.CSS(`#go`)),
		chromedp.SendKeys(chromedp.CSS(`#n`), "Пётр Браузеров"), chromedp.SendKeys(chromedp.CSS(`#p`), "+7 916 123-45-67"),
		chromedp.Click(chromedp.CSS(`#go`)), chromedp.WaitReady(chromedp.CSS(`input[name=obmen_pow_token]`)))
	bs.waitJS("puzzle solved", `document.querySelector("input[name=obmen_pow_nonce]").value !== ""`)
	if hidden := bs.eval(`String(document.querySelector(".obmen-arith").hidden)`); hidden != "true" {
		t.Errorf("arithmetic question shown to a browser with JavaScript (hidden=%s)", hidden)
	}
	bs.run("send", chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	// The click navigates: poll the new page's title, retrying while the
	// old page's context goes away.
	thanks := false
	for range 50 {
		title, err := chromedp.Run(bs.ctx, chromedp.Evaluate[string](`document.title`))
		if err == nil && strings.Contains(title, "Спасибо") {
			thanks = true
			break
		}
		bs.run("wait", chromedp.Sleep(200*time.Millisecond))
	}
	if !thanks {
		t.Fatal("no thanks page after sending")
	}
	if n := countLeads(t, d, "Пётр Браузеров"); n != 1 {
		t.Fatalf("leads after the page's proof of work: %d", n)
	}

	// The snippet pasted on the site: fetch, the puzzle, no question.
	bs.run("snippet", chromedp.Navigate(site.URL+"/snippet"), chromedp.WaitVisible(chromedp.CSS(`#obmen-`+f.PublicID+`-name`)))
	bs.waitJS("snippet puzzle solved", `document.querySelector("#obmen-form-`+f.PublicID+` input[name=obmen_pow_nonce]").value !== ""`)
	if hidden := bs.eval(`String(document.querySelector("#obmen-form-` + f.PublicID + ` .obmen-captcha").hidden)`); hidden != "true" {
		t.Errorf("snippet shows the question (hidden=%s)", hidden)
	}
	bs.run("snippet send", chromedp.SendKeys(chromedp.CSS(`#obmen-`+f.PublicID+`-name`), "Анна Сниппетова"),
		chromedp.Click(chromedp.CSS(`#obmen-form-`+f.PublicID+` button[type=submit]`)))
	bs.waitJS("snippet thanks", `document.querySelector("#obmen-form-`+f.PublicID+` .obmen-message").textContent.indexOf("Спасибо") >= 0`)
	if n := countLeads(t, d, "Анна Сниппетова"); n != 1 {
		t.Fatalf("leads after the snippet's proof of work: %d", n)
	}
}

var (
	questionRe = regexp.MustCompile(`Сколько будет (\d+) (?:\+|&#43;) (\d+)\?`)
	hiddenRe   = regexp.MustCompile(`name="(obmen_captcha_token|obmen_pow_token)" value="([^"]+)"`)
)

// TestWebformProofOfWorkWithoutJavaScript: a visitor whose browser runs no
// script answers the arithmetic question on Obmen's page and is through;
// a wrong answer or a forged nonce is not.
func TestWebformProofOfWorkWithoutJavaScript(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		f := powForm(t, e, "https://shop.example")
		post := func(v url.Values) (int, string) {
			resp, err := http.PostForm(e.srv.URL+"/f/"+f.PublicID, v)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		st, body := post(url.Values{"name": {"Без Скриптов"}})
		m, h := questionRe.FindStringSubmatch(body), hiddenRe.FindAllStringSubmatch(body, -1)
		if st != http.StatusOK || m == nil || len(h) != 2 || !strings.Contains(body, `src="/f/pow.js"`) {
			t.Fatalf("question page: %d %s", st, body)
		}
		tokens := map[string]string{}
		for _, x := range h {
			tokens[x[1]] = strings.ReplaceAll(x[2], "&#43;", "+")
		}
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		// A made-up nonce is checked as a proof of work and refused.
		if st, _ := post(url.Values{"name": {"Без Скриптов"}, "obmen_pow_token": {tokens["obmen_pow_token"]}, "obmen_pow_nonce": {"1"},
			"obmen_captcha_token": {tokens["obmen_captcha_token"]}, "obmen_captcha_answer": {strconv.Itoa(a + b)}}); st != http.StatusUnprocessableEntity {
			t.Fatalf("forged nonce: %d", st)
		}
		if st, _ := post(url.Values{"name": {"Без Скриптов"}, "obmen_pow_token": {tokens["obmen_pow_token"]}, "obmen_pow_nonce": {""},
			"obmen_captcha_token": {tokens["obmen_captcha_token"]}, "obmen_captcha_answer": {strconv.Itoa(a + b + 1)}}); st != http.StatusUnprocessableEntity {
			t.Fatalf("wrong answer: %d", st)
		}
		if n := countLeads(t, d, "Без Скриптов"); n != 0 {
			t.Fatalf("leads before a right answer: %d", n)
		}
		// The token of a refused answer is spent: a fresh page.
		_, body = post(url.Values{"name": {"Без Скриптов"}})
		m, h = questionRe.FindStringSubmatch(body), hiddenRe.FindAllStringSubmatch(body, -1)
		for _, x := range h {
			tokens[x[1]] = strings.ReplaceAll(x[2], "&#43;", "+")
		}
		a, _ = strconv.Atoi(m[1])
		b, _ = strconv.Atoi(m[2])
		st, body = post(url.Values{"name": {"Без Скриптов"}, "obmen_pow_token": {tokens["obmen_pow_token"]}, "obmen_pow_nonce": {""},
			"obmen_captcha_token": {tokens["obmen_captcha_token"]}, "obmen_captcha_answer": {strconv.Itoa(a + b)}})
		if st != http.StatusOK || !strings.Contains(body, "Спасибо") {
			t.Fatalf("right answer: %d %s", st, body)
		}
		if n := countLeads(t, d, "Без Скриптов"); n != 1 {
			t.Fatalf("leads after the answer: %d", n)
		}
	})
}
