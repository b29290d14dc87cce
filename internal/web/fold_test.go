package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

// The list's search finds "Иван" by "иван" and "ИВАН" on both engines,
// and a text column filter ignores case in every alphabet too.
func TestListSearchIgnoresCaseInEveryAlphabet(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, c := range []crm.Contact{{Name: "Иван", LastName: "Петров"}, {Name: "Мария", LastName: "Сидорова"}} {
			if _, err := e.app.Store.CreateContact(ctx, e.admin, c); err != nil {
				t.Fatal(err)
			}
		}
		for _, title := range []string{"Заявка с сайта", "Обращение по почте"} {
			if _, err := e.app.Store.CreateLead(ctx, e.admin, crm.Lead{Title: title}); err != nil {
				t.Fatal(err)
			}
		}
		b := e.browser()
		b.signIn()
		for _, q := range []string{"иван", "ИВАН", "Иван"} {
			p := b.get("/e/contact?q=" + url.QueryEscape(q))
			if !strings.Contains(p.Body, "Петров") || strings.Contains(p.Body, "Сидорова") {
				t.Errorf("search %q: want Иван Петров only; status %d", q, p.Status)
			}
		}
		for _, q := range []string{"заяв", "ЗАЯВ"} {
			p := b.get("/e/lead?q=" + url.QueryEscape(q))
			if !strings.Contains(p.Body, ">Заявка с сайта<") || strings.Contains(p.Body, ">Обращение по почте</a>") {
				t.Errorf("search leads %q: want Заявка only; status %d", q, p.Status)
			}
		}
	})
}
