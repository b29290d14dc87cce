package webform

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/store/storetest"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, ctype, body string
		want              Values
		field, err        string
	}{
		{"urlencoded", "application/x-www-form-urlencoded", "name=%D0%90%D0%BD%D0%BD%D0%B0&phone=1&phone=2", Values{"name": "Анна", "phone": "1"}, "", ""},
		{"no type", "", "a=b", Values{"a": "b"}, "", ""},
		{"json", "application/json; charset=utf-8", `{"name":"Анна","n":12.5,"ok":true,"list":["x","y"],"nil":null}`, Values{"name": "Анна", "n": "12.5", "ok": "true", "list": "x"}, "", ""},
		{"multipart", "multipart/form-data; boundary=B", "--B\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nАнна\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.exe\"\r\n\r\nMZ\r\n--B--\r\n", Values{"name": "Анна"}, "", ""},
		{"json object value", "application/json", `{"name":{"a":1}}`, nil, "name", "want text"},
		{"json not object", "application/json", `[1]`, nil, "", "invalid JSON"},
		{"bad type", "text/xml", `<a/>`, nil, "", "not accepted"},
		{"not utf-8", "application/x-www-form-urlencoded", "name=%C0%ED%ED%E0", nil, "name", "UTF-8"},
		{"broken escape", "application/x-www-form-urlencoded", "name=%ZZ", nil, "", "broken"},
		{"multipart no boundary", "multipart/form-data", "x", nil, "", "boundary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Decode(tc.ctype, []byte(tc.body))
			if tc.err != "" {
				de, ok := err.(*DecodeError)
				if !ok || de.Field != tc.field || !strings.Contains(de.Message, tc.err) {
					t.Fatalf("err = %#v, want field %q ~%q", err, tc.field, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(v) != len(tc.want) {
				t.Fatalf("values = %v, want %v", v, tc.want)
			}
			for k, w := range tc.want {
				if v[k] != w {
					t.Errorf("%s = %q, want %q", k, v[k], w)
				}
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", []byte("name=%D0%90&phone=%2B7"))
	f.Add("application/json", []byte(`{"name":"Анна","n":1,"b":[true]}`))
	f.Add("multipart/form-data; boundary=B", []byte("--B\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\nv\r\n--B--\r\n"))
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		v, err := Decode(ctype, body)
		if err != nil {
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("error %T %v is not a *DecodeError", err, err)
			}
			return
		}
		if len(v) > maxFields {
			t.Fatalf("%d fields", len(v))
		}
		for k, s := range v {
			if len(s) > maxValue {
				t.Fatalf("%s: %d bytes", k, len(s))
			}
		}
	})
}

func TestCaptcha(t *testing.T) {
	t.Parallel()
	d := storetest.OpenAny(t)
	c := newCaptcha(nil, d)
	now := time.Now()
	ch := c.issue("form1", now)
	var a, b int
	if _, err := fmt.Sscanf(ch.Question, "Сколько будет %d + %d?", &a, &b); err != nil {
		t.Fatalf("question %q: %v", ch.Question, err)
	}
	ans := strconv.Itoa(a + b)
	if passes(t, c, "form2", ch.Token, ans, now) {
		t.Error("token of another form passed")
	}
	if passes(t, c, "form1", ch.Token, strconv.Itoa(a+b+1), now) {
		t.Error("wrong answer passed")
	}
	if passes(t, c, "form1", ch.Token, ans, now.Add(captchaTTL+time.Second)) {
		t.Error("expired token passed")
	}
	if !passes(t, c, "form1", ch.Token, ans, now) {
		t.Error("right answer refused")
	}
	if passes(t, c, "form1", ch.Token, ans, now) {
		t.Error("token passed twice")
	}
	if passes(t, c, "form1", strings.Replace(ch.Token, ".", "x", 1), ans, now) || passes(t, c, "form1", "", ans, now) {
		t.Error("malformed token passed")
	}

	// Instances with the same key accept each other's questions; one
	// with another key does not.
	key := []byte("0123456789abcdef0123456789abcdef")
	a1, a2, other := newCaptcha(key, d), newCaptcha(key, d), newCaptcha(nil, d)
	ch = a1.issue("form1", now)
	if _, err := fmt.Sscanf(ch.Question, "Сколько будет %d + %d?", &a, &b); err != nil {
		t.Fatal(err)
	}
	ans = strconv.Itoa(a + b)
	if passes(t, other, "form1", ch.Token, ans, now) {
		t.Error("a question passed on an instance with another key")
	}
	if !passes(t, a2, "form1", ch.Token, ans, now) {
		t.Error("a question was refused by another instance with the same key")
	}
}

// passes checks an answer.
func passes(t *testing.T, c *captcha, form, token, answer string, now time.Time) bool {
	t.Helper()
	ok, err := c.check(context.Background(), form, token, answer, now)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}
