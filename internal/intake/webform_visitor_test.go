package intake_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/intake"
	"github.com/obmen/obmen/internal/intake/webform"
)

// technical are texts a site's visitor must never read.
var technical = []string{"is not a phone number", "is not an e-mail", "obmen_captcha_answer:", "phone:", "wrong or expired", "required:", "internal error"}

func noTechnical(t *testing.T, what, body string) {
	t.Helper()
	for _, s := range technical {
		if strings.Contains(body, s) {
			t.Errorf("%s shows %q: %s", what, s, body)
		}
	}
}

// answerOf solves the question in a text.
func answerOf(t *testing.T, text string) string {
	t.Helper()
	m := reQuestion.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no question in %s", text)
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	return strconv.Itoa(a + b)
}

// TestWebformRefusalSpeaksRussianAndRenewsCaptcha: a visitor's typo is
// refused in the form's language, naming every field at fault by its
// label; the refusal brings a fresh captcha question and keeps what was
// typed, so the corrected resubmit goes through — by script (JSON) and
// without JavaScript (Obmen's page with the form again).
func TestWebformRefusalSpeaksRussianAndRenewsCaptcha(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		f := e.createForm(t, map[string]any{"name": "Баннеры", "user_id": e.admin.ID, "module": "leads", "captcha": true,
			"fields": []map[string]any{{"name": "name", "label": "Ваше имя", "required": true}, {"name": "phone", "label": "Ваш телефон", "required": true},
				{"name": "email", "label": "Почта"}}})
		if f.Language != "ru" {
			t.Errorf("default language %q", f.Language)
		}
		action := e.srv.URL + "/f/" + f.PublicID
		c := noRedirect()

		// By script: a question, then a submit with two typos.
		var ch webform.Challenge
		cr, err := c.Get(action + "/captcha")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(cr.Body).Decode(&ch)
		cr.Body.Close()
		bad, _ := json.Marshal(map[string]string{"name": "Ольга", "phone": "12345", "email": "olga@", "obmen_captcha_token": ch.Token, "obmen_captcha_answer": answerOf(t, ch.Question)})
		res, body := post(t, c, action, "application/json", string(bad), "Accept", "application/json")
		var out struct {
			Error struct {
				Code, Field, Message string
				Details              []struct{ Field, Label, Message string }
			}
			Captcha *webform.Challenge
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil || res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("typos: %d %s", res.StatusCode, body)
		}
		noTechnical(t, "JSON refusal", body)
		if out.Error.Field != "phone" || out.Error.Message != "Поле «Ваш телефон»: «12345» — не номер телефона" || len(out.Error.Details) != 2 ||
			out.Error.Details[1].Label != "Почта" || out.Error.Details[1].Message != "Поле «Почта»: «olga@» — не адрес электронной почты" {
			t.Errorf("refusal = %+v", out.Error)
		}
		if out.Captcha == nil || out.Captcha.Token == "" || out.Captcha.Token == ch.Token {
			t.Fatalf("no fresh captcha: %s", body)
		}
		if j := journalTop(t, e); j.Outcome != intake.OutcomeFailed || j.Field != "phone" {
			t.Errorf("journal = %+v", j)
		}
		// The corrected resubmit with the fresh question goes through.
		good, _ := json.Marshal(map[string]string{"name": "Ольга", "phone": "+7 916 555-44-33", "email": "olga@example.ru", "obmen_captcha_token": out.Captcha.Token, "obmen_captcha_answer": answerOf(t, out.Captcha.Question)})
		if res, body := post(t, c, action, "application/json", string(good), "Accept", "application/json"); res.StatusCode != http.StatusOK {
			t.Fatalf("corrected: %d %s", res.StatusCode, body)
		}
		// A wrong answer: refused in Russian, with a fresh question again.
		cr, _ = c.Get(action + "/captcha")
		json.NewDecoder(cr.Body).Decode(&ch)
		cr.Body.Close()
		wrong, _ := json.Marshal(map[string]string{"name": "Пётр", "phone": "+79165554434", "obmen_captcha_token": ch.Token, "obmen_captcha_answer": "1000"})
		res, body = post(t, c, action, "application/json", string(wrong), "Accept", "application/json")
		out.Captcha = nil
		json.Unmarshal([]byte(body), &out)
		if res.StatusCode != http.StatusUnprocessableEntity || out.Error.Code != "captcha_failed" || !strings.Contains(out.Error.Message, "Ответьте на новый вопрос") ||
			out.Captcha == nil || out.Captcha.Token == ch.Token {
			t.Errorf("wrong answer: %d %s", res.StatusCode, body)
		}
		noTechnical(t, "captcha refusal", body)

		// Without JavaScript: the form posts with no question answered and
		// a typo; Obmen's page shows the form again in Russian — the error
		// beside the field, the values kept, a question.
		form := url.Values{"name": {"Иван"}, "phone": {"12-34"}, "email": {""}, "utm_source": {"yandex"}}
		res, body = post(t, c, action, "application/x-www-form-urlencoded", form.Encode())
		page := html.UnescapeString(body)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Поле «Ваш телефон»: «12-34» — не номер телефона") ||
			!strings.Contains(page, `<html lang="ru">`) || !strings.Contains(page, `aria-invalid="true"`) {
			t.Fatalf("no-JS typo: %d %s", res.StatusCode, page)
		}
		noTechnical(t, "no-JS refusal", page)
		// The page's one style is allowed by its hash and nothing else is:
		// no script, no framing.
		if m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(body); m == nil {
			t.Errorf("no style on the no-JS page")
		} else {
			sum := sha256.Sum256([]byte(m[1]))
			csp := res.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "style-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") || !strings.Contains(csp, "default-src 'none'") ||
				!strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("no-JS page policy %q", csp)
			}
		}
		kept := url.Values{}
		for _, h := range reHidden.FindAllStringSubmatch(body, -1) {
			kept.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
		}
		if kept.Get("name") != "Иван" || kept.Get("phone") != "12-34" || kept.Get("utm_source") != "yandex" || kept.Get("obmen_captcha_token") == "" {
			t.Fatalf("kept = %v", kept)
		}
		kept.Set("phone", "+7 916 555-44-35")
		kept.Set("obmen_captcha_answer", answerOf(t, page))
		res, body = post(t, c, action, "application/x-www-form-urlencoded", kept.Encode(), "Origin", e.srv.URL)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Спасибо! Заявка отправлена.") {
			t.Fatalf("no-JS corrected: %d %s", res.StatusCode, body)
		}
		j := journalTop(t, e)
		l, err := e.app.Store.GetLead(t.Context(), j.RecordID)
		if err != nil || l.Name != "Иван" || l.UTMSource != "yandex" {
			t.Errorf("lead = %+v, %v", l, err)
		}

		// A form set to English speaks English.
		en := e.createForm(t, map[string]any{"name": "Banners", "user_id": e.admin.ID, "module": "leads", "language": "en",
			"fields": []map[string]any{{"name": "phone", "label": "Phone", "required": true}}})
		res, body = post(t, c, e.srv.URL+"/f/"+en.PublicID, "application/json", `{"phone":""}`, "Accept", "application/json")
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Please fill in «Phone»") {
			t.Errorf("English: %d %s", res.StatusCode, body)
		}
		if r := e.doJSON("POST", "/api/v1/webforms", map[string]any{"name": "x", "user_id": e.admin.ID, "module": "leads", "language": "de",
			"fields": []map[string]any{{"name": "phone"}}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "language") {
			t.Errorf("language de: %d %s", r.Status, r.Body)
		}
	})
}
