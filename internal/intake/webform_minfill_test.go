package intake_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/intake"
	"github.com/obmen/obmen/internal/intake/webform"
)

// stampOf fetches a form's challenge as the paste-in script does on load
// and returns its fill-time stamp.
func stampOf(t *testing.T, c *http.Client, action string) string {
	t.Helper()
	res, err := c.Get(action + "/captcha")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var ch webform.Challenge
	if err := json.NewDecoder(res.Body).Decode(&ch); err != nil || ch.Stamp == "" {
		t.Fatalf("challenge: %v %+v", err, ch)
	}
	return ch.Stamp
}

// leadCount is how many leads there are.
func leadCount(t *testing.T, e *env) int {
	t.Helper()
	var n int
	if err := e.app.Store.DB().Read.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM leads").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWebformMinFillTime: a submit sooner than the form's minimum after
// the form was served, or with a stamp missing, forged or of another form,
// is skipped as spam with the honeypot's answer and a journal line naming
// why; one sent after the minimum goes in; a plain form without a stamp
// (no JavaScript) is confirmed on Obmen's page and goes in from there.
func TestWebformMinFillTime(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		c := noRedirect()
		fields := []map[string]any{{"name": "name", "required": true}, {"name": "phone"}}
		slow := e.createForm(t, map[string]any{"name": "Медленная", "user_id": e.admin.ID, "module": "leads", "min_fill_seconds": 60, "fields": fields})
		quick := e.createForm(t, map[string]any{"name": "Быстрая", "user_id": e.admin.ID, "module": "leads", "min_fill_seconds": 1, "fields": fields})
		if slow.MinFillSeconds != 60 || !strings.Contains(slow.HTML, `name="obmen_ts"`) {
			t.Fatalf("form = %d, html %s", slow.MinFillSeconds, slow.HTML)
		}
		slowURL, quickURL := e.srv.URL+"/f/"+slow.PublicID, e.srv.URL+"/f/"+quick.PublicID
		sendJSON := func(action string, v map[string]string) (int, string) {
			b, _ := json.Marshal(v)
			res, body := post(t, c, action, "application/json", string(b), "Accept", "application/json")
			return res.StatusCode, body
		}
		// The honeypot's answer: what every spam verdict must look like.
		hpStatus, hpBody := sendJSON(slowURL, map[string]string{"name": "бот", "obmen_hp": "x"})
		if hpStatus != http.StatusOK || !strings.Contains(hpBody, `"ok":true`) {
			t.Fatalf("honeypot: %d %s", hpStatus, hpBody)
		}
		stamp := stampOf(t, c, slowURL)
		forged := stamp[:len(stamp)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(stamp, "AA")]
		for _, tc := range []struct {
			name, stamp, why string
		}{
			{"too fast", stamp, "sent faster than the form's minimum fill time"},
			{"missing", "", "fill-time stamp missing"},
			{"forged", forged, "not signed by this installation for this form"},
			{"another form's", stampOf(t, c, quickURL), "not signed by this installation for this form"},
			{"malformed", "t1.f.now.x", "fill-time stamp malformed"},
		} {
			before := leadCount(t, e)
			status, body := sendJSON(slowURL, map[string]string{"name": "Бот " + tc.name, "obmen_ts": tc.stamp})
			if status != hpStatus || body != hpBody {
				t.Errorf("%s: %d %s, want the honeypot's %d %s", tc.name, status, body, hpStatus, hpBody)
			}
			if j := journalTop(t, e); j.Outcome != intake.OutcomeSkipped || j.Field != "obmen_ts" || j.SourceID != slow.ID ||
				!strings.Contains(j.Error, tc.why) || !strings.HasSuffix(j.Error, ": spam") {
				t.Errorf("%s: journal = %+v", tc.name, j)
			}
			if n := leadCount(t, e); n != before {
				t.Errorf("%s: leads %d → %d", tc.name, before, n)
			}
		}

		// After the minimum: taken, the same stamp more than once (a
		// visitor sending a second request from the page).
		stamp = stampOf(t, c, quickURL)
		time.Sleep(1100 * time.Millisecond)
		for _, name := range []string{"Анна", "Анна ещё раз"} {
			status, body := sendJSON(quickURL, map[string]string{"name": name, "obmen_ts": stamp})
			var ok webform.SubmitResponse
			if err := json.Unmarshal([]byte(body), &ok); err != nil || status != http.StatusOK || ok.ID == 0 {
				t.Fatalf("after the minimum: %d %s", status, body)
			}
			if l, err := e.app.Store.GetLead(context.Background(), ok.ID); err != nil || l.Name != name {
				t.Errorf("lead = %+v, %v", l, err)
			}
		}

		// A plain form without JavaScript: Obmen's page asks to confirm,
		// the values kept and a stamp of its own; sent at once it is too
		// fast, sent a second later it goes in.
		res, page := post(t, c, quickURL, "application/x-www-form-urlencoded", url.Values{"name": {"Пётр"}, "phone": {"+79161234567"}}.Encode())
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "Проверьте заявку") || !strings.Contains(page, `value="Пётр"`) {
			t.Fatalf("confirmation: %d %s", res.StatusCode, page)
		}
		again := url.Values{}
		for _, m := range reHidden.FindAllStringSubmatch(page, -1) {
			again.Set(m[1], html.UnescapeString(m[2]))
		}
		if !strings.HasPrefix(again.Get("obmen_ts"), "t1.p.") {
			t.Fatalf("page stamp %q in %s", again.Get("obmen_ts"), page)
		}
		again.Set("name", "Пётр")
		again.Set("phone", "+79161234567")
		before := leadCount(t, e)
		if res, body := post(t, c, quickURL, "application/x-www-form-urlencoded", again.Encode()); res.StatusCode != http.StatusOK || !strings.Contains(body, "Спасибо") {
			t.Errorf("confirmed at once: %d %s", res.StatusCode, body)
		}
		if j := journalTop(t, e); j.Outcome != intake.OutcomeSkipped || !strings.Contains(j.Error, "minimum 1 s") || leadCount(t, e) != before {
			t.Errorf("confirmed at once: journal %+v, leads %d → %d", j, before, leadCount(t, e))
		}
		time.Sleep(1100 * time.Millisecond)
		if res, body := post(t, c, quickURL, "application/x-www-form-urlencoded", again.Encode()); res.StatusCode != http.StatusOK || !strings.Contains(body, "Спасибо") {
			t.Errorf("confirmed: %d %s", res.StatusCode, body)
		}
		if j := journalTop(t, e); j.Outcome != intake.OutcomeCreated || leadCount(t, e) != before+1 {
			t.Errorf("confirmed: journal %+v, leads %d → %d", j, before, leadCount(t, e))
		}

		// The setting: 3 by default in the API, bounded, 0 turns it off.
		dflt := e.doJSON("POST", "/api/v1/webforms", map[string]any{"name": "По умолчанию", "user_id": e.admin.ID, "module": "leads", "fields": fields})
		var df webform.Form
		dflt.json(t, &df)
		if df.MinFillSeconds != webform.DefaultMinFillSeconds {
			t.Errorf("default = %d %s", df.MinFillSeconds, dflt.Body)
		}
		if r := e.doJSON("PUT", "/api/v1/webforms/"+strconv.FormatInt(slow.ID, 10), map[string]any{"name": "x", "user_id": e.admin.ID, "module": "leads", "min_fill_seconds": 601, "fields": fields}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "min_fill_seconds") {
			t.Errorf("601 s: %d %s", r.Status, r.Body)
		}
		if r := e.doJSON("PUT", "/api/v1/webforms/"+strconv.FormatInt(slow.ID, 10), map[string]any{"name": "x", "user_id": e.admin.ID, "module": "leads", "min_fill_seconds": 0, "enabled": true, "fields": fields}); r.Status != http.StatusOK {
			t.Fatalf("off: %d %s", r.Status, r.Body)
		}
		// Off: a script's submit without a stamp goes in (the cache of the
		// form is dropped by the update on this instance).
		if status, body := sendJSON(slowURL, map[string]string{"name": "Без отметки"}); status != http.StatusOK || !strings.Contains(body, `"id":`) {
			t.Errorf("off: %d %s", status, body)
		}
	})
}
