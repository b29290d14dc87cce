package mail_test

import (
	"testing"

	"github.com/obmen/obmen/internal/intake/mail"
)

func TestHasKeyword(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		subject, kw string
		want        bool
	}{
		{"ORDER: 123", "ORDER", true},
		{"Re: [order] 5", "ORDER", true},
		{"Заявка ORDER", "ORDER", true},
		{"REORDER", "ORDER", false},
		{"ORDERS", "ORDER", false},
		{"ЗАКАЗ №1", "заказ", true},
		{"anything", "", true},
	} {
		if got := mail.HasKeyword(tc.subject, tc.kw); got != tc.want {
			t.Errorf("HasKeyword(%q, %q) = %v", tc.subject, tc.kw, got)
		}
	}
}

func TestAttachments(t *testing.T) {
	t.Parallel()
	raw := message("ORDER: 1", "<a@b>",
		part{"application/json; charset=windows-1251", "заявка.json", []byte("{}")},
		part{"text/plain", "b.txt", []byte("x")})
	atts, err := mail.Attachments([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 2 || atts[0].Name != "заявка.json" || atts[0].Charset != "windows-1251" || string(atts[0].Data) != "{}" || atts[1].Name != "b.txt" {
		t.Errorf("attachments = %+v", atts)
	}
	atts, err = mail.Attachments([]byte(message("ORDER: 2", "<c@d>")))
	if err != nil || len(atts) != 0 {
		t.Errorf("no attachment: %+v, %v", atts, err)
	}
}

func FuzzAttachments(f *testing.F) {
	f.Add([]byte(message("ORDER: 1", "<a@b>", part{"application/json", "o.json", []byte(`{"Тема":"x"}`)})))
	f.Add([]byte(message("ORDER: 2", "<a@b>")))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Disposition: attachment\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=D0=\r\n--a--"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		atts, err := mail.Attachments(raw)
		if err == nil && len(atts) > 200 {
			t.Fatalf("%d attachments", len(atts))
		}
	})
}
