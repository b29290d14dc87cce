package intake_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/intake"
	"github.com/obmen/obmen/internal/store/storetest"
)

// chromiumPath is Debian's Chromium, installed by scripts/test.sh
// (ensure_chromium).
const chromiumPath = "/usr/bin/chromium"

func newChrome(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing: install it with `apt-get install -y chromium` (scripts/test.sh does)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// TestWebformAJAXInChromium: real Chromium opens a landing page on one
// loopback origin with the generated form of Obmen on another; the
// form's script fills the UTM tags from the address and the analytics ids
// from the site's cookies, shows the captcha question fetched across
// origins, takes the fill-time stamp, and submits by fetch (after the
// form's minimum of a second); the browser then goes to the return URL.
func TestWebformAJAXInChromium(t *testing.T) {
	d := storetest.OpenAny(t)
	e := newEnv(t, d)
	ctx := newChrome(t)
	var formHTML string
	landing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/thanks" {
			fmt.Fprint(w, `<!doctype html><meta charset=utf-8><h1 id="thanks">Спасибо!</h1>`)
			return
		}
		fmt.Fprintf(w, `<!doctype html><html><head><meta charset=utf-8><title>Печать баннеров</title>
<script>document.cookie = "_ga=GA1.2.555111.1700000000; path=/"; document.cookie = "_ym_uid=1700000000999; path=/";</script></head>
<body><h1>Оставьте заявку</h1>%s</body></html>`, formHTML)
	}))
	t.Cleanup(landing.Close)
	f := e.createForm(t, map[string]any{"name": "Баннеры", "user_id": e.admin.ID, "module": "leads", "captcha": true,
		"return_url": landing.URL + "/thanks", "min_fill_seconds": 1,
		"fields": []map[string]any{{"name": "name", "required": true}, {"name": "phone", "required": true}, {"name": "comments"}}})
	// The form points at the configured public URL; here Obmen is the
	// test server.
	formHTML = strings.ReplaceAll(f.HTML, strings.TrimSuffix(f.SubmitURL, "/f/"+f.PublicID), e.srv.URL)
	sel := func(name string) chromedp.CSS {
		return chromedp.CSS(`#obmen-form-` + f.PublicID + ` [name="` + name + `"]`)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(landing.URL+"/?utm_source=yandex&utm_medium=cpc&utm_campaign=banners"),
		chromedp.WaitVisible(chromedp.CSS(`.obmen-captcha-question`)),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`/\d+ \+ \d+/.test(document.querySelector('.obmen-captcha-question').textContent)`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("no captcha question: %v", err)
	}
	answer, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(function(){ var m = document.querySelector('.obmen-captcha-question').textContent.match(/(\d+) \+ (\d+)/); return String(+m[1] + +m[2]); })()`))
	if err != nil {
		t.Fatal(err)
	}
	if stamp, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#obmen-form-`+f.PublicID+` [name="obmen_ts"]').value`)); err != nil || !strings.HasPrefix(stamp, "t1.f.") {
		t.Fatalf("the script took no stamp: %q %v", stamp, err)
	}
	time.Sleep(1100 * time.Millisecond) // the form's minimum fill time
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(sel("name"), "Светлана"),
		chromedp.SendKeys(sel("phone"), "+7 903 765-43-21"),
		chromedp.SendKeys(sel("comments"), "Нужен баннер 3×6"),
		chromedp.SendKeys(sel("obmen_captcha_answer"), answer),
		chromedp.Click(chromedp.CSS(`#obmen-form-`+f.PublicID+` button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#thanks`)),
	); err != nil {
		msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('.obmen-message')||{}).textContent || location.href`))
		t.Fatalf("submit: %v (page says %q)", err, msg)
	}
	j := journalTop(t, e)
	if j.Outcome != intake.OutcomeCreated || j.Entity != "lead" {
		t.Fatalf("journal = %+v", j)
	}
	l, err := e.app.Store.GetLead(context.Background(), j.RecordID)
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != "Светлана" || l.Comments != "Нужен баннер 3×6" || len(l.Phones) != 1 || l.Phones[0].Normalized != "+79037654321" ||
		l.UTMSource != "yandex" || l.UTMMedium != "cpc" || l.UTMCampaign != "banners" ||
		l.GAClientID != "555111.1700000000" || l.YMClientID != "1700000000999" || !strings.Contains(l.SourceDescription, landing.URL) {
		t.Errorf("lead = %+v", l)
	}
}

// TestWebformTypoInChromium: a visitor in real Chromium types a wrong
// phone and answers the captcha; the form says in Russian which field is
// wrong (by its label), marks it, keeps the typed values and shows a new
// question; the corrected submit with the new answer goes through. Then
// the same with JavaScript off: Obmen's own page shows the form again.
func TestWebformTypoInChromium(t *testing.T) {
	d := storetest.OpenAny(t)
	e := newEnv(t, d)
	ctx := newChrome(t)
	var formHTML string
	landing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/thanks" {
			fmt.Fprint(w, `<!doctype html><meta charset=utf-8><h1 id="thanks">Спасибо!</h1>`)
			return
		}
		fmt.Fprintf(w, `<!doctype html><html><head><meta charset=utf-8><title>Печать</title></head><body>%s</body></html>`, formHTML)
	}))
	t.Cleanup(landing.Close)
	f := e.createForm(t, map[string]any{"name": "Печать", "user_id": e.admin.ID, "module": "leads", "captcha": true,
		"return_url": landing.URL + "/thanks",
		"fields":     []map[string]any{{"name": "name", "label": "Ваше имя", "required": true}, {"name": "phone", "label": "Телефон для связи", "required": true}}})
	formHTML = strings.ReplaceAll(f.HTML, strings.TrimSuffix(f.SubmitURL, "/f/"+f.PublicID), e.srv.URL)
	form := `#obmen-form-` + f.PublicID
	sel := func(name string) chromedp.CSS { return chromedp.CSS(form + ` [name="` + name + `"]`) }
	question := func() string {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`/\d+ \+ \d+/.test(document.querySelector('.obmen-captcha-question').textContent)`,
			chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("no captcha question: %v", err)
		}
		q, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('.obmen-captcha-question').textContent + '|' + document.querySelector('[name="obmen_captcha_token"]').value`))
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(landing.URL+"/")); err != nil {
		t.Fatal(err)
	}
	first := question()
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(sel("name"), "Светлана"),
		chromedp.SendKeys(sel("phone"), "12345"),
		chromedp.SendKeys(sel("obmen_captcha_answer"), answerOf(t, first)),
		chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)),
	); err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(ctx, chromedp.Poll[string](`(function(){ var t = document.querySelector('.obmen-message').textContent; return t || null; })()`,
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("no message: %v", err)
	}
	if msg != "Поле «Телефон для связи»: «12345» — не номер телефона" {
		t.Errorf("message %q", msg)
	}
	noTechnical(t, "the form's message", msg)
	state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[document.querySelector('[name="phone"]').getAttribute('aria-invalid'), document.querySelector('[name="name"]').value, document.querySelector('[name="phone"]').value, document.activeElement.name].join('|')`))
	if err != nil || state != "true|Светлана|12345|phone" {
		t.Errorf("after the refusal: %q %v", state, err)
	}
	second := question()
	if second == first {
		t.Fatalf("the question was not renewed: %q", second)
	}
	if err := chromedp.Do(ctx,
		chromedp.SetValue(sel("phone"), "+7 903 765-43-21"),
		chromedp.SendKeys(sel("obmen_captcha_answer"), answerOf(t, second)),
		chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#thanks`)),
	); err != nil {
		m, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('.obmen-message')||{}).textContent || location.href`))
		t.Fatalf("corrected submit: %v (page says %q)", err, m)
	}
	if j := journalTop(t, e); j.Outcome != intake.OutcomeCreated {
		t.Fatalf("journal = %+v", j)
	}

	// JavaScript off: the plain form posts to Obmen, which answers with
	// its page: the question, then (a typo) the error beside the field.
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(landing.URL+"/"),
		chromedp.SendKeys(sel("name"), "Пётр"),
		chromedp.SendKeys(sel("phone"), "99"),
		chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.obmen-errors`)),
	); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "Поле «Телефон для связи»: «99» — не номер телефона") || !reQuestion.MatchString(text) {
		t.Fatalf("no-JS page: %s", text)
	}
	noTechnical(t, "the no-JS page", text)
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#obmen-phone`), "+7 903 765-43-22"),
		chromedp.SendKeys(chromedp.CSS(`#obmen-captcha`), answerOf(t, text)),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#thanks`)),
	); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("no-JS corrected: %v (%s)", err, body)
	}
	j := journalTop(t, e)
	l, err := e.app.Store.GetLead(context.Background(), j.RecordID)
	if err != nil || l.Name != "Пётр" || len(l.Phones) != 1 || l.Phones[0].Normalized != "+79037654322" {
		t.Errorf("no-JS lead = %+v, %v", l, err)
	}
}
