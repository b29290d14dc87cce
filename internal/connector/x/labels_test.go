package x_test

import (
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/x"
	"github.com/obmen/obmen/internal/i18n"
)

// The connection type and its fields have labels and hints in Russian
// and English, and the messages shown on a failed post are there too.
func TestLabels(t *testing.T) {
	reg := connection.NewRegistry(nil)
	if err := x.Register(reg, nil); err != nil {
		t.Fatal(err)
	}
	info, ok := reg.Info(x.Type)
	if !ok {
		t.Fatal("x not registered")
	}
	keys := []string{"connection.x", "connection.x.hint"}
	for _, f := range info.Fields {
		keys = append(keys, "connection.x."+f.Name, "connection.x."+f.Name+".hint")
	}
	for _, k := range []string{"401", "duplicate", "403", "429", "too_long", "other", "network", "checking", "unknown", "refused", "no_connection"} {
		keys = append(keys, "x.error."+k)
	}
	for _, lang := range []string{i18n.Ru, i18n.En} {
		for _, k := range keys {
			if s, ok := reg.Messages().Lookup(lang, k); !ok || strings.TrimSpace(s) == "" {
				t.Errorf("%s: no label %s", lang, k)
			}
		}
	}
}
