package i18n

import (
	"testing"
	"testing/fstest"
)

func TestCatalog(t *testing.T) {
	c := New()
	a := fstest.MapFS{
		"m/ru.json": {Data: []byte(`{"hello": "Привет", "only.ru": "только"}`)},
		"m/en.json": {Data: []byte(`{"hello": "Hello"}`)},
	}
	if err := c.Add(a, "m"); err != nil {
		t.Fatal(err)
	}
	if got := c.T("en", "hello"); got != "Hello" {
		t.Fatalf("en: %q", got)
	}
	if got := c.T("en", "only.ru"); got != "только" {
		t.Fatalf("fallback to Russian: %q", got)
	}
	if got := c.T("ru", "missing.key"); got != "missing.key" {
		t.Fatalf("a missing key shows itself: %q", got)
	}
	// The same text again is fine; another text for a key is refused.
	if err := c.Add(a, "m"); err != nil {
		t.Fatalf("re-adding the same texts: %v", err)
	}
	b := fstest.MapFS{"m/ru.json": {Data: []byte(`{"hello": "Здравствуйте"}`)}}
	if err := c.Add(b, "m"); err == nil {
		t.Fatal("a clashing text was accepted")
	}
	bad := fstest.MapFS{"m/ru.json": {Data: []byte(`{"hello": `)}}
	if err := c.Add(bad, "m"); err == nil {
		t.Fatal("a broken file was accepted")
	}
}
