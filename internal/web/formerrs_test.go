package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// TestLeadFormEveryError: a lead form with several fields at fault shows
// every one of them beside its field, in Russian, with what was typed
// kept — those the form cannot parse and those the store refuses alike —
// and writes nothing; on a new lead and on an edit.
func TestLeadFormEveryError(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		b := e.browser()
		b.signIn()
		l, err := e.app.Store.CreateLead(ctx, e.admin, crm.Lead{Title: "Исходный"})
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{
			"title":       {"Три ошибки"},
			"opportunity": {"много"},
			"phones":      {"12, 8 912 000-11-22"},
			"emails":      {"не-адрес"},
			"currency":    {"РУБЛИ"},
		}
		want := map[string]string{
			"opportunity": "Нужно число",
			"phones":      "&#34;12&#34; — не номер телефона",
			"emails":      "не адрес электронной почты",
			"currency":    "валют",
		}
		for _, path := range []string{"/e/lead/new", "/e/lead/" + strconv.FormatInt(l.ID, 10)} {
			p := b.post(path, form)
			if p.Status != http.StatusUnprocessableEntity {
				t.Fatalf("%s: status %d", path, p.Status)
			}
			for field, msg := range want {
				i := strings.Index(p.Body, `id="e-`+field+`" role="alert">`)
				if i < 0 || !strings.Contains(p.Body, `aria-describedby="e-`+field+`"`) {
					t.Errorf("%s: no error beside %s: %s", path, field, errorsOf(p.Body))
					continue
				}
				if end := strings.Index(p.Body[i:], "</p>"); end < 0 || !strings.Contains(p.Body[i:i+end], msg) {
					t.Errorf("%s: error beside %s is not %q: %s", path, field, msg, errorsOf(p.Body))
				}
			}
			if strings.Contains(p.Body, `id="e-title"`) {
				t.Errorf("%s: the title is fine but marked: %s", path, errorsOf(p.Body))
			}
			for k, v := range form {
				if !strings.Contains(p.Body, `value="`+v[0]+`"`) {
					t.Errorf("%s: input %s=%q not kept", path, k, v[0])
				}
			}
		}
		if ls, _, _ := e.app.Store.ListLeads(ctx, store.ListParams{Q: "Три ошибки"}); len(ls) != 0 {
			t.Fatalf("a refused form wrote %d leads", len(ls))
		}
		if got, _ := e.app.Store.GetLead(ctx, l.ID); got.Title != "Исходный" {
			t.Fatalf("a refused edit wrote the title %q", got.Title)
		}
	})
}
