package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/automation"
)

// The connections pages: an SMTP account made through the form generated
// from the type's description, its password never shown and kept when
// the form leaves it empty, the check's message, and deletion refused
// while a bundle's step uses it.
func TestConnectionPages(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		b := e.browser()
		b.signIn()
		if p := b.get("/integrations"); !strings.Contains(p.Body, `href="/admin/connections"`) {
			t.Fatal("the integrations page does not lead to the connections")
		}
		if p := b.get("/admin/connections"); p.Status != http.StatusOK || !strings.Contains(p.Body, `href="/admin/connections/new?type=smtp"`) {
			t.Fatalf("connections page: %d", p.Status)
		}
		p := b.get("/admin/connections/new?type=smtp")
		for _, want := range []string{`name="s_host"`, `name="s_port" type="number"`, `<select id="s-security" name="s_security">`,
			`name="s_password" type="password"`, `name="s_auth" checked`, "Адрес сервера SMTP", "Отправитель"} {
			if !strings.Contains(p.Body, want) {
				t.Fatalf("the form lacks %s", want)
			}
		}
		form := url.Values{"type": {"smtp"}, "name": {"Яндекс"}, "s_host": {"smtp.yandex.ru"}, "s_port": {"465"}, "s_security": {"ssl"},
			"s_from": {"не адрес"}, "s_auth": {"on"}, "s_login": {"info@example.ru"}, "s_password": {"пароль-123"}}
		if p := b.post("/admin/connections", form); p.Status != http.StatusUnprocessableEntity || !strings.Contains(errorsOf(p.Body), "not an e-mail address") ||
			strings.Contains(p.Body, "пароль-123") {
			t.Fatalf("a bad sender: %d %s", p.Status, errorsOf(p.Body))
		}
		form.Set("s_from", "info@example.ru:Отдел продаж")
		id := idFrom(t, b.post("/admin/connections", form), "/admin/connections/")
		sid := strconv.FormatInt(id, 10)
		p = b.get("/admin/connections/" + sid)
		if p.Status != http.StatusOK || strings.Contains(p.Body, "пароль-123") || !strings.Contains(p.Body, `placeholder="задано"`) {
			t.Fatalf("the saved connection's page shows its password or not that it is set: %d", p.Status)
		}
		// Saved again with the password left empty: kept.
		form.Set("s_password", "")
		form.Set("s_port", "587")
		form.Set("s_security", "starttls")
		if p := b.post("/admin/connections/"+sid+"/save", form); p.Status != http.StatusSeeOther {
			t.Fatalf("save: %d %s", p.Status, errorsOf(p.Body))
		}
		_, set, err := e.app.Connections.Open(ctx, id)
		if err != nil || set.String("password") != "пароль-123" || set.Int("port") != 587 || set.String("security") != "starttls" {
			t.Fatalf("after save: %v %v", set, err)
		}
		// The check goes through the outbound guard: smtp.yandex.ru is not
		// reachable from the test, and the message says what failed.
		p = b.post("/admin/connections/"+sid+"/check", nil)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="check-result"`) {
			t.Fatalf("check: %d", p.Status)
		}
		// A bundle's step uses it: deletion is refused first.
		if _, err := e.app.Automation.Create(ctx, e.admin, automation.Definition{Name: "Письмо клиенту", Active: true,
			Trigger: automation.TriggerSpec{Type: automation.TriggerManual, Entity: "lead"},
			Steps: []automation.Step{{ID: "mail", Action: "email.send", Connection: id,
				Input: map[string]any{"to": "{{trigger.email}}", "subject": "Здравствуйте", "body": "Текст"}}}}); err != nil {
			t.Fatal(err)
		}
		p = b.post("/admin/connections/"+sid+"/delete", nil)
		if p.Status != http.StatusConflict || !strings.Contains(p.Body, "Письмо клиенту") || !strings.Contains(p.Body, `name="force" value="1"`) {
			t.Fatalf("delete of a used connection: %d", p.Status)
		}
		if _, err := e.app.Connections.Get(ctx, id); err != nil {
			t.Fatalf("deleted although used: %v", err)
		}
		if p := b.post("/admin/connections/"+sid+"/delete", url.Values{"force": {"1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("forced delete: %d", p.Status)
		}
		if _, err := e.app.Connections.Get(ctx, id); err == nil {
			t.Fatal("not deleted")
		}
		// A step naming a connection that does not exist is refused.
		_, err = e.app.Automation.Create(ctx, e.admin, automation.Definition{Name: "Другая", Active: true,
			Trigger: automation.TriggerSpec{Type: automation.TriggerManual, Entity: "lead"},
			Steps:   []automation.Step{{ID: "mail", Action: "email.send", Connection: id, Input: map[string]any{"to": "a@b.ru"}}}})
		if err == nil || !strings.Contains(err.Error(), "no connection "+sid) {
			t.Fatalf("a bundle with a missing connection: %v", err)
		}
	})
}
