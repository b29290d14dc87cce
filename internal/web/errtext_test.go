package web

import "testing"

func TestNetErrorText(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{"", ""},
		{"mail: connect: dial tcp 127.0.0.1:993: connect: connection refused", "Сервер 127.0.0.1:993: не принимает подключения — проверьте адрес, порт и что сервер запущен"},
		{"dial tcp: lookup imap.example.invalid: no such host", "Сервер imap.example.invalid: такого сервера нет — проверьте адрес"},
		{"mail: login: Authentication failed.", "Неверный логин или пароль"},
		{"x509: certificate signed by unknown authority", "Сертификат сервера не прошёл проверку (TLS)"},
		{"something odd", "Ошибка подключения: something odd"},
	} {
		if got := netErrorText("ru", c.raw); got != c.want {
			t.Errorf("%q: %q, want %q", c.raw, got, c.want)
		}
	}
	if got := netErrorText("en", "dial tcp 10.0.0.1:993: i/o timeout"); got != "Server 10.0.0.1:993: did not answer in time" {
		t.Errorf("en: %q", got)
	}
}
