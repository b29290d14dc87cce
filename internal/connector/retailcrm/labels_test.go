package retailcrm_test

import (
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connector/retailcrm"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The actions, their fields (nested too), the triggers' data and the
// connection type's fields have labels in Russian and English.
func TestLabels(t *testing.T) {
	s := newServer(t, storetest.OpenAny(t))
	reg := s.app.Automation.Registry()
	msgs := reg.Messages()
	keys := []string{"group." + retailcrm.Group}
	var walk func(prefix, path string, fs []automation.Field)
	walk = func(prefix, path string, fs []automation.Field) {
		for _, f := range fs {
			p := f.Name
			if path != "" {
				p = path + "." + f.Name
			}
			keys = append(keys, prefix+p)
			walk(prefix, p, f.Fields)
			if f.Item != nil {
				walk(prefix, p, f.Item.Fields)
			}
		}
	}
	for _, name := range []string{retailcrm.ActionCustomerCreate, retailcrm.ActionCustomerUpdate, retailcrm.ActionOrderCreate, retailcrm.ActionOrderUpdate, retailcrm.ActionOrderGet} {
		a, ok := reg.Action(name)
		if !ok {
			t.Fatalf("%s not registered", name)
		}
		d := a.Describe()
		keys = append(keys, "action."+name, "action."+name+".hint")
		walk("action."+name+".in.", "", d.Input)
		walk("action."+name+".out.", "", d.Output)
	}
	for _, typ := range []string{retailcrm.TriggerStatusChanged, retailcrm.TriggerChanged} {
		k, ok := reg.Trigger(typ)
		if !ok || k.Poll == nil {
			t.Fatalf("%s not registered as a polling trigger", typ)
		}
		keys = append(keys, "trigger."+typ, "trigger."+typ+".hint")
		walk("trigger."+typ+".data.", "", k.Data)
	}
	info, ok := s.app.Connections.Registry().Info(retailcrm.Type)
	if !ok {
		t.Fatal("the connection type is not registered")
	}
	keys = append(keys, "connection."+retailcrm.Type, "connection."+retailcrm.Type+".hint")
	for _, f := range info.Fields {
		keys = append(keys, "connection."+retailcrm.Type+"."+f.Name)
	}
	for _, lang := range []string{i18n.Ru, i18n.En} {
		for _, k := range keys {
			if s, ok := msgs.Lookup(lang, k); !ok || strings.TrimSpace(s) == "" {
				t.Errorf("%s: no label %s", lang, k)
			}
		}
	}
}
