package intake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/intake"
	"github.com/obmen/obmen/internal/intake/webform"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// site is a web site on another loopback origin that shows a form's
// generated HTML in its page.
func site(t *testing.T, formHTML func() string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/thanks" {
			io.WriteString(w, "<p>Спасибо</p>")
			return
		}
		fmt.Fprintf(w, "<!doctype html><html><head><meta charset=utf-8><title>Лендинг</title></head><body><h1>Оставьте заявку</h1>%s</body></html>", formHTML())
	}))
	t.Cleanup(srv.Close)
	return srv
}

var (
	reFormAction = regexp.MustCompile(`<form [^>]*action="([^"]+)"`)
	reInputName  = regexp.MustCompile(`<(?:input|textarea)[^>]*name="([^"]+)"`)
	reHidden     = regexp.MustCompile(`<input [^>]*name="([^"]+)"[^>]* value="([^"]*)"`)
	reQuestion   = regexp.MustCompile(`(\d+) \+ (\d+)`)
)

// noRedirect is a browser-like client that shows redirects instead of
// following them.
func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// createForm adds a form; one without a minimum fill time gets 0 (these
// tests submit right after creating it; TestWebformMinFillTime times).
func (e *env) createForm(t *testing.T, f map[string]any) webform.Form {
	t.Helper()
	if _, ok := f["min_fill_seconds"]; !ok {
		f["min_fill_seconds"] = 0
	}
	r := e.doJSON("POST", "/api/v1/webforms", f)
	if r.Status != http.StatusCreated {
		t.Fatalf("create form: %d %s", r.Status, r.Body)
	}
	var out webform.Form
	r.json(t, &out)
	return out
}

func post(t *testing.T, c *http.Client, u, ctype, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func journalTop(t *testing.T, e *env) intake.Entry {
	t.Helper()
	var j journalAnswer
	e.do("GET", "/api/v1/intake/journal?source=form&limit=1", nil).json(t, &j)
	if len(j.Items) == 0 {
		t.Fatal("journal is empty")
	}
	return j.Items[0]
}

// TestWebformCrossOrigin: the generated form, in a page served from
// another origin, submitted as a browser without JavaScript would.
func TestWebformCrossOrigin(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		var formHTML string
		s := site(t, func() string { return formHTML })
		f := e.createForm(t, map[string]any{"name": "Лендинг", "user_id": e.admin.ID, "module": "leads", "return_url": s.URL + "/thanks",
			"fields": []map[string]any{
				{"name": "name", "required": true}, {"name": "phone", "label": "Ваш телефон", "required": true}, {"name": "email"},
				{"name": "comments"}, {"name": "title", "override": "Заявка с лендинга"}}})
		formHTML = f.HTML
		if f.PublicID == "" || len(f.AllowedOrigins) != 1 || f.AllowedOrigins[0] != s.URL {
			t.Fatalf("form = %+v", f)
		}
		if strings.Contains(f.HTML, `name="title"`) || !strings.Contains(f.HTML, `name="phone" type="tel" required`) || !strings.Contains(f.HTML, "Ваш телефон *") ||
			!strings.Contains(f.HTML, `name="obmen_hp"`) || !strings.Contains(f.HTML, "<script>") {
			t.Errorf("html = %s", f.HTML)
		}
		// The visitor opens the site's page and fills the form.
		res, err := http.Get(s.URL + "/landing?utm_source=yandex")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		m := reFormAction.FindSubmatch(page)
		if m == nil {
			t.Fatalf("no form in the page: %s", page)
		}
		action := html.UnescapeString(string(m[1]))
		// The form posts to the form's own URL on Obmen (BaseURL is the
		// configured one; the test server has its own address).
		action = e.srv.URL + action[strings.Index(action, "/f/"):]
		fill := map[string]string{"name": "Мария", "phone": "+7 (916) 123-45-67", "email": "maria@example.ru", "comments": "Перезвоните после 18:00"}
		form := url.Values{}
		for _, n := range reInputName.FindAllSubmatch(page, -1) {
			form.Set(string(n[1]), fill[string(n[1])]) // hidden fields go empty: no script ran
		}
		if _, ok := form["utm_source"]; !ok {
			t.Errorf("no utm_source hidden field in %v", form)
		}
		browser := noRedirect()
		res, body := post(t, browser, action, "application/x-www-form-urlencoded", form.Encode(), "Origin", s.URL, "Referer", s.URL+"/landing?utm_source=yandex")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != s.URL+"/thanks" {
			t.Fatalf("submit: %d %s %s", res.StatusCode, res.Header.Get("Location"), body)
		}
		if res.Header.Get("Access-Control-Allow-Origin") != s.URL {
			t.Errorf("ACAO = %q", res.Header.Get("Access-Control-Allow-Origin"))
		}
		j := journalTop(t, e)
		if j.Outcome != intake.OutcomeCreated || j.Entity != "lead" || j.SourceID != f.ID {
			t.Fatalf("journal = %+v", j)
		}
		l, err := e.app.Store.GetLead(ctx, j.RecordID)
		if err != nil {
			t.Fatal(err)
		}
		if l.Title != "Заявка с лендинга" || l.Name != "Мария" || len(l.Phones) != 1 || l.Phones[0].Normalized != "+79161234567" ||
			l.Comments != "Перезвоните после 18:00" || l.AssignedByID != e.admin.ID || !strings.Contains(l.SourceDescription, s.URL+"/landing") {
			t.Errorf("lead = %+v", l)
		}

		// The same form from a site not allowed: refused, nothing written.
		res, _ = post(t, browser, action, "application/x-www-form-urlencoded", form.Encode(), "Origin", "http://evil.example")
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("other origin: %d", res.StatusCode)
		}
		// A required field left empty: a page naming it.
		bad := url.Values{"name": {"Мария"}, "phone": {""}}
		res, body = post(t, browser, action, "application/x-www-form-urlencoded", bad.Encode(), "Origin", s.URL)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "phone") || !strings.Contains(body, "Ваш телефон") {
			t.Errorf("required: %d %s", res.StatusCode, body)
		}
		if j := journalTop(t, e); j.Outcome != intake.OutcomeFailed || j.Field != "phone" {
			t.Errorf("journal of a refusal = %+v", j)
		}
		// The honeypot: the bot is thanked, nothing is written.
		hp := url.Values{"name": {"bot"}, "phone": {"+79161234567"}, "obmen_hp": {"http://spam"}}
		res, _ = post(t, browser, action, "application/x-www-form-urlencoded", hp.Encode())
		if res.StatusCode != http.StatusSeeOther {
			t.Errorf("honeypot: %d", res.StatusCode)
		}
		if j := journalTop(t, e); j.Outcome != intake.OutcomeSkipped || j.Field != "obmen_hp" {
			t.Errorf("journal of spam = %+v", j)
		}
		// AJAX as the script sends it: multipart FormData, JSON answer,
		// analytics ids from hidden fields.
		var mb strings.Builder
		mw := multipart.NewWriter(&mb)
		for k, v := range map[string]string{"name": "Олег", "phone": "89161112233", "email": "bad-address", "utm_source": "google", "utm_campaign": "осень",
			"obmen_ga": "GA1.2.1234567.7654321", "obmen_ym_uid": "170000000123"} {
			_ = mw.WriteField(k, v)
		}
		mw.Close()
		res, body = post(t, browser, action, mw.FormDataContentType(), mb.String(), "Origin", s.URL, "Accept", "application/json")
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `"field":"email"`) {
			t.Errorf("bad e-mail: %d %s", res.StatusCode, body)
		}
		mb.Reset()
		mw = multipart.NewWriter(&mb)
		for k, v := range map[string]string{"name": "Олег", "phone": "89161112233", "utm_source": "google", "utm_campaign": "осень",
			"obmen_ga": "GA1.2.1234567.7654321", "obmen_ym_uid": "170000000123", "obmen_referrer": "https://yandex.ru/search"} {
			_ = mw.WriteField(k, v)
		}
		mw.Close()
		res, body = post(t, browser, action, mw.FormDataContentType(), mb.String(), "Origin", s.URL, "Accept", "application/json")
		var ok webform.SubmitResponse
		if err := json.Unmarshal([]byte(body), &ok); err != nil || res.StatusCode != http.StatusOK || !ok.OK || ok.Entity != "lead" || ok.Redirect != s.URL+"/thanks" {
			t.Fatalf("ajax: %d %s", res.StatusCode, body)
		}
		l, err = e.app.Store.GetLead(ctx, ok.ID)
		if err != nil {
			t.Fatal(err)
		}
		if l.UTMSource != "google" || l.UTMCampaign != "осень" || l.GAClientID != "1234567.7654321" || l.YMClientID != "170000000123" ||
			!strings.Contains(l.SourceDescription, "https://yandex.ru/search") {
			t.Errorf("ajax lead = %+v", l)
		}
		// Preflight and body limit.
		req, _ := http.NewRequest("OPTIONS", action, nil)
		req.Header.Set("Origin", s.URL)
		req.Header.Set("Access-Control-Request-Method", "POST")
		if res, err := browser.Do(req); err != nil || res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != s.URL {
			t.Errorf("preflight: %v %v", res, err)
		}
		res, _ = post(t, browser, action, "application/x-www-form-urlencoded", "comments="+strings.Repeat("я", 40000), "Origin", s.URL)
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("large body: %d", res.StatusCode)
		}
		if r := e.doJSON("POST", "/api/v1/webforms", map[string]any{"name": "x", "user_id": e.admin.ID, "module": "leads", "fields": []map[string]any{{"name": "salary"}}}); r.Status != http.StatusUnprocessableEntity ||
			!strings.Contains(string(r.Body), "fields[0].name") {
			t.Errorf("unknown field: %d %s", r.Status, r.Body)
		}
	})
}

func TestWebformCaptcha(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		f := e.createForm(t, map[string]any{"name": "С капчей", "user_id": e.admin.ID, "module": "tickets", "captcha": true,
			"allowed_origins": []string{"https://shop.example.ru"}, "fields": []map[string]any{{"name": "title", "required": true}, {"name": "email"}}})
		action := e.srv.URL + "/f/" + f.PublicID
		c := noRedirect()
		// A script: no answer → refused; a challenge, answered → taken;
		// the same token again → refused.
		res, body := post(t, c, action, "application/json", `{"title":"Не работает"}`)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "obmen_captcha_answer") {
			t.Fatalf("no answer: %d %s", res.StatusCode, body)
		}
		var ch webform.Challenge
		cr, err := c.Get(action + "/captcha")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(cr.Body).Decode(&ch)
		cr.Body.Close()
		m := reQuestion.FindStringSubmatch(ch.Question)
		if m == nil {
			t.Fatalf("question %q", ch.Question)
		}
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		wrong, _ := json.Marshal(map[string]string{"title": "Не работает", "obmen_captcha_token": ch.Token, "obmen_captcha_answer": strconv.Itoa(a + b + 1)})
		if res, _ := post(t, c, action, "application/json", string(wrong)); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("wrong answer: %d", res.StatusCode)
		}
		cr, _ = c.Get(action + "/captcha")
		json.NewDecoder(cr.Body).Decode(&ch)
		cr.Body.Close()
		m = reQuestion.FindStringSubmatch(ch.Question)
		a, _ = strconv.Atoi(m[1])
		b, _ = strconv.Atoi(m[2])
		right, _ := json.Marshal(map[string]string{"title": "Не работает", "email": "a@b.ru", "obmen_captcha_token": ch.Token, "obmen_captcha_answer": strconv.Itoa(a + b)})
		res, body = post(t, c, action, "application/json", string(right))
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `"entity":"ticket"`) {
			t.Fatalf("right answer: %d %s", res.StatusCode, body)
		}
		if res, _ := post(t, c, action, "application/json", string(right)); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("token reused: %d", res.StatusCode)
		}
		// Without JavaScript: Obmen asks the question on its own page,
		// keeping the values, and the answer sends the form.
		res, body = post(t, c, action, "application/x-www-form-urlencoded", url.Values{"title": {"Без скрипта"}}.Encode())
		body = html.UnescapeString(body)
		if res.StatusCode != http.StatusOK || !reQuestion.MatchString(body) {
			t.Fatalf("no-JS challenge: %d %s", res.StatusCode, body)
		}
		form := url.Values{}
		for _, h := range reHidden.FindAllStringSubmatch(body, -1) {
			form.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
		}
		m = reQuestion.FindStringSubmatch(body)
		a, _ = strconv.Atoi(m[1])
		b, _ = strconv.Atoi(m[2])
		form.Set("obmen_captcha_answer", strconv.Itoa(a+b))
		if form.Get("title") != "Без скрипта" || form.Get("obmen_captcha_token") == "" {
			t.Fatalf("kept values = %v", form)
		}
		// Posted from Obmen's own page: its own origin is let through.
		res, body = post(t, c, action, "application/x-www-form-urlencoded", form.Encode(), "Origin", e.srv.URL)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Спасибо") {
			t.Errorf("no-JS answer: %d %s", res.StatusCode, body)
		}
		ts, _, err := e.app.Store.ListTickets(context.Background(), store.ListParams{})
		if err != nil || len(ts) != 2 {
			t.Errorf("tickets = %d, %v", len(ts), err)
		}
	})
}

// TestWebformModules: each target module gets its record, on the
// responsible user's calendar.
func TestWebformModules(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, tc := range []struct {
			module string
			fields []map[string]any
			body   string
			check  func(id int64) error
		}{
			{"contacts", []map[string]any{{"name": "name"}, {"name": "phone"}}, `{"name":"Анна","phone":"+79160000001","utm_source":"vk"}`, func(id int64) error {
				c, err := e.app.Store.GetContact(ctx, id)
				if err == nil && (c.Name != "Анна" || len(c.Phones) != 1 || !strings.Contains(c.Comments, "utm_source: vk")) {
					err = fmt.Errorf("contact = %+v", c)
				}
				return err
			}},
			{"accounts", []map[string]any{{"name": "title", "required": true}, {"name": "inn"}}, `{"title":"ООО Ромашка","inn":"7709745454"}`, func(id int64) error {
				a, err := e.app.Store.GetAccount(ctx, id)
				if err == nil && (a.Title != "ООО Ромашка" || a.INN != "7709745454") {
					err = fmt.Errorf("account = %+v", a)
				}
				return err
			}},
			{"deals", []map[string]any{{"name": "title"}, {"name": "opportunity"}}, `{"title":"Большой заказ","opportunity":"15000,50","utm_source":"ya"}`, func(id int64) error {
				d, err := e.app.Store.GetDeal(ctx, id)
				if err == nil && (d.Title != "Большой заказ" || d.Opportunity != 1500050 || d.UTMSource != "ya") {
					err = fmt.Errorf("deal = %+v", d)
				}
				return err
			}},
		} {
			t.Run(tc.module, func(t *testing.T) {
				f := e.createForm(t, map[string]any{"name": tc.module, "user_id": e.admin.ID, "module": tc.module, "fields": tc.fields})
				res, body := post(t, http.DefaultClient, e.srv.URL+"/f/"+f.PublicID, "application/json", tc.body)
				var ok webform.SubmitResponse
				if err := json.Unmarshal([]byte(body), &ok); err != nil || res.StatusCode != http.StatusOK || ok.ID == 0 {
					t.Fatalf("submit: %d %s", res.StatusCode, body)
				}
				if err := tc.check(ok.ID); err != nil {
					t.Error(err)
				}
				acts, _, err := e.app.Store.ListActivities(ctx, store.ListParams{Limit: 500})
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, a := range acts {
					found = found || (a.OwnerID == ok.ID && a.OwnerType == strings.TrimSuffix(tc.module, "s") && a.AssignedByID == e.admin.ID)
				}
				if !found {
					t.Errorf("no calendar activity for %s %d", tc.module, ok.ID)
				}
			})
		}
		// An invalid INN on an accounts form: the field is named.
		f := e.createForm(t, map[string]any{"name": "inn", "user_id": e.admin.ID, "module": "accounts", "fields": []map[string]any{{"name": "title"}, {"name": "inn"}}})
		res, body := post(t, http.DefaultClient, e.srv.URL+"/f/"+f.PublicID, "application/json", `{"title":"x","inn":"123"}`)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `"field":"inn"`) {
			t.Errorf("bad INN: %d %s", res.StatusCode, body)
		}
		if r := e.do("GET", "/api/v1/webforms", nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "public_id") {
			t.Errorf("list: %d", r.Status)
		}
		if r := e.do("DELETE", "/api/v1/webforms/"+strconv.FormatInt(f.ID, 10), nil); r.Status != http.StatusNoContent {
			t.Errorf("delete: %d", r.Status)
		}
		if res, _ := post(t, http.DefaultClient, e.srv.URL+"/f/"+f.PublicID, "application/json", `{}`); res.StatusCode != http.StatusNotFound {
			t.Errorf("deleted form: %d", res.StatusCode)
		}
	})
}

// TestWebformRateLimit: one address sending form after form is stopped
// with 429 and Retry-After; nothing past the limit is written.
func TestWebformRateLimit(t *testing.T) {
	d := storetest.OpenAny(t)
	e := newEnv(t, d)
	f := e.createForm(t, map[string]any{"name": "limit", "user_id": e.admin.ID, "module": "leads", "fields": []map[string]any{{"name": "name", "required": true}}})
	created, limited := 0, 0
	for i := 0; i < 40; i++ {
		res, _ := post(t, http.DefaultClient, e.srv.URL+"/f/"+f.PublicID, "application/json", `{"name":"бот `+strconv.Itoa(i)+`"}`)
		switch res.StatusCode {
		case http.StatusOK:
			created++
		case http.StatusTooManyRequests:
			limited++
			if res.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		default:
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	if limited == 0 || created == 0 || created > 25 {
		t.Errorf("created %d, limited %d", created, limited)
	}
	ls, _, err := e.app.Store.ListLeads(context.Background(), store.ListParams{Limit: 100})
	if err != nil || len(ls) != created {
		t.Errorf("leads = %d, want %d (%v)", len(ls), created, err)
	}
}
