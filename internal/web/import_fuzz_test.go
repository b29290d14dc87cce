package web

import "testing"

// FuzzDecodeCSV: any upload gives rows or an error, never a panic, and
// rows always have a header and at least one line.
func FuzzDecodeCSV(f *testing.F) {
	f.Add([]byte("\xEF\xBB\xBFНазвание;Телефон\nЗаявка;+7 912\n"))
	f.Add([]byte("a,b\n\"x,\"\"y\",z\n"))
	f.Add([]byte("\xcd\xe0\xe7\xe2\xe0\xed\xe8\xe5;x\n1;2\n")) // Windows-1251
	f.Fuzz(func(t *testing.T, b []byte) {
		_, delim, rows, err := decodeCSV(b)
		if err != nil {
			return
		}
		if delim != ',' && delim != ';' {
			t.Fatalf("delimiter %q", delim)
		}
		if len(rows) < 2 {
			t.Fatalf("%d rows without an error", len(rows))
		}
	})
}
