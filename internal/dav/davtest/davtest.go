// Package davtest holds what the CardDAV and CalDAV tests share: the
// Debian client programs they drive (vdirsyncer, khard, khal,
// python3-caldav), the users they sign in as and the sync-collection
// REPORT they send. It is not linked into the binary.
package davtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// Tool finds a client program (and, with check, runs it so, e.g. python3
// -c "import caldav"); without it the test is skipped — except under
// scripts/test.sh (OBMEN_TEST_CI) or a CI, which install it, where it
// fails.
func Tool(t *testing.T, name string, check ...string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil && len(check) > 0 {
		err = exec.Command(p, check...).Run()
	}
	if err != nil {
		if os.Getenv("OBMEN_TEST_CI") == "" && os.Getenv("CI") == "" {
			t.Skipf("%s not usable (%v): apt-get install vdirsyncer khard khal python3-caldav; scripts/test.sh installs them", name, err)
		}
		t.Fatalf("%s not usable: %v (apt-get install vdirsyncer khard khal python3-caldav; scripts/test.sh installs them)", name, err)
	}
	return p
}

// Run runs a client in home, which is also its HOME (its configuration
// and data stay in the test's folder), with stdin as its input, failing
// the test with its output.
func Run(t *testing.T, home, stdin, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = home
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local"), "TZ=Europe/Moscow", "LANG=C.UTF-8", "LC_ALL=C.UTF-8")
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Manager creates a manager whose first name is the login and whose
// password is login + "-Secret-1".
func Manager(t testing.TB, s *store.Store, admin crm.Actor, login string) crm.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), admin, crm.User{Login: login, FirstName: login, Role: crm.RoleManager}, login+"-Secret-1")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// SyncBody is an RFC 6578 sync-collection REPORT from token ("" for a
// first sync) asking for the members' ETags.
func SyncBody(token string) string {
	return `<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>` + token +
		`</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`
}
