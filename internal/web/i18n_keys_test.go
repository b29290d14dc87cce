package web

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// TestEveryKeyTranslated finds every message key the templates and the Go
// code name literally and requires it in Russian and in English: a
// missing one shows its bare key to the user.
func TestEveryKeyTranslated(t *testing.T) {
	uses := map[string][]string{} // key → where
	scan := func(pattern string, re *regexp.Regexp) {
		files, err := filepath.Glob(pattern)
		if err != nil || len(files) == 0 {
			t.Fatalf("no files for %s: %v", pattern, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				uses[m[1]] = append(uses[m[1]], filepath.Base(f))
			}
		}
	}
	scan("templates/*.html", regexp.MustCompile(`\bT "([a-z0-9_.]+)"`))
	scan("*.go", regexp.MustCompile(`\bT\("([a-z0-9_.]+)"\)`))
	scan("*.go", regexp.MustCompile(`translate\([a-zA-Z.]+, "([a-z0-9_.]+)"\)`))
	if len(uses) < 200 {
		t.Fatalf("found only %d keys: the scan is broken", len(uses))
	}
	has := func(lang, key string) bool {
		for _, c := range []map[string]map[string]string{catalogue, accessCatalogue} {
			if _, ok := c[lang][key]; ok {
				return true
			}
		}
		return false
	}
	var keys []string
	for k := range uses {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, lang := range []string{"ru", "en"} {
			if !has(lang, k) {
				t.Errorf("%s: no %s text (used in %v)", k, lang, slices.Compact(uses[k]))
			}
		}
	}
}
