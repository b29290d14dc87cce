package mail_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/intake/mail"
)

// readLetter reads a testdata message with CRLF line ends, as IMAP
// servers hand them out.
func readLetter(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "letters", name))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n", "\r\n"))
}

// TestParseLetter reads messages shaped as Thunderbird, Outlook (in
// windows-1251), Gmail (HTML only, a KOI8-R sender) send them, an
// auto-reply and a bounce.
func TestParseLetter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file                                     string
		name, email, subject, phone, auto, msgID string
		textHas, textHasNot                      []string
		files                                    []string
	}{
		{file: "thunderbird.eml", name: "Сергей Королёв", email: "Korolev@Example.RU", subject: "Нужен расчёт баннера 3×6 м", phone: "+7 (916) 123-45-67",
			msgID: "<7c1e0b2a-3f44-4c1b-9d0e-5a1f2b3c4d5e@example.ru>", textHas: []string{"Просим рассчитать баннер 3×6 м, печать 720 dpi", "ООО «Зелёный берег»"},
			textHasNot: []string{"<p>", "=D0"}, files: []string{"Макет 3x6.pdf"}},
		{file: "outlook-cp1251.eml", name: "Иванова Мария Петровна", email: "m.ivanova@firma.ru", subject: "Заявка на вывеску для магазина", phone: "8 903 765 43 21",
			msgID: "<AM0PR07MB6129E1C0F2D3A4B5C6D7E8F9A0B1C@AM0PR07MB6129.eurprd07.prod.outlook.com>", textHas: []string{"Нужна световая вывеска", "Отдел закупок"},
			textHasNot: []string{"MsoNormal"}, files: []string{"Реквизиты.docx"}},
		{file: "gmail-html.eml", name: "Пётр Ёлкин", email: "p.yolkin@gmail.com", subject: "Вопрос по ценам",
			msgID: "<CAF=8mQx+Yk1bLrT9zN4p2Vw0Qe7sHdJkA3uPq6Xy@mail.gmail.com>", textHas: []string{"Здравствуйте!", "Сколько стоит печать 100 листовок А5?", "Спасибо & до свидания"},
			textHasNot: []string{"alert", "color:red", "<div", "<b>"}},
		{file: "autoreply.eml", name: "Иван Иванов", email: "ivanov@client.ru", subject: "Автоответ: Ваш заказ", auto: "Auto-Submitted: auto-replied", msgID: "<auto-1@client.ru>",
			textHas: []string{"в отпуске"}},
		{file: "bounce.eml", name: "Mail Delivery System", email: "MAILER-DAEMON@mx.obmen.test", subject: "Undelivered Mail Returned to Sender",
			auto: "Auto-Submitted: auto-replied", msgID: "<bounce-1@mx.obmen.test>"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			l, err := mail.ParseLetter(readLetter(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if l.FromName != tc.name || l.FromEmail != tc.email || l.Subject != tc.subject || l.Phone != tc.phone || l.AutoReply != tc.auto || l.MessageID != tc.msgID {
				t.Errorf("got name %q email %q subject %q phone %q auto %q id %q", l.FromName, l.FromEmail, l.Subject, l.Phone, l.AutoReply, l.MessageID)
			}
			for _, s := range tc.textHas {
				if !strings.Contains(l.Text, s) {
					t.Errorf("text lacks %q:\n%s", s, l.Text)
				}
			}
			for _, s := range tc.textHasNot {
				if strings.Contains(l.Text, s) {
					t.Errorf("text has %q:\n%s", s, l.Text)
				}
			}
			var names []string
			for _, a := range l.Attachments {
				names = append(names, a.Name)
				if len(a.Data) == 0 {
					t.Errorf("attachment %q is empty", a.Name)
				}
			}
			if strings.Join(names, "|") != strings.Join(tc.files, "|") {
				t.Errorf("attachments %q, want %q", names, tc.files)
			}
		})
	}
}

// TestParseLetterAutoHeaders: each mark of a machine's message is seen,
// and an ordinary letter is not taken for one.
func TestParseLetterAutoHeaders(t *testing.T) {
	t.Parallel()
	for hdr, want := range map[string]string{
		"Auto-Submitted: auto-generated\r\n":   "Auto-Submitted: auto-generated",
		"Auto-Submitted: no\r\n":               "",
		"X-Autoreply: yes\r\n":                 "X-Autoreply: yes",
		"Precedence: bulk\r\n":                 "Precedence: bulk",
		"X-Auto-Response-Suppress: All\r\n":    "X-Auto-Response-Suppress: All",
		"X-Auto-Response-Suppress: DR, RN\r\n": "",
		"":                                     "",
	} {
		raw := "From: a@b.ru\r\nSubject: x\r\n" + hdr + "Content-Type: text/plain\r\n\r\nbody\r\n"
		l, err := mail.ParseLetter([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if l.AutoReply != want {
			t.Errorf("%q: auto %q, want %q", hdr, l.AutoReply, want)
		}
	}
	l, _ := mail.ParseLetter([]byte("From: postmaster@mx.ru\r\nSubject: x\r\n\r\nbody\r\n"))
	if l.AutoReply == "" {
		t.Error("postmaster's message not taken for a machine's")
	}
}

func FuzzParseLetter(f *testing.F) {
	for _, name := range []string{"thunderbird.eml", "outlook-cp1251.eml", "gmail-html.eml", "autoreply.eml", "bounce.eml"} {
		f.Add(readLetter(f, name))
	}
	f.Add([]byte("From: =?koi8-r?B?8MXU0g==?= <x@y>\r\nContent-Type: text/html; charset=koi8-r\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>=F0=D2=C9=D7=C5=D4</p><script>"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		l, err := mail.ParseLetter(raw)
		if err != nil {
			return
		}
		if len(l.Text) > 60000+len("…") || len(l.Attachments) > 200 {
			t.Fatalf("text %d bytes, %d attachments", len(l.Text), len(l.Attachments))
		}
		if !utf8Valid(l.Text) || !utf8Valid(l.Subject) || !utf8Valid(l.FromName) {
			t.Fatalf("invalid UTF-8 out: %q %q %q", l.Text, l.Subject, l.FromName)
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }

// BenchmarkParseLetter reads the Outlook letter (windows-1251, QP, an
// HTML alternative and a base64 attachment).
func BenchmarkParseLetter(b *testing.B) {
	raw := readLetter(b, "outlook-cp1251.eml")
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := mail.ParseLetter(raw); err != nil {
			b.Fatal(err)
		}
	}
}
