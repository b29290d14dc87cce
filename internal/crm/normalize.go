package crm

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the country assumed for phone numbers written without
// one: Obmen's users are Russian businesses, so "8 (925) 642-42-90" is
// +79256424290.
const DefaultRegion = "RU"

// NormalizePhone returns the E.164 form of a phone number written in any
// usual way. ok is false when the text holds no plausible number; callers
// then keep the raw value and use the digits for matching.
func NormalizePhone(raw string) (string, bool) {
	digits := onlyDigits(raw)
	// libphonenumber refuses input over 250 bytes; the fast path must
	// agree with it, so such text is never a valid number on either path.
	if len(raw) > maxPhoneInput || len(digits) < 5 || len(digits) > 15 {
		return "", false
	}
	if fastPathEnabled {
		if n, ok := fastRussian(raw, digits); ok {
			return n, true
		}
	}
	// A Russian number written 8XXXXXXXXXX or 7XXXXXXXXXX without "+":
	// libphonenumber handles the national prefix 8; a bare leading 7 with
	// eleven digits is the country code written without the plus.
	text := raw
	if len(digits) == 11 && digits[0] == '7' && !strings.Contains(raw, "+") {
		text = "+" + digits
	}
	num, err := phonenumbers.Parse(text, DefaultRegion)
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		return "+" + digits, false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

// maxPhoneInput is libphonenumber's MAX_INPUT_STRING_LENGTH.
const maxPhoneInput = 250

// MaxPhoneLength bounds a phone value at every boundary (forms, API,
// imports): a number with an extension and a note fits many times over.
const MaxPhoneLength = 100

// PhoneKey is the value phones are matched by: E.164 when the number
// parses, else "+" and its digits.
func PhoneKey(raw string) string {
	n, _ := NormalizePhone(raw)
	if n == "" {
		return "+" + onlyDigits(raw)
	}
	return n
}

// fastPathEnabled is switched off by a test that checks the fast path
// against libphonenumber.
var fastPathEnabled = true

// fastRussian handles the common Russian forms without libphonenumber,
// whose regular expressions cost more than the rest of a lead's
// validation: 8XXXXXXXXXX, 7XXXXXXXXXX, +7XXXXXXXXXX and a bare ten-digit
// 9XXXXXXXXX mobile, written with any spaces, dashes, dots or brackets.
// Anything else goes to libphonenumber.
func fastRussian(raw, digits string) (string, bool) {
	for i, r := range raw {
		switch {
		case r >= '0' && r <= '9', r == ' ', r == '-', r == '(', r == ')', r == '.':
		case r == '+' && i == strings.IndexFunc(raw, func(r rune) bool { return r != ' ' }):
		default:
			return "", false
		}
	}
	plus := strings.Contains(raw, "+")
	var national string
	switch {
	case len(digits) == 11 && digits[0] == '8' && !plus:
		national = digits[1:]
	case len(digits) == 11 && digits[0] == '7':
		national = digits[1:]
	case len(digits) == 10 && digits[0] == '9' && !plus:
		national = digits
	default:
		return "", false
	}
	// Russian and Kazakh numbers (+7) start with 3, 4, 7, 8 or 9.
	switch national[0] {
	case '3', '4', '7', '8', '9':
		return "+7" + national, true
	}
	return "", false
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// NormalizeEmail lower-cases and trims an address and checks its shape.
func NormalizeEmail(raw string) (string, bool) {
	s := strings.ToLower(strings.TrimSpace(raw))
	if s == "" || strings.ContainsFunc(s, unicode.IsSpace) {
		return s, false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return s, false
	}
	return s, true
}

// ValidINN checks a Russian taxpayer number: 10 digits for an organisation,
// 12 for a person or sole proprietor, with its check digits.
func ValidINN(inn string) error {
	for _, r := range inn {
		if r < '0' || r > '9' {
			return Invalid("inn", "must hold digits only, got %q", inn)
		}
	}
	d := func(i int) int { return int(inn[i] - '0') }
	check := func(w []int) int {
		s := 0
		for i, k := range w {
			s += k * d(i)
		}
		return s % 11 % 10
	}
	switch len(inn) {
	case 10:
		if check([]int{2, 4, 10, 3, 5, 9, 4, 6, 8}) != d(9) {
			return Invalid("inn", "check digit of %s does not match", inn)
		}
	case 12:
		if check([]int{7, 2, 4, 10, 3, 5, 9, 4, 6, 8}) != d(10) ||
			check([]int{3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8}) != d(11) {
			return Invalid("inn", "check digits of %s do not match", inn)
		}
	default:
		return Invalid("inn", "must have 10 or 12 digits, got %d", len(inn))
	}
	return nil
}

// FoldSearch folds text the way the search text is folded: lower case in
// every alphabet and ё as е (Russian writes "Королёв" and "Королев" for one
// name, and people type е), so that either finds the other.
func FoldSearch(s string) string {
	return strings.ReplaceAll(strings.ToLower(s), "ё", "е")
}

// SearchText is the folded text (FoldSearch) that q= searches match
// against. It is computed here, not in SQL, because SQLite's lower() folds
// only ASCII; migration 0030 folded the rows written before ё was.
func SearchText(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(FoldSearch(p))
	}
	return b.String()
}

// FirstText is the first of vs that is not blank, trimmed ("" when all
// are): a name taken from whichever of several fields a sender filled.
func FirstText(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// ClipText keeps s within n bytes for a journal's text column, cut at a
// character boundary and marked with "…" when cut (a byte cut through a
// Cyrillic letter is not UTF-8, which PostgreSQL refuses).
func ClipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:max(cut, 0)] + "…"
}

// ClipRunes keeps s within n characters (a schema's or a field's limit),
// cut at the limit without a mark: the receiving side counts characters,
// and the text stays what the client wrote as far as it goes.
func ClipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
