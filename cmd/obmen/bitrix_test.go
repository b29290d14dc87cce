package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/store/storetest"
)

// TestBitrixWebhookFromCLI creates an incoming webhook with the CLI, which
// prints only its URL, and calls crm.lead.add and crm.lead.get through it
// on a running server, form-encoded as Bitrix24 clients send.
func TestBitrixWebhookFromCLI(t *testing.T) {
	storetest.EngineAgnostic(t)
	addr := freeAddr(t)
	env := []string{"OBMEN_DATA=" + t.TempDir(), "OBMEN_ADMIN_PASSWORD=admin-password", "OBMEN_LOG_LEVEL=warn", "OBMEN_ADDR=" + addr}
	startServer(t, env, addr)
	out := obmen(t, env, "", "bitrix", "webhook-add", "--user", "admin", "--scope", "crm,user")
	hook := strings.TrimSpace(out)
	if strings.Count(out, "\n") != 1 || !strings.HasPrefix(hook, "http://"+addr+"/rest/1/") || !strings.HasSuffix(hook, "/") {
		t.Fatalf("webhook-add printed %q", out)
	}
	form := url.Values{"fields[TITLE]": {"Заказ из Pixlpark"}, "fields[PHONE][0][VALUE]": {"8 (925) 642-42-90"}, "fields[PHONE][0][VALUE_TYPE]": {"WORK"}}
	resp, err := http.PostForm(hook+"crm.lead.add.json", form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var add struct {
		Result json.Number    `json:"result"`
		Time   map[string]any `json:"time"`
	}
	if err := json.Unmarshal(b, &add); err != nil || resp.StatusCode != 200 || add.Result == "" || add.Time["date_start"] == nil {
		t.Fatalf("crm.lead.add: %d %s", resp.StatusCode, b)
	}
	resp, err = http.Get(hook + "crm.lead.get?id=" + add.Result.String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"TITLE":"Заказ из Pixlpark"`) || !strings.Contains(string(b), `"VALUE":"8 (925) 642-42-90"`) {
		t.Fatalf("crm.lead.get: %s", b)
	}
	// A wrong code is refused the way Bitrix24 refuses it.
	bad := strings.Replace(hook, "/rest/1/", "/rest/1/x", 1)
	resp, err = http.Get(bad + "crm.lead.get?id=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(b), "INVALID_CREDENTIALS") {
		t.Fatalf("bad code: %d %s", resp.StatusCode, b)
	}
}
