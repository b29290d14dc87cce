package smtp

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, addr, name, err string
	}{
		{in: "vasil@mail.ru", addr: "vasil@mail.ru"},
		{in: "vasil@mail.ru:Василий Петрович", addr: "vasil@mail.ru", name: "Василий Петрович"},
		{in: "  vasil@mail.ru  :   Василий   Петрович  ", addr: "vasil@mail.ru", name: "Василий Петрович"},
		{in: "info@shop.ru:ООО «Ромашка»: отдел продаж", addr: "info@shop.ru", name: "ООО «Ромашка»: отдел продаж"},
		{in: "info@shop.ru:", addr: "info@shop.ru"},
		{in: "Vasil@Mail.RU", addr: "Vasil@mail.ru"},
		{in: "Василий Петрович <vasil@mail.ru>", addr: "vasil@mail.ru", name: "Василий Петрович"},
		{in: `"Петров, Василий" <vasil@mail.ru>`, addr: "vasil@mail.ru", name: "Петров, Василий"},
		{in: "ivan@почта.рф:Иван", addr: "ivan@xn--80a1acny.xn--p1ai", name: "Иван"},
		{in: "ivan@ПОЧТА.РФ", addr: "ivan@xn--80a1acny.xn--p1ai"},
		{in: "a.b+tag@sub.example.com", addr: "a.b+tag@sub.example.com"},
		{in: "name\tline@x.ru:Имя\nс переносом", addr: "", err: "not an e-mail address"},
		{in: "vasil@mail.ru:Имя\nс\tпереносом", addr: "vasil@mail.ru", name: "Имя с переносом"},
		{in: "", err: "empty address"},
		{in: "   ", err: "empty address"},
		{in: "vasil", err: "not an e-mail address"},
		{in: "vasil@", err: "not an e-mail address"},
		{in: "@mail.ru", err: "not an e-mail address"},
		{in: "a@b@mail.ru", err: "not an e-mail address"},
		{in: "vasil@localhost", err: "is not a domain"},
		{in: "vasil@mail..ru", err: "not an e-mail address"},
		{in: "вася@mail.ru", err: "the part before @"},
		{in: "va sil@mail.ru", err: "not an e-mail address"},
		{in: "<broken", err: "not an e-mail address"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			a, err := ParseAddress(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseAddress(%q) = %+v, %v; want an error with %q", tc.in, a, err, tc.err)
				}
				return
			}
			if err != nil || a.Addr != tc.addr || a.Name != tc.name {
				t.Fatalf("ParseAddress(%q) = %+v, %v; want %q %q", tc.in, a, err, tc.addr, tc.name)
			}
		})
	}
}

func TestParseRecipients(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in        []string
		good, bad string
	}{
		{[]string{"a@x.ru, b@x.ru; c@x.ru"}, "[a@x.ru b@x.ru c@x.ru]", "[]"},
		{[]string{"a@x.ru:Иванов, Иван; b@x.ru"}, "[Иванов, Иван <a@x.ru> b@x.ru]", "[]"},
		{[]string{"a@x.ru", "A@X.RU:Дубль", "b@x.ru\nc@x.ru"}, "[a@x.ru b@x.ru c@x.ru]", "[]"},
		{[]string{"a@x.ru, нет адреса, b@x.ru"}, "[a@x.ru b@x.ru]", "[{нет адреса \"нет адреса\" is not an e-mail address}]"},
		{[]string{";;, ,"}, "[]", "[]"},
		{nil, "[]", "[]"},
	} {
		t.Run(fmt.Sprint(tc.in), func(t *testing.T) {
			good, bad := parseRecipients(tc.in, map[string]bool{})
			if g := fmt.Sprint(strs(good)); g != tc.good {
				t.Errorf("good %s, want %s", g, tc.good)
			}
			if b := fmt.Sprint(bad); b != tc.bad && !(len(bad) == 0 && tc.bad == "[]") {
				t.Errorf("bad %s, want %s", b, tc.bad)
			}
		})
	}
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"vasil@mail.ru:Василий Петрович", "Имя <a@b.ru>", "ivan@почта.рф", "a@b", ":", "<>", "a@b.ru:x:y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		// What is taken is safe to put in a header and an SMTP command.
		if strings.ContainsAny(a.Addr, "\r\n <>\"") || strings.ContainsAny(a.Name, "\r\n") {
			t.Fatalf("ParseAddress(%q) = %+v", s, a)
		}
		for _, r := range a.Addr {
			if r > 127 {
				t.Fatalf("non-ASCII address from %q: %q", s, a.Addr)
			}
		}
		again, err := ParseAddress(a.Addr)
		if err != nil || again.Addr != a.Addr {
			t.Fatalf("%q does not parse again: %+v %v", a.Addr, again, err)
		}
	})
}

func TestPlainOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"<p>Привет, <b>мир</b>!</p><p>Вторая&nbsp;строка</p>", "Привет, мир!\nВторая строка\n"},
		{"<html><head><title>x</title><style>p{color:red}</style></head><body>Текст<br>ещё<script>alert(1)</script></body></html>", "Текст\nещё\n"},
		{`<a href="https://ya.ru">Ссылка</a> и <a href="#x">якорь</a>`, "Ссылка (https://ya.ru) и якорь\n"},
		{"<ul><li>один</li><li>два</li></ul>", "- один\n- два\n"},
		{"просто текст", "просто текст\n"},
		{"<table><tr><td>A</td><td>B</td></tr><tr><td>C</td></tr></table>", "A B\nC\n"},
	} {
		if got := plainOf(tc.in); got != tc.want {
			t.Errorf("plainOf(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAttachmentName(t *testing.T) {
	t.Parallel()
	u := func(s string) *url.URL {
		x, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	for _, tc := range []struct{ disp, url, want string }{
		{`attachment; filename="a.pdf"`, "https://x.ru/dl", "a.pdf"},
		{`attachment; filename="a.pdf"; filename*=UTF-8''%D0%A1%D1%87%D1%91%D1%82.pdf`, "https://x.ru/dl", "Счёт.pdf"},
		{`attachment; filename="../../etc/passwd"`, "https://x.ru/dl", "passwd"},
		{"", "https://x.ru/files/%D0%9F%D1%80%D0%B0%D0%B9%D1%81%20%D0%BB%D0%B8%D1%81%D1%82.xlsx?token=1", "Прайс лист.xlsx"},
		{"inline", "https://x.ru/", "file"},
		{"", "https://x.ru", "file"},
	} {
		if got := nameOf(tc.disp, u(tc.url)); got != tc.want {
			t.Errorf("nameOf(%q, %q) = %q, want %q", tc.disp, tc.url, got, tc.want)
		}
	}
}
