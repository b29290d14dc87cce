package vk

import (
	"testing"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/i18n"
)

func mustCatalog(t *testing.T) *i18n.Catalog {
	t.Helper()
	c := i18n.New()
	if err := c.Add(messages, "messages"); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLabels: every action, its input and output fields, and every
// connection field have a label in Russian and English.
func TestLabels(t *testing.T) {
	t.Parallel()
	c := mustCatalog(t)
	var keys []string
	s := &Service{}
	for _, a := range s.Actions() {
		d := a.Describe()
		keys = append(keys, "action."+d.Name, "action."+d.Name+".hint", "group."+d.Group)
		for _, f := range d.Input {
			keys = append(keys, "action."+d.Name+".in."+f.Name)
		}
		for _, f := range d.Output {
			keys = append(keys, "action."+d.Name+".out."+f.Name)
		}
	}
	keys = append(keys, "connection."+Type, "connection."+Type+".hint")
	for _, f := range ConnectionType(nil).Fields {
		keys = append(keys, "connection."+Type+"."+f.Name, "connection."+Type+"."+f.Name+".hint")
	}
	for _, lang := range []string{i18n.Ru, i18n.En} {
		for _, k := range keys {
			if v, ok := c.Lookup(lang, k); !ok || v == "" {
				t.Errorf("%s: no label %s", lang, k)
			}
		}
	}
	var _ automation.Action = s.Actions()[0]
}
