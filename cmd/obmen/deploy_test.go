package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/store/storetest"
)

// needTool finds a program the test runs; outside CI a missing one skips
// the test (with the reason), in CI (OBMEN_TEST_CI) it fails it.
func needTool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("OBMEN_TEST_CI") != "" {
		t.Fatalf("%s not found; %s (scripts/test.sh installs it)", name, install)
	}
	t.Skipf("%s not found (%s); the deploy/ example is not checked", name, install)
	return ""
}

// The nginx example in deploy/ is a configuration Debian's nginx accepts:
// nginx -t over it, its ports moved to loopback ones and its certificate
// paths to a throwaway certificate, inside a minimal main configuration.
func TestDeployNginxConfig(t *testing.T) {
	storetest.EngineAgnostic(t)
	nginx := needTool(t, "nginx", "apt-get install nginx-light")
	src, err := os.ReadFile("../../deploy/nginx-obmen.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key, _, _ := testCert(t)
	conf := string(src)
	for _, r := range []struct{ old, new string }{
		{"listen 80;", "listen " + freeAddr(t) + ";"},
		{"listen 443 ssl", "listen " + freeAddr(t) + " ssl"},
		{"/etc/ssl/obmen/fullchain.pem", cert},
		{"/etc/ssl/obmen/privkey.pem", key},
	} {
		if !strings.Contains(conf, r.old) {
			t.Fatalf("deploy/nginx-obmen.conf has no %q (the test's rewrite is out of date)", r.old)
		}
		conf = strings.ReplaceAll(conf, r.old, r.new)
	}
	site := filepath.Join(dir, "obmen.conf")
	main := filepath.Join(dir, "nginx.conf")
	writeFile(t, site, conf)
	writeFile(t, main, "pid "+filepath.Join(dir, "nginx.pid")+";\nerror_log "+filepath.Join(dir, "error.log")+";\n"+
		"events {}\nhttp {\n  access_log off;\n  client_body_temp_path "+dir+"/body;\n  proxy_temp_path "+dir+"/proxy;\n"+
		"  fastcgi_temp_path "+dir+"/fastcgi;\n  uwsgi_temp_path "+dir+"/uwsgi;\n  scgi_temp_path "+dir+"/scgi;\n  include "+site+";\n}\n")
	out, err := exec.Command(nginx, "-t", "-p", dir, "-c", main, "-e", filepath.Join(dir, "error.log")).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "test is successful") {
		t.Fatalf("nginx -t did not say the test is successful:\n%s", out)
	}
}

// The systemd unit in deploy/ passes systemd-analyze verify (its binary
// path pointed at the test's build of obmen, which the unit's
// ExecStart names).
func TestDeploySystemdUnit(t *testing.T) {
	storetest.EngineAgnostic(t)
	analyze := needTool(t, "systemd-analyze", "apt-get install systemd")
	src, err := os.ReadFile("../../deploy/obmen.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(src)
	if !strings.Contains(unit, "/usr/local/bin/obmen serve") {
		t.Fatal("deploy/obmen.service does not run /usr/local/bin/obmen serve")
	}
	unit = strings.ReplaceAll(unit, "/usr/local/bin/obmen", binary)
	dir := t.TempDir()
	env := filepath.Join(dir, "obmen.env")
	writeFile(t, env, "OBMEN_DATABASE_URL=postgres://obmen@db/obmen\n")
	unit = strings.ReplaceAll(unit, "/etc/obmen/obmen.env", env)
	path := filepath.Join(dir, "obmen.service")
	writeFile(t, path, unit)
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	// verify also reports on the host's own units it loads along (those
	// of a container are often incomplete); only lines about ours count.
	var ours []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "obmen.service") {
			ours = append(ours, l)
		}
	}
	if len(ours) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, strings.Join(ours, "\n"))
	}
	if err != nil {
		t.Logf("systemd-analyze verify exited %v, about other units only:\n%s", err, out)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
