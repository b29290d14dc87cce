package db

import (
	"strconv"
	"strings"
)

// WriteValueRows writes the VALUES list of a multi-row INSERT: rows
// groups of cols parameters, "(?, ?), (?, ?)" on SQLite and "($n, $n+1),
// …" numbered from start+1 on PostgreSQL. SQLite's parameters are
// anonymous on purpose: it looks a numbered one ("$n") up in the list of
// all the statement's parameter names, for each one parsed and bound, so
// a statement of a thousand numbered parameters costs a million steps to
// prepare and bind.
func WriteValueRows(b *strings.Builder, dialect Dialect, rows, cols, start int) {
	n := start
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := 0; c < cols; c++ {
			if c > 0 {
				b.WriteString(", ")
			}
			n++
			if dialect == SQLite {
				b.WriteByte('?')
			} else {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n))
			}
		}
		b.WriteByte(')')
	}
}
