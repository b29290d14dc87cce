package intake_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/intake/mail"
)

func TestCollectorsAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		// A port nobody listens on: the run fails to connect.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		r := e.doJSON("POST", "/api/v1/intake/collectors", map[string]any{"name": "Заявки", "host": "127.0.0.1", "port": port, "security": "none",
			"login": "orders", "password": "p@ss", "user_id": e.admin.ID, "processed_folder": "Done"})
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		var c mail.Collector
		r.json(t, &c)
		if strings.Contains(string(r.Body), "p@ss") || !c.PasswordSet || !c.Enabled || c.Keyword != "ORDER" {
			t.Errorf("created = %s", r.Body)
		}
		// Sealed at rest.
		var stored string
		if err := e.app.DB.Read.QueryRowContext(context.Background(), "SELECT password FROM intake_collectors WHERE id = $1", c.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored == "" || strings.Contains(stored, "p@ss") {
			t.Errorf("stored password %q", stored)
		}
		path := "/api/v1/intake/collectors/" + strconv.FormatInt(c.ID, 10)
		if r := e.doJSON("PUT", path, map[string]any{"name": "Заявки 2", "host": "127.0.0.1", "port": port, "security": "none", "login": "orders",
			"user_id": e.admin.ID, "keyword": "ЗАКАЗ"}); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"password_set":true`) ||
			!strings.Contains(string(r.Body), "ЗАКАЗ") {
			t.Errorf("update: %d %s", r.Status, r.Body)
		}
		r = e.do("POST", path+"/run", nil)
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "connect") {
			t.Errorf("run now: %d %s", r.Status, r.Body)
		}
		var list mail.CollectorList
		e.do("GET", "/api/v1/intake/collectors", nil).json(t, &list)
		if len(list.Items) != 1 || list.Items[0].LastRunAt == nil || !strings.Contains(list.Items[0].LastError, "connect") {
			t.Errorf("list = %+v", list.Items)
		}
		if r := e.doJSON("POST", "/api/v1/intake/collectors", map[string]any{"name": "x", "host": "h", "login": "l", "user_id": e.admin.ID, "security": "ssl"}); r.Status != http.StatusUnprocessableEntity ||
			!strings.Contains(string(r.Body), `"security"`) {
			t.Errorf("bad security: %d %s", r.Status, r.Body)
		}
		if r := e.do("DELETE", path, nil); r.Status != http.StatusNoContent {
			t.Errorf("delete: %d %s", r.Status, r.Body)
		}
		if r := e.do("GET", path, nil); r.Status != http.StatusNotFound {
			t.Errorf("get deleted: %d", r.Status)
		}
	})
}
