package retailcrm_test

import (
	"testing"

	"github.com/obmen/obmen/internal/connector/retailcrm/retailcrmtest"
)

// fake is the remote API of retailcrmtest, shared with the tests of other
// packages (the templates' end-to-end test).
type fake = retailcrmtest.Fake

func newFake(t testing.TB, keys ...string) *fake { return retailcrmtest.New(t, keys...) }
