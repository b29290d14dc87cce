package main

import (
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/store/storetest"
)

// testSupport matches the test-support packages of the module (smtptest,
// calltouchtest, storetest…) and the standard library's: they are for
// tests only, like net/http/httptest, and must never reach the binary.
var testSupport = regexp.MustCompile(`^(github\.com/obmen/obmen/.*test|net/http/httptest|testing)$`)

// TestNoTestSupportInBinary lists every package the binary is built from
// and fails on a test-support one: a fake of a remote API compiled into
// production would be a server nobody meant to ship.
func TestNoTestSupportInBinary(t *testing.T) {
	storetest.EngineAgnostic(t)
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 50 || !slices.Contains(pkgs, "github.com/obmen/obmen/internal/connector/calltouch") {
		t.Fatalf("go list -deps gave %d packages without the connectors: the check would prove nothing", len(pkgs))
	}
	for _, p := range pkgs {
		if testSupport.MatchString(p) {
			t.Errorf("the binary imports the test-support package %s", p)
		}
	}
}
