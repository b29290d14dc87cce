package exchange_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/crm"
)

// Settings are validated; records the exchange creates belong to the
// responsible user; raw files go after keep_days while the journal stays.
func TestSettingsAndSweep(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		for _, c := range []struct {
			body map[string]any
			want string
		}{
			{map[string]any{"version": "3.1"}, "version"},
			{map[string]any{"encoding": "koi8-r"}, "encoding"},
			{map[string]any{"responsible_user_id": 999999}, "responsible_user_id"},
		} {
			code, b := e.api("PUT", "/api/v1/exchanges/settings", c.body)
			if code != 422 || !strings.Contains(string(b), c.want) {
				t.Errorf("%v: %d %s", c.body, code, b)
			}
		}
		code, b := e.api("GET", "/api/v1/exchanges/settings", nil)
		var got exchange.Settings
		_ = json.Unmarshal(b, &got)
		if code != 200 || got.Enabled || got.Version != "2.04" || got.FileLimit <= 0 {
			t.Fatalf("defaults: %d %s", code, b)
		}
		mgr, err := e.app.Store.CreateUser(e.ctx, e.admin, crm.User{Login: "manager", Role: crm.RoleManager, FirstName: "Ольга"}, "manager-password-1")
		if err != nil {
			t.Fatal(err)
		}
		e.settings(func(s *exchange.Settings) { s.ResponsibleUserID = mgr.ID; s.KeepDays = 3 })
		c := e.oneC()
		c.checkauth("catalog")
		c.upload("catalog", "import.xml", testdata(t, "import_207.xml"), 1<<20)
		if out, _ := c.importAll("import.xml"); out != "success\n" {
			t.Fatal(out)
		}
		p := e.product("Дрель ударная", "DR-500")
		if p.AssignedByID != mgr.ID || p.CreatedByID != mgr.ID {
			t.Fatalf("assigned %d created %d, want %d", p.AssignedByID, p.CreatedByID, mgr.ID)
		}
		en := e.entries()[0]
		if !en.FileKept {
			t.Fatal("file not kept")
		}
		// Two days on: kept. Four days on: gone, the entry stays.
		svc := e.app.CommerceML
		svc.SetNow(func() time.Time { return time.Now().Add(48 * time.Hour) })
		if err := svc.Sweep(e.ctx); err != nil {
			t.Fatal(err)
		}
		if code, _ := e.api("GET", fmt.Sprintf("/api/v1/exchanges/%d/file", en.ID), nil); code != 200 {
			t.Fatalf("file gone after 2 days: %d", code)
		}
		svc.SetNow(func() time.Time { return time.Now().Add(96 * time.Hour) })
		if err := svc.Sweep(e.ctx); err != nil {
			t.Fatal(err)
		}
		if code, _ := e.api("GET", fmt.Sprintf("/api/v1/exchanges/%d/file", en.ID), nil); code != 404 {
			t.Fatalf("file kept after 4 days: %d", code)
		}
		after := e.journal(fmt.Sprint(en.ID))
		if after.FileKept || after.Status != "success" {
			t.Fatalf("entry after sweep: %+v", after)
		}
		if _, err := os.Stat(e.cfg.DataDir + "/commerceml/sessions/" + c.cookie); !os.IsNotExist(err) {
			t.Fatalf("session uploads kept: %v", err)
		}
		// The old session is gone too.
		c.must("catalog", "init", nil, nil, "failure\nsession expired or unknown")
		// Non-admins do not see the journal.
		_, mkey, _ := e.app.Store.CreateAPIKey(e.ctx, e.admin, mgr.ID, "m")
		saved := e.key
		e.key = mkey
		if code, _ := e.api("GET", "/api/v1/exchanges", nil); code != 403 {
			t.Errorf("manager sees the journal: %d", code)
		}
		e.key = saved
	})
}
