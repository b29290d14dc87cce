package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// A connection the remote side refuses shows so on the connections list
// ("не работает", the server's words on hover) and on its page (since
// when, the server's words, what to do); cleared, neither.
func TestConnectionBrokenShown(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		b := e.browser()
		b.signIn()
		form := url.Values{"type": {"smtp"}, "name": {"Почта"}, "s_host": {"smtp.yandex.ru"}, "s_port": {"465"}, "s_security": {"ssl"},
			"s_from": {"info@example.ru"}, "s_auth": {"on"}, "s_login": {"info@example.ru"}, "s_password": {"пароль-123"}}
		id := idFrom(t, b.post("/admin/connections", form), "/admin/connections/")
		sid := strconv.FormatInt(id, 10)
		if p := b.get("/admin/connections"); strings.Contains(p.Body, "не работает") || !strings.Contains(p.Body, "работает") {
			t.Fatal("a new connection is not shown working")
		}
		if err := e.app.Connections.MarkBroken(ctx, id, "535 5.7.8 Error: authentication failed"); err != nil {
			t.Fatal(err)
		}
		if p := b.get("/admin/connections"); !strings.Contains(p.Body, `<strong class="broken" title="535 5.7.8 Error: authentication failed">не работает</strong>`) {
			t.Fatal("the list does not show the broken connection")
		}
		p := b.get("/admin/connections/" + sid)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="connection-broken"`) || !strings.Contains(p.Body, "Подключение не работает с ") ||
			!strings.Contains(p.Body, "535 5.7.8 Error: authentication failed") {
			t.Fatalf("the page does not show the break: %d", p.Status)
		}
		if err := e.app.Connections.MarkWorking(ctx, id); err != nil {
			t.Fatal(err)
		}
		if p := b.get("/admin/connections/" + sid); strings.Contains(p.Body, `id="connection-broken"`) {
			t.Fatal("a cleared break still shown")
		}
	})
}
