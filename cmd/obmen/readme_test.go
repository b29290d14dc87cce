package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/store/storetest"
)

// TestREADMETour runs the README's API tour verbatim against a fresh
// server, so that the documentation cannot drift from the code.
func TestREADMETour(t *testing.T) {
	storetest.EngineAgnostic(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed for the README tour (scripts/test.sh installs it)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)<!-- tour:begin -->\\s*```sh\\n(.*?)```\\s*<!-- tour:end -->").FindSubmatch(readme)
	if block == nil {
		t.Fatal("README.md has no tour block between <!-- tour:begin --> and <!-- tour:end -->")
	}
	data := t.TempDir()
	env := []string{"OBMEN_DATA=" + data, "OBMEN_ADMIN_PASSWORD=admin-password", "OBMEN_LOG_LEVEL=warn"}
	addr := freeAddr(t)
	startServer(t, env, addr)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", string(block[1]))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), append(env, "OBMEN=http://"+addr)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tour failed: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		`"normalized":"+79256424290"`, // phone stored normalized
		`"status_id":"IN_PROCESS"`,    // PATCH
		`"status_id":"CONVERTED"`,     // conversion
		`"opportunity":3751.25`,       // 1500.50 × 2.5
		`"action":"convert"`,          // the event log
		`"code":"validation_failed"`,  // the bad request …
		`"field":"emails[0].value"`,   // … names the field
	} {
		if !strings.Contains(text, want) {
			t.Errorf("tour output lacks %s", want)
		}
	}
	// The two creates with one Idempotency-Key answered with the same lead.
	calls := regexp.MustCompile(`\{"id":(\d+),[^\n]*"title":"Звонок"`).FindAllStringSubmatch(text, -1)
	if len(calls) != 2 || calls[0][1] != calls[1][1] {
		t.Errorf("idempotent creates: %v", calls)
	}
	if t.Failed() {
		t.Logf("tour output:\n%s", out)
	}
}
