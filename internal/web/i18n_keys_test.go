package web

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/i18n"
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
	// The automation editor's script takes its texts from the page.
	scan("static/*.js", regexp.MustCompile(`\btf?\("([a-z0-9_.]*[a-z0-9])"`))
	scan("static/*.js", regexp.MustCompile(`"(auto\.[a-z0-9_.]*[a-z0-9])"`))
	// Keys made at run time: a status, an operator, a function …
	dynamic := func(prefix string, names ...string) {
		for _, n := range names {
			uses[prefix+n] = append(uses[prefix+n], "(made at run time)")
		}
	}
	dynamic("auto.st.", runStatuses...)
	dynamic("auto.ev.", automation.CRMEventActions...)
	dynamic("auto.op.", condOps...)
	dynamic("auto.res.", "ok", "error", "skipped", "waiting")
	dynamic("auto.dup.", "phone", "email", "inn", "external_id", "name")
	dynamic("auto.trig.", "schedule", "webhook", "manual", "event")
	dynamic("auto.group_", "all", "any")
	dynamic("auto.group.", "crm", "http", "flow")
	dynamic("e1.", automation.CRMEntities...)
	for _, f := range tmplFuncs {
		dynamic("auto.fn.", f.Name)
	}
	if len(uses) < 200 {
		t.Fatalf("found only %d keys: the scan is broken", len(uses))
	}
	has := func(lang, key string) bool {
		for _, c := range []map[string]map[string]string{catalogue, accessCatalogue} {
			if _, ok := c[lang][key]; ok {
				return true
			}
		}
		_, ok := messages.Lookup(lang, key)
		return ok
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

// TestMessageFilesAgree: every key of the message files is in Russian
// and in English, and a text with %s or %d has as many in both.
func TestMessageFilesAgree(t *testing.T) {
	ru := messages.Keys(i18n.Ru)
	if len(ru) < 100 {
		t.Fatalf("only %d Russian messages", len(ru))
	}
	verbs := regexp.MustCompile(`%[sd]`)
	for _, pair := range [][2]string{{i18n.Ru, i18n.En}, {i18n.En, i18n.Ru}} {
		for _, k := range messages.Keys(pair[0]) {
			other, ok := messages.Lookup(pair[1], k)
			if !ok {
				t.Errorf("%s: in %s.json, not in %s.json", k, pair[0], pair[1])
				continue
			}
			this, _ := messages.Lookup(pair[0], k)
			if a, b := verbs.FindAllString(this, -1), verbs.FindAllString(other, -1); !slices.Equal(a, b) {
				t.Errorf("%s: %s has %v, %s has %v", k, pair[0], a, pair[1], b)
			}
		}
	}
}
