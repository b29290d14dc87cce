package calltouch_test

import (
	"testing"

	"github.com/obmen/obmen/internal/connector/calltouch/calltouchtest"
)

// fake is the remote API of calltouchtest, shared with the tests of other
// packages (the templates' end-to-end test).
type fake = calltouchtest.Fake

func newFake(t testing.TB) *fake { return calltouchtest.New(t) }
