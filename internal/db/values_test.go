package db

import (
	"strings"
	"testing"
)

func TestWriteValueRows(t *testing.T) {
	for _, c := range []struct {
		dialect           Dialect
		rows, cols, start int
		want              string
	}{
		{SQLite, 2, 3, 0, "(?, ?, ?), (?, ?, ?)"},
		{Postgres, 2, 3, 0, "($1, $2, $3), ($4, $5, $6)"},
		{Postgres, 1, 2, 4, "($5, $6)"},
		{SQLite, 0, 3, 0, ""},
	} {
		var b strings.Builder
		WriteValueRows(&b, c.dialect, c.rows, c.cols, c.start)
		if b.String() != c.want {
			t.Errorf("%s %d×%d from %d: %q, want %q", c.dialect, c.rows, c.cols, c.start, b.String(), c.want)
		}
	}
}
