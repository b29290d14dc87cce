package httpx

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMergePatch(t *testing.T) {
	for _, tt := range []struct{ doc, patch, want string }{
		{`{"a":1,"b":2}`, `{"b":3}`, `{"a":1,"b":3}`},
		{`{"a":{"x":1,"y":2}}`, `{"a":{"y":null,"z":3}}`, `{"a":{"x":1,"z":3}}`},
		{`{"rows":[{"id":1,"vat":20}]}`, `{"rows":[{"name":"n"}]}`, `{"rows":[{"name":"n"}]}`},
		{`{"a":1}`, `{"a":null}`, `{}`},
		{`{"n":1.50}`, `{"m":12345678901234567890}`, `{"n":1.50,"m":12345678901234567890}`},
	} {
		got, err := MergePatch([]byte(tt.doc), []byte(tt.patch))
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		_ = json.Unmarshal(got, &a)
		_ = json.Unmarshal([]byte(tt.want), &b)
		if !reflect.DeepEqual(a, b) || (strings.Contains(tt.want, "1.50") && !strings.Contains(string(got), "1.50")) {
			t.Errorf("MergePatch(%s, %s) = %s, want %s", tt.doc, tt.patch, got, tt.want)
		}
	}
}

func TestDecodeJSONNamesTheFault(t *testing.T) {
	type inner struct {
		Value string `json:"value"`
	}
	type rec struct {
		Title  string  `json:"title"`
		Phones []inner `json:"phones"`
	}
	for _, tt := range []struct{ body, code, field, msg string }{
		{`{"title":1}`, "wrong_type", "title", "expected a string"},
		{`{"phones":[{"value":1}]}`, "wrong_type", "phones.value", ""},
		{`{"bogus":1}`, "unknown_field", "bogus", ""},
		{"{\n\"title\": \"a\",\n}", "invalid_json", "", "line 3"},
		{`{"title":"a"} {}`, "invalid_json", "", "more than one"},
		{``, "invalid_json", "", "empty"},
		{`[1]`, "invalid_json", "", "object"},
	} {
		var r rec
		e := DecodeJSON([]byte(tt.body), &r)
		if e == nil || e.Code != tt.code || e.Field != tt.field || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("DecodeJSON(%q) = %+v; want code %s field %q message with %q", tt.body, e, tt.code, tt.field, tt.msg)
		}
	}
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"title":"x","phones":[{"value":"1"}]}`))
	f.Add([]byte(`{"title":`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r struct {
			Title  string `json:"title"`
			Phones []struct {
				Value string `json:"value"`
			} `json:"phones"`
		}
		if e := DecodeJSON(b, &r); e != nil && (e.Status < 400 || e.Status > 499 || e.Message == "") {
			t.Fatalf("bad error for %q: %+v", b, e)
		}
	})
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(time.Hour, 3)
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow(context.Background(), "1.2.3.4"); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	ok, wait := l.Allow(context.Background(), "1.2.3.4")
	if ok || wait <= 0 || wait > time.Hour {
		t.Fatalf("4th attempt: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.Allow(context.Background(), "5.6.7.8"); !ok {
		t.Fatal("another key shares the bucket")
	}
}

// Wait takes the burst at once, then one token per period; a context
// whose deadline comes before the next token ends the wait with its
// error.
func TestLimiterWait(t *testing.T) {
	l := NewLimiter(20*time.Millisecond, 2)
	ctx := context.Background()
	for i := range 4 {
		if err := l.Wait(ctx, "portal"); err != nil {
			t.Fatalf("take %d: %v", i, err)
		}
	}
	if ok, _ := l.Allow(ctx, "other"); !ok {
		t.Fatal("another key's bucket is full")
	}
	short, cancel := context.WithTimeout(ctx, time.Microsecond)
	defer cancel()
	for {
		err := l.Wait(short, "portal")
		if err == nil {
			continue // a token came in the meantime: the bucket is taken
		}
		if err != context.DeadlineExceeded {
			t.Fatalf("a wait past the deadline: %v", err)
		}
		break
	}
}
