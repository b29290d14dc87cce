package x

import (
	"regexp"
	"unicode/utf8"
)

// MaxWeight is a post's limit: 280 in X's weighted count.
const MaxWeight = 280

// urlLength is what a link counts, whatever its length (X shortens it
// to a t.co link).
const urlLength = 23

var linkRe = regexp.MustCompile(`(?i)\bhttps?://[^\s]+`)

// Weight is a text's length as X counts it (twitter-text's version 3
// configuration): a link 23; a character in Latin, Cyrillic, Greek and
// the other ranges up to U+10FF, and a few punctuation ranges, 1; any
// other (CJK, emoji …) 2. Links are found by their http(s):// only (a
// bare "example.ru" counts by its characters, as if it were not one),
// and an emoji made of several code points counts 2 for each of them:
// both err on the long side, so that a post this passes X accepts.
func Weight(text string) int {
	n, prev := 0, 0
	for _, loc := range linkRe.FindAllStringIndex(text, -1) {
		n += runesWeight(text[prev:loc[0]]) + urlLength
		prev = loc[1]
	}
	return n + runesWeight(text[prev:])
}

func runesWeight(s string) int {
	n := 0
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		switch {
		case r <= 0x10FF, r >= 0x2000 && r <= 0x200D, r >= 0x2010 && r <= 0x201F, r >= 0x2032 && r <= 0x2037:
			n++
		default:
			n += 2
		}
	}
	return n
}
