package tmpl

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// segment is a piece of template source: literal text or the expression
// between "{{" and "}}".
type segment struct {
	text   string // literal text, or the expression with surrounding spaces trimmed
	expr   bool
	offset int // byte offset of the literal, or of the expression's "{{"
}

// split cuts src into literal text and {{ … }} expressions. There is no
// escape for a literal "{{": write {{ "{{" }}.
func split(src string) ([]segment, error) {
	var segs []segment
	i := 0
	for {
		j := strings.Index(src[i:], "{{")
		if j < 0 {
			if i < len(src) {
				segs = append(segs, segment{text: src[i:], offset: i})
			}
			return segs, nil
		}
		start := i + j
		if j > 0 {
			segs = append(segs, segment{text: src[i:start], offset: i})
		}
		end := closing(src, start+2)
		if end < 0 {
			line, col := position(src, start)
			return nil, fmt.Errorf(`tmpl: "{{" at %d:%d has no closing "}}"`, line, col)
		}
		segs = append(segs, segment{text: strings.TrimSpace(src[start+2 : end]), expr: true, offset: start})
		i = end + 2
	}
}

// closing finds the "}}" that ends the expression starting at from. It
// skips quoted strings and balanced braces, so {{ {"a": {"b": 1}} }} and
// {{ replace(x, "}}", "") }} work. When the expression is not balanced
// (an unterminated string, a stray "{"), it falls back to the first "}}"
// and lets expr report the real mistake. It returns -1 when there is no
// "}}" at all.
func closing(src string, from int) int {
	depth := 0
	for p := from; p < len(src); p++ {
		switch c := src[p]; c {
		case '"', '\'', '`':
			p++
			for p < len(src) && src[p] != c {
				if src[p] == '\\' && c != '`' {
					p++
				}
				p++
			}
			if p >= len(src) {
				return firstClose(src, from)
			}
		case '{':
			depth++
		case '}':
			if depth > 0 {
				depth--
			} else if p+1 < len(src) && src[p+1] == '}' {
				return p
			}
		}
	}
	return firstClose(src, from)
}

func firstClose(src string, from int) int {
	if k := strings.Index(src[from:], "}}"); k >= 0 {
		return from + k
	}
	return -1
}

// position returns the 1-based line and column (in runes) of byte offset off.
func position(src string, off int) (line, col int) {
	line = 1
	lineStart := 0
	for i := 0; i < off; i++ {
		if src[i] == '\n' {
			line++
			lineStart = i + 1
		}
	}
	return line, utf8.RuneCountInString(src[lineStart:off]) + 1
}
