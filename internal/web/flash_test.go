package web

import (
	"net/url"
	"testing"
)

// TestFlashText: a notice is shown only for a message of the catalogue
// named in the query; any other text — a phishing line, markup, a
// message that needs arguments — shows nothing.
func TestFlashText(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want string
	}{
		{"flash=card.saved", translate("ru", "card.saved")},
		{"flash=auto.imported&n=3", "Импортировано связок: 3 (выключены, пока вы их не включите)"},
		{"flash=auto.imported&n=x", ""},
		{"flash=auto.imported", ""},
		{"flash=" + url.QueryEscape("Ваш пароль истёк, войдите на evil.example"), ""},
		{"flash=" + url.QueryEscape("<script>alert(1)</script>"), ""},
		{"flash=no.such.message", ""},
		{"flash=", ""},
	} {
		q, _ := url.ParseQuery(tc.q)
		if got := flashText("ru", q); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.q, got, tc.want)
		}
	}
	if translate("ru", "card.saved") == "card.saved" {
		t.Fatal("card.saved is not in the catalogue")
	}
}
