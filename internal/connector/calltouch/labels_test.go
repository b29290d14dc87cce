package calltouch_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/calltouch"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The connection type, both triggers with every data field, and both
// actions with every field have labels in Russian and English.
func TestLabels(t *testing.T) {
	reg := automation.NewRegistry(nil)
	box, err := secret.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	conns := connection.NewStore(storetest.OpenAny(t), box, connection.NewRegistry(reg.Messages()))
	if err := calltouch.Register(conns.Registry(), reg, calltouch.Deps{HTTP: http.DefaultClient, Conns: conns}); err != nil {
		t.Fatal(err)
	}
	msgs := reg.Messages()
	keys := []string{"group." + calltouch.Group, "connection.calltouch", "connection.calltouch.hint"}
	info, _ := conns.Registry().Info(calltouch.Type)
	for _, f := range info.Fields {
		keys = append(keys, "connection.calltouch."+f.Name)
	}
	for _, d := range reg.Actions() {
		if d.Group != calltouch.Group {
			continue
		}
		keys = append(keys, "action."+d.Name, "action."+d.Name+".hint")
		for _, f := range d.Input {
			keys = append(keys, "action."+d.Name+".in."+f.Name)
		}
		for _, f := range d.Output {
			keys = append(keys, "action."+d.Name+".out."+f.Name)
		}
	}
	n := 0
	for _, tr := range reg.Triggers() {
		if tr.Group != calltouch.Group {
			continue
		}
		n++
		keys = append(keys, "trigger."+tr.Type, "trigger."+tr.Type+".hint")
		for _, f := range tr.Data {
			keys = append(keys, "trigger."+tr.Type+".data."+f.Name)
		}
	}
	if n != 2 || len(keys) < 100 {
		t.Fatalf("%d triggers, %d keys", n, len(keys))
	}
	for _, lang := range []string{i18n.Ru, i18n.En} {
		for _, k := range keys {
			if s, ok := msgs.Lookup(lang, k); !ok || strings.TrimSpace(s) == "" {
				t.Errorf("%s: no label %s", lang, k)
			}
		}
	}
}
