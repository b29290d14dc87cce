package moysklad_test

import (
	"testing"

	"github.com/obmen/obmen/internal/connector/moysklad/moyskladtest"
)

// fake is the remote API of moyskladtest, shared with the tests of other
// packages (the templates' end-to-end test).
type fake = moyskladtest.Fake

func newFake(t testing.TB) *fake { return moyskladtest.New(t) }
