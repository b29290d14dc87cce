// Package spreadsheet keeps exported text from being read as a formula by
// the spreadsheet program that opens it (CSV injection, OWASP "CSV
// Injection"): a cell that begins with =, +, -, @, a tab or a carriage
// return — or their full-width forms, which some programs fold — gets a
// leading apostrophe. Every CSV that Obmen writes passes its text cells
// through Text; XLSX text is written as string cells, never formulas.
package spreadsheet

import (
	"strings"
	"unicode/utf8"
)

// triggers are the first characters that make a spreadsheet parse a cell
// as a formula or a DDE call.
const triggers = "=+-@\t\r\uFF1D\uFF0B\uFF0D\uFF20"

// Text is s made safe to open as a spreadsheet cell. A value made only of
// digits, spaces and the characters of a phone number or a signed number
// (+7 (999) 123-45-67, -1500,50) is left alone: it cannot call a function,
// and a phone list full of apostrophes would be a worse export.
func Text(s string) string {
	if s == "" {
		return s
	}
	r, _ := utf8.DecodeRuneInString(s)
	if !strings.ContainsRune(triggers, r) {
		return s
	}
	if plainNumber(s) {
		return s
	}
	return "'" + s
}

// plainNumber reports whether s is a number or a phone number: at least
// one digit and nothing but digits, spaces and + - ( ) . , characters.
func plainNumber(s string) bool {
	digits := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == ' ' || c == '+' || c == '-' || c == '(' || c == ')' || c == '.' || c == ',' || c == '\u00a0' || c == '\u202f':
		default:
			return false
		}
	}
	return digits > 0
}

// Row applies Text to every cell of a row in place and returns it.
func Row(cells []string) []string {
	for i, c := range cells {
		cells[i] = Text(c)
	}
	return cells
}
