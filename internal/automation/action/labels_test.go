package action

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/store"
)

// Every action, group, input and output field has a label in Russian and
// in English of its own (a field without one would show its raw name).
func TestLabels(t *testing.T) {
	t.Parallel()
	reg := automation.NewRegistry(nil)
	if err := Register(reg, Deps{Store: &store.Store{}, HTTP: http.DefaultClient}); err != nil {
		t.Fatal(err)
	}
	msgs := reg.Messages()
	has := func(lang, key string) bool {
		s, ok := msgs.Lookup(lang, key)
		return ok && strings.TrimSpace(s) != ""
	}
	missing := map[string]bool{}
	need := func(keys ...string) {
		for _, lang := range []string{i18n.Ru, i18n.En} {
			if !slices.ContainsFunc(keys, func(k string) bool { return has(lang, k) }) {
				missing[lang+": "+keys[len(keys)-1]] = true
			}
		}
	}
	var walk func(prefix, path string, fs []automation.Field)
	walk = func(prefix, path string, fs []automation.Field) {
		for _, f := range fs {
			if f.Name == "" {
				continue
			}
			p := f.Name
			if path != "" {
				p = path + "." + f.Name
			}
			need(prefix+p, "field."+p, "field."+f.Name)
			walk(prefix, p, f.Fields)
			if f.Item != nil {
				walk(prefix, p, f.Item.Fields)
			}
		}
	}
	descs := reg.Actions()
	if len(descs) == 0 {
		t.Fatal("no actions")
	}
	for _, d := range descs {
		need("action." + d.Name)
		need("action." + d.Name + ".hint")
		need("group." + d.Group)
		walk("action."+d.Name+".in.", "", d.Input)
		walk("action."+d.Name+".out.", "", d.Output)
		// What the registry shows agrees: no label is the raw name.
		if d.Label.Ru == d.Name || d.Label.En == d.Name {
			t.Errorf("%s: label %+v", d.Name, d.Label)
		}
	}
	if len(missing) > 0 {
		keys := make([]string, 0, len(missing))
		for k := range missing {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Errorf("%d labels missing:\n%s", len(keys), strings.Join(keys, "\n"))
	}
}
