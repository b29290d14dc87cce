package moysklad_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/moysklad"
	"github.com/obmen/obmen/internal/i18n"
)

// The actions, their fields, the trigger and its data, the connection
// type and its fields have labels in Russian and English.
func TestLabels(t *testing.T) {
	reg := automation.NewRegistry(nil)
	conns := connection.NewRegistry(reg.Messages())
	if err := moysklad.Register(conns, reg, moysklad.Deps{HTTP: http.DefaultClient, Conns: &connection.Store{}}); err != nil {
		t.Fatal(err)
	}
	msgs := reg.Messages()
	var keys []string
	for _, name := range []string{moysklad.ActionCounterparty, moysklad.ActionOrderCreate, moysklad.ActionOrderUpdate} {
		a, ok := reg.Action(name)
		if !ok {
			t.Fatalf("%s not registered", name)
		}
		d := a.Describe()
		keys = append(keys, "action."+d.Name, "action."+d.Name+".hint", "group."+d.Group)
		for _, f := range d.Input {
			keys = append(keys, "action."+d.Name+".in."+f.Name)
		}
		for _, f := range d.Output {
			keys = append(keys, "action."+d.Name+".out."+f.Name)
		}
	}
	k, ok := reg.Trigger(moysklad.TriggerOrderChanged)
	if !ok {
		t.Fatal("trigger not registered")
	}
	keys = append(keys, "trigger."+k.Type, "trigger."+k.Type+".hint")
	for _, f := range k.Data {
		keys = append(keys, "trigger."+k.Type+".data."+f.Name)
	}
	info, ok := conns.Info(moysklad.Type)
	if !ok {
		t.Fatal("connection type not registered")
	}
	keys = append(keys, "connection."+moysklad.Type, "connection."+moysklad.Type+".hint")
	for _, f := range info.Fields {
		keys = append(keys, "connection."+moysklad.Type+"."+f.Name)
	}
	for _, lang := range []string{i18n.Ru, i18n.En} {
		for _, k := range keys {
			if s, ok := msgs.Lookup(lang, k); !ok || strings.TrimSpace(s) == "" {
				t.Errorf("%s: no label %s", lang, k)
			}
		}
	}
}
