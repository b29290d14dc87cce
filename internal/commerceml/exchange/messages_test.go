package exchange

import (
	"regexp"
	"slices"
	"testing"

	"github.com/obmen/obmen/internal/i18n"
)

// TestRefusalMessages: every refusal text is in both message files with
// the same verbs, and each key access.go refuses with is there.
func TestRefusalMessages(t *testing.T) {
	verbs := regexp.MustCompile(`%[a-z]`)
	for _, key := range []string{"exchange.refused", "exchange.user_disabled", "exchange.no_exchange_permission",
		"exchange.no_catalog_permission", "exchange.session_user_deleted", "exchange.session_key_revoked"} {
		r, okR := messages.Lookup(i18n.Ru, key)
		e, okE := messages.Lookup(i18n.En, key)
		if !okR || !okE || !slices.Equal(verbs.FindAllString(r, -1), verbs.FindAllString(e, -1)) {
			t.Errorf("%s: ru %q (%v), en %q (%v)", key, r, okR, e, okE)
		}
	}
}
