package facebook_test

import (
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/facebook"
	"github.com/obmen/obmen/internal/i18n"
)

// The connection type and its fields have labels and hints in Russian
// and English, and the messages shown on a failed send are there too.
func TestLabels(t *testing.T) {
	reg := connection.NewRegistry(nil)
	if err := facebook.Register(reg, nil); err != nil {
		t.Fatal(err)
	}
	info, ok := reg.Info(facebook.Type)
	if !ok {
		t.Fatal("facebook not registered")
	}
	keys := []string{"connection.facebook", "connection.facebook.hint", "facebook.lead.title"}
	for _, f := range info.Fields {
		keys = append(keys, "connection.facebook."+f.Name, "connection.facebook."+f.Name+".hint")
	}
	for _, k := range []string{"token", "rate", "window", "window_local", "window_human", "permission", "unavailable", "no_user",
		"too_long", "other", "network", "unknown", "refused", "no_connection"} {
		keys = append(keys, "facebook.error."+k)
	}
	for _, lang := range []string{i18n.Ru, i18n.En} {
		for _, k := range keys {
			if s, ok := reg.Messages().Lookup(lang, k); !ok || strings.TrimSpace(s) == "" {
				t.Errorf("%s: no label %s", lang, k)
			}
		}
	}
}
