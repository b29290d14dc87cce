package spreadsheet

import (
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"ООО Ромашка", "ООО Ромашка"},
		{"=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"},
		{"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"＝HYPERLINK(\"x\")", "'＝HYPERLINK(\"x\")"},
		{"+7 (999) 123-45-67", "+7 (999) 123-45-67"},
		{"-1500,50", "-1500,50"},
		{"+", "'+"},
		{"-", "'-"},
		{"a=1", "a=1"},
	} {
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"=1", "+7 999", "-1", "@x", "\t", "x", "＝1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		if out == "" {
			return
		}
		if strings.ContainsRune(triggers, []rune(out)[0]) && !plainNumber(out) {
			t.Fatalf("Text(%q) = %q still starts with a formula character", s, out)
		}
		if out != s && out != "'"+s {
			t.Fatalf("Text(%q) = %q changed more than a leading apostrophe", s, out)
		}
	})
}
