package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestGlobalSearchPage: the header has the search box; /search finds by
// the last 7 digits of a phone, an e-mail domain and a name in another
// case, with phones as tel: and e-mails as mailto: links.
func TestGlobalSearchPage(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		l, err := s.CreateLead(ctx, e.admin, crm.Lead{Title: "Заявка на песок", Name: "Ёжиков",
			Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 (916) 123-45-67"}}, Emails: []crm.Comm{{Value: "ezh@mail.ru"}}}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.CreateContact(ctx, e.admin, crm.Contact{Name: "Анна", LastName: "Смирнова", Comms: crm.Comms{Emails: []crm.Comm{{Value: "anna@mail.ru"}}}})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		home := b.get("/")
		if !strings.Contains(home.Body, `id="global-q"`) {
			t.Fatal("no search box in the header")
		}
		for _, tc := range []struct {
			q       string
			want    []string
			notWant []string
		}{
			{"1234567", []string{`id="hit-lead-` + strconv.FormatInt(l.ID, 10) + `"`, `href="tel:&#43;79161234567"`, `href="mailto:ezh@mail.ru"`}, []string{`id="hit-contact-`}},
			{"mail.ru", []string{`id="hit-lead-` + strconv.FormatInt(l.ID, 10) + `"`, `id="hit-contact-` + strconv.FormatInt(c.ID, 10) + `"`, "Смирнова Анна"}, nil},
			{"ЁЖИКОВ", []string{`id="hit-lead-` + strconv.FormatInt(l.ID, 10) + `"`}, []string{`id="hit-contact-`}},
			{"нет такого", []string{`id="search-none"`}, []string{`id="search-results"`}},
		} {
			p := b.get("/search?q=" + url.QueryEscape(tc.q))
			if p.Status != http.StatusOK {
				t.Fatalf("%q: %d", tc.q, p.Status)
			}
			for _, w := range tc.want {
				if !strings.Contains(p.Body, w) {
					t.Errorf("%q: no %s in the page", tc.q, w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(p.Body, w) {
					t.Errorf("%q: %s in the page", tc.q, w)
				}
			}
		}
	})
}

// TestWebhookScopesOffered: the new incoming webhook form offers only the
// scopes the Bitrix24-compatible REST serves (crm, user …), not Bitrix24's
// others (telephony, disk, im …) that would only mislead.
func TestWebhookScopesOffered(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	b := e.browser()
	b.signIn()
	p := b.get("/admin/webhooks")
	if !strings.Contains(p.Body, `name="scope" value="crm"`) || !strings.Contains(p.Body, `name="scope" value="user"`) {
		t.Fatalf("served scopes missing: %s", p.Body)
	}
	for _, s := range []string{"telephony", "disk", "im", "imopenlines", "calendar", "sale"} {
		if strings.Contains(p.Body, `name="scope" value="`+s+`"`) {
			t.Errorf("scope %s offered", s)
		}
	}
}

// TestOnecUnreachableWarning: the 1C page warns when the exchange address
// is loopback (OBMEN_PUBLIC_URL unset or local) and links to make the API
// key 1C needs; a public address gives no warning.
func TestOnecUnreachableWarning(t *testing.T) {
	for _, tc := range []struct {
		public string
		warn   bool
	}{{"", true}, {"http://127.0.0.1:8080", true}, {"http://192.168.1.10", true}, {"https://crm.example.ru", false}} {
		e := newEnvWith(t, storetest.OpenAny(t), func(c *config.Config) { c.PublicURL = tc.public })
		b := e.browser()
		b.signIn()
		p := b.get("/admin/1c")
		if got := strings.Contains(p.Body, `id="onec-unreachable"`); got != tc.warn {
			t.Errorf("%q: warning %v", tc.public, got)
		}
		if !strings.Contains(p.Body, `<a href="/keys">Создать API-ключ</a>`) {
			t.Errorf("%q: no link to make the key", tc.public)
		}
	}
}
