package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/store/storetest"
)

// TestBitrix24JSSDK runs seed 002/003 flows through Bitrix24's official
// JavaScript SDK (@bitrix24/b24jssdk, B24Hook), pointed at an incoming
// webhook of a server speaking HTTPS — the SDK refuses plain HTTP — with a
// throw-away CA. scripts/test.sh installs the SDK (npm ci).
func TestBitrix24JSSDK(t *testing.T) { runJSSDK(t, "flows.mjs") }

// TestBitrix24JSSDKItems runs the universal CRM API (issue 19: crm.item.*
// for each type, product rows, a user field made by the SDK then set and
// filtered, LOGIC OR, a Cyrillic filter ignoring case) and crm.address.*
// on a requisite through the SDK.
func TestBitrix24JSSDKItems(t *testing.T) { runJSSDK(t, "items.mjs") }

// TestBitrix24JSSDKHelperLoadData runs the SDK's start-up,
// B24HelperManager.loadData() with every data type (app, profile,
// currencies, app and user options; one batch with halt=1), to the end,
// and checks what it parsed (testdata/sdk/helper.mjs).
func TestBitrix24JSSDKHelperLoadData(t *testing.T) { runJSSDK(t, "helper.mjs") }

// runJSSDK runs script on each engine: SQLite, and PostgreSQL when
// OBMEN_TEST_DATABASE_URL is set.
func runJSSDK(t *testing.T, script string) {
	t.Helper()
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			var extra []string
			if e.Name == "postgres" {
				extra = []string{"OBMEN_DATABASE_URL=" + storetest.PostgresURL(t)}
			}
			runJSSDKOn(t, script, extra)
		})
	}
}

// runJSSDKOn starts Obmen over HTTPS (extra: its database settings),
// makes an incoming webhook and runs script (in
// internal/bitrix/testdata/sdk) with node against it; the script prints
// "ok" last when every flow passed.
func runJSSDKOn(t *testing.T, script string, extra []string) {
	t.Helper()
	dir, err := filepath.Abs("../../internal/bitrix/testdata/sdk")
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "@bitrix24", "b24jssdk", "package.json"))
	if err != nil || modErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node or the SDK is missing (scripts/test.sh runs npm ci in %s): %v %v", dir, err, modErr)
		}
		t.Skipf("node or the SDK is missing; run: npm ci --prefix %s", dir)
	}
	certFile, keyFile, caFile, pool := testCert(t)
	addr := freeAddr(t)
	env := []string{"OBMEN_DATA=" + t.TempDir(), "OBMEN_ADMIN_PASSWORD=admin-password", "OBMEN_LOG_LEVEL=warn",
		"OBMEN_TLS_CERT=" + certFile, "OBMEN_TLS_KEY=" + keyFile, "OBMEN_PUBLIC_URL=https://" + addr}
	env = append(env, extra...)
	srv := startHTTPS(t, env, addr, tlsClient(pool))
	defer srv.kill()
	hook := strings.TrimSpace(obmen(t, env, "", "bitrix", "webhook-add", "--user", "admin", "--scope", "crm,user"))
	if !strings.HasPrefix(hook, "https://"+addr+"/rest/") {
		t.Fatalf("webhook URL %q", hook)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, hook)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+caFile)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "ok") {
		t.Fatalf("SDK %s failed: %v\n%s\nserver log:\n%s", script, err, out, srv.out.String())
	}
	t.Logf("b24jssdk %s:\n%s", script, out)
}
