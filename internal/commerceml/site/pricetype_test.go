package site

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// A price type Obmen names itself gets an id within the schema's 40
// characters, the same for the same name; short names stay readable.
func TestPriceTypeID(t *testing.T) {
	if got := priceTypeID("Опт"); got != "obmen-price-Опт" {
		t.Errorf("short name: %q", got)
	}
	long := "Оптовая для дилеров второго уровня по Сибири"
	a, b := priceTypeID(long), priceTypeID(long)
	if a != b || utf8.RuneCountInString(a) > 40 || !strings.HasPrefix(a, "obmen-price-") {
		t.Errorf("long name: %q %q", a, b)
	}
	if priceTypeID(long+"!") == a {
		t.Errorf("two names, one id")
	}
	if n := utf8.RuneCountInString(priceTypeID(strings.Repeat("я", 28))); n != 40 {
		t.Errorf("28 letters: %d characters", n)
	}
}
