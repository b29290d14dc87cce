package x

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestHandle(t *testing.T) {
	for in, want := range map[string]string{
		"https://x.com/ivan_petrov": "ivan_petrov", "https://twitter.com/Ivan/": "Ivan", "twitter.com/ivan?lang=ru": "ivan",
		"http://www.twitter.com/#!/ivan": "ivan", "https://mobile.twitter.com/ivan/status/1": "ivan", "@ivan": "ivan", "ivan_1": "ivan_1",
		"https://vk.com/ivan": "", "https://x.com/": "", "@": "", "this_name_is_too_long": "", "@iv an": "", "": "",
	} {
		if got := Handle(in); got != want {
			t.Errorf("Handle(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWeight(t *testing.T) {
	for in, want := range map[string]int{
		"": 0, "hello": 5, "привет": 6, "字字": 4, "😀": 2, "a https://example.ru/very/long/path?q=1 b": 1 + 1 + 23 + 1 + 1,
		"“quotes” — dash": 15, "http://a.b": 23,
	} {
		if got := Weight(in); got != want {
			t.Errorf("Weight(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestText(t *testing.T) {
	if got := Text("ivan", " Готово ", nil); got != "@ivan Готово" {
		t.Fatal(got)
	}
	if got := Text("ivan", "@Ivan уже с упоминанием", nil); got != "@Ivan уже с упоминанием" {
		t.Fatal(got)
	}
}

func TestSame(t *testing.T) {
	if !same("@ivan Заказ &lt;42&gt; &amp; https://t.co/abc", "@ivan Заказ <42> & https://example.ru/x") {
		t.Fatal("escaped and shortened: not the same")
	}
	if same("@ivan one", "@ivan two") {
		t.Fatal("different texts: the same")
	}
}

func TestDecodeAnswer(t *testing.T) {
	h := http.Header{}
	h.Set("x-rate-limit-reset", "1765000000")
	for _, tc := range []struct {
		name   string
		status int
		body   string
		id     string
		code   int
		dup    bool
		reset  bool
	}{
		{"created", 201, `{"data":{"id":"1445880548472328192","text":"hi","edit_history_tweet_ids":["1445880548472328192"]}}`, "1445880548472328192", 0, false, false},
		{"duplicate", 403, `{"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","title":"Forbidden","status":403}`, "", 403, true, true},
		{"429", 429, `{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}`, "", 429, false, true},
		{"errors list", 400, `{"errors":[{"message":"Your Tweet text is too long."}],"title":"Invalid Request"}`, "", 400, false, true},
		{"not json", 503, `<html>`, "", 503, false, true},
		{"200 with errors", 200, `{"errors":[{"message":"x"}]}`, "", 200, false, false},
	} {
		var tw Tweet
		err := DecodeAnswer(tc.status, h, []byte(tc.body), &tw)
		var ae *APIError
		switch {
		case tc.code == 0 && (err != nil || tw.ID != tc.id):
			t.Errorf("%s: %v %+v", tc.name, err, tw)
		case tc.code != 0 && (!errors.As(err, &ae) || ae.Status != tc.code || ae.Duplicate() != tc.dup):
			t.Errorf("%s: %#v", tc.name, err)
		case tc.code != 0 && tc.reset && !ae.Reset.Equal(time.Unix(1765000000, 0)):
			t.Errorf("%s: reset %v", tc.name, ae.Reset)
		}
	}
	if err := DecodeAnswer(200, nil, []byte(`{"meta":{"result_count":0}}`), new([]Tweet)); err != nil {
		t.Fatalf("empty list: %v", err)
	}
}

func FuzzDecodeAnswer(f *testing.F) {
	f.Add(201, []byte(`{"data":{"id":"1","text":"hi"}}`))
	f.Add(403, []byte(`{"detail":"duplicate content","status":403}`))
	f.Add(200, []byte(`{"errors":[{"message":"x"}]}`))
	f.Fuzz(func(t *testing.T, status int, b []byte) {
		var tw Tweet
		err := DecodeAnswer(status, http.Header{"X-Rate-Limit-Reset": {string(b)}}, b, &tw)
		if err == nil && (status < 200 || status > 299) {
			t.Fatalf("HTTP %d accepted", status)
		}
		var ae *APIError
		if errors.As(err, &ae) {
			_ = ae.Duplicate()
			_ = ae.Error()
		}
	})
}

func FuzzHandleWeight(f *testing.F) {
	f.Add("https://x.com/ivan 字 😀 http://a.b")
	f.Fuzz(func(t *testing.T, s string) {
		if h := Handle(s); h != "" && (len(h) > 15 || strings.ContainsAny(h, "@/ ")) {
			t.Fatalf("Handle(%q) = %q", s, h)
		}
		if w := Weight(s); w < 0 || w > 2*len(s)+23 {
			t.Fatalf("Weight(%q) = %d", s, w)
		}
	})
}
