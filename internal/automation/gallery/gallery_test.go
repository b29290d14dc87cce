package gallery_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/automation/gallery"
)

// Every template's placeholders name a declared connection role or
// parameter, every declared one is used, a parameter's dictionary comes
// from a declared role, and a step's only_if names a boolean parameter:
// a slip in the JSON fails here, not at a user's install.
func TestTemplatesDeclareWhatTheyUse(t *testing.T) {
	ts, err := gallery.Templates()
	if err != nil {
		t.Fatal(err)
	}
	ph := regexp.MustCompile(`<<(connection|param):([a-z_]+)>>`)
	onlyIf := regexp.MustCompile(`"only_if":\s*"([a-z_]+)"`)
	for _, tp := range ts {
		def := string(tp.Definition)
		used := map[string]bool{}
		for _, m := range ph.FindAllStringSubmatch(def, -1) {
			used[m[1]+":"+m[2]] = true
		}
		for _, m := range onlyIf.FindAllStringSubmatch(def, -1) {
			used["param:"+m[1]] = true
			ok := false
			for _, p := range tp.Params {
				ok = ok || (p.Name == m[1] && p.Type == "boolean")
			}
			if !ok {
				t.Errorf("%s: only_if %s is not a boolean parameter", tp.Name, m[1])
			}
		}
		declared := map[string]bool{}
		for role := range tp.Connections {
			declared["connection:"+role] = true
		}
		for _, p := range tp.Params {
			declared["param:"+p.Name] = true
			if p.Type != "boolean" && p.Type != "string" {
				t.Errorf("%s: parameter %s of type %q", tp.Name, p.Name, p.Type)
			}
			if p.From != nil && tp.Connections[p.From.Connection].Type == "" {
				t.Errorf("%s: parameter %s from undeclared connection %s", tp.Name, p.Name, p.From.Connection)
			}
			if p.Label.Ru == "" || p.Label.En == "" {
				t.Errorf("%s: parameter %s without a label", tp.Name, p.Name)
			}
		}
		for k := range used {
			if !declared[k] {
				t.Errorf("%s: <<%s>> is not declared", tp.Name, k)
			}
		}
		for k := range declared {
			if !used[k] {
				t.Errorf("%s: %s is declared but never used", tp.Name, k)
			}
		}
		if tp.Title.Ru == "" || tp.Title.En == "" || tp.Description.Ru == "" || strings.Contains(def, `"active": true`) {
			t.Errorf("%s: title, description or active", tp.Name)
		}
	}
}
