package telephony_test

import (
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/connector/telephony"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/store/storetest"
)

// call.callback, its fields and the connection types' fields have labels
// in Russian and English.
func TestLabels(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	msgs := e.conns.Registry().Messages()
	d := e.action.Describe()
	keys := []string{"action." + d.Name, "action." + d.Name + ".hint", "group." + d.Group}
	for _, f := range d.Input {
		keys = append(keys, "action."+d.Name+".in."+f.Name)
	}
	for _, f := range d.Output {
		keys = append(keys, "action."+d.Name+".out."+f.Name)
	}
	for _, typ := range []string{telephony.TypeZadarma, telephony.TypeAsterisk, telephony.TypeMango} {
		info, ok := e.conns.Registry().Info(typ)
		if !ok {
			t.Fatalf("%s not registered", typ)
		}
		keys = append(keys, "connection."+typ, "connection."+typ+".hint")
		for _, f := range info.Fields {
			keys = append(keys, "connection."+typ+"."+f.Name)
		}
	}
	for _, lang := range []string{i18n.Ru, i18n.En} {
		for _, k := range keys {
			if s, ok := msgs.Lookup(lang, k); !ok || strings.TrimSpace(s) == "" {
				t.Errorf("%s: no label %s", lang, k)
			}
		}
	}
}
