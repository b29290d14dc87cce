package web

import "testing"

func TestReportNumber(t *testing.T) {
	for _, c := range []struct {
		in   string
		v    float64
		kind string
		ok   bool
	}{
		{"12", 12, "int", true},
		{"45\u202f000,50", 45000.5, "decimal", true},
		{"45 000,50 ₽", 45000.5, "decimal", true},
		{"33,3 %", 33.3, "percent", true},
		{"-5", -5, "int", true},
		{"2026-11", 0, "", false},
		{"Ольга Смирнова", 0, "", false},
		{"3 · 50,0 %", 0, "", false},
		{"", 0, "", false},
		{"—", 0, "", false},
	} {
		v, kind, ok := reportNumber(c.in)
		if ok != c.ok || kind != c.kind || v != c.v {
			t.Errorf("%q: %v %q %v, want %v %q %v", c.in, v, kind, ok, c.v, c.kind, c.ok)
		}
	}
}
