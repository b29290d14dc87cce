package web

import (
	"net/url"
	"strings"
	"testing"
)

// browserResolve follows a Location value the way a WHATWG URL parser
// does for the parts that matter here: tabs and line breaks are removed,
// a backslash is a slash, leading C0 controls and spaces are trimmed.
func browserResolve(t testing.TB, base *url.URL, loc string) *url.URL {
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(loc)
	loc = strings.TrimLeft(loc, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	loc = strings.ReplaceAll(loc, `\`, "/")
	u, err := url.Parse(loc)
	if err != nil {
		return nil
	}
	return base.ResolveReference(u)
}

func checkSafeNext(t testing.TB, next string) {
	base, _ := url.Parse("https://obmen.example/login")
	got := safeNext(next)
	if !strings.HasPrefix(got, "/") {
		t.Fatalf("safeNext(%q) = %q, not a path", next, got)
	}
	r := browserResolve(t, base, got)
	if r == nil || r.Host != "obmen.example" || r.Scheme != "https" {
		t.Fatalf("safeNext(%q) = %q leads the browser to %v", next, got, r)
	}
}

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/e/lead?sort=title#x", "/e/lead?sort=title#x"},
		{"/e/deal/5", "/e/deal/5"},
		{"/search?q=%D0%98%D0%B2", "/search?q=%D0%98%D0%B2"},
		{"", "/"},
		{"e/lead", "/"},
		{"//evil.example/x", "/"},
		{"/\t/evil.example/x", "/"},
		{"/%09/evil.example/x", "/%09/evil.example/x"}, // percent-encoded tab stays an encoded path segment
		{"/\\evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/%2F/evil.example", "/"},
		{"/%5cevil.example", "/"},
		{"https://evil.example/", "/"},
		{"/\u2028/evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"/ok\x00", "/"},
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
		checkSafeNext(t, tc.in)
	}
}

func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/e/lead", "//x", "/\t/x", "/%09/x", "/\\x", "/%2f%2fx", "https://x", "/a?b=//c#//d", "/.//x", "/%2e%2e//x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		checkSafeNext(t, next)
	})
}
