package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

// The connections API: administrators only; a secret never comes back
// (the mask stands in its place) and survives an update that omits it;
// an unknown type or a bad setting is a 422 naming the field; deleting a
// connection a bundle uses is a 409 naming the bundle unless forced.
func TestConnectionsAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, managerKey := e.newUser("conn-manager", crm.RoleManager)
		if r := e.doKey(managerKey, http.MethodGet, "/api/v1/connections", nil); r.Status != http.StatusForbidden {
			t.Fatalf("manager lists connections: %d", r.Status)
		}
		if r := e.doKey(managerKey, http.MethodPost, "/api/v1/connections", map[string]any{"type": "smtp", "name": "x"}); r.Status != http.StatusForbidden {
			t.Fatalf("manager creates a connection: %d", r.Status)
		}
		for _, tc := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"type": "amocrm", "name": "x", "settings": map[string]any{}}, "type"}, // no such connector
			{map[string]any{"type": "smtp", "name": "x", "settings": map[string]any{"host": "smtp.example.ru", "from": "a@example.ru", "auth": true, "login": "a"}}, "settings.password"},
			{map[string]any{"type": "smtp", "name": "x", "settings": map[string]any{"host": "smtp.example.ru", "from": "a@example.ru", "security": "tls"}}, "settings.security"},
			{map[string]any{"type": "smtp", "name": "x", "settings": map[string]any{"host": "smtp.example.ru", "from": "a@example.ru", "pasword": "x"}}, "settings.pasword"},
		} {
			r := e.do(http.MethodPost, "/api/v1/connections", tc.body)
			if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `"field":"`+tc.field+`"`) {
				t.Fatalf("%v: %d %s", tc.body, r.Status, r.Body)
			}
		}
		r := e.do(http.MethodPost, "/api/v1/connections", map[string]any{"type": "smtp", "name": "Почта", "settings": map[string]any{
			"host": "smtp.example.ru", "port": 465, "security": "ssl", "from": "info@example.ru:Отдел продаж", "auth": true, "login": "info@example.ru", "password": "пароль-42"}})
		if r.Status != http.StatusCreated || strings.Contains(string(r.Body), "пароль-42") || !strings.Contains(string(r.Body), `"password":"••••••••"`) {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		var c struct {
			ID       int64          `json:"id"`
			Settings map[string]any `json:"settings"`
		}
		r.json(t, &c)
		path := "/api/v1/connections/" + strconv.FormatInt(c.ID, 10)
		for _, p := range []string{"/api/v1/connections", path, "/api/v1/connections?type=smtp"} {
			if r := e.do(http.MethodGet, p, nil); r.Status != http.StatusOK || strings.Contains(string(r.Body), "пароль-42") || !strings.Contains(string(r.Body), "••••••••") {
				t.Fatalf("GET %s: %d %s", p, r.Status, r.Body)
			}
		}
		if r := e.do(http.MethodPut, path, map[string]any{"name": "Почта", "settings": map[string]any{"host": "smtp2.example.ru", "from": "info@example.ru", "auth": true, "login": "info@example.ru"}}); r.Status != http.StatusOK {
			t.Fatalf("update without the password: %d %s", r.Status, r.Body)
		}
		_, set, err := e.app.Connections.Open(t.Context(), c.ID)
		if err != nil || set.String("password") != "пароль-42" || set.String("host") != "smtp2.example.ru" {
			t.Fatalf("after update: %v %v", set, err)
		}
		if r := e.do(http.MethodGet, "/api/v1/connections/types", nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"name":"smtp"`) ||
			!strings.Contains(string(r.Body), "Адрес сервера SMTP") {
			t.Fatalf("types: %d %s", r.Status, r.Body)
		}
		// A check answers with its class and message whatever happened
		// (here: the host is not reachable from the test).
		if r := e.do(http.MethodPost, path+"/check", nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"ok":false`) || !strings.Contains(string(r.Body), `"message":"`) {
			t.Fatalf("check: %d %s", r.Status, r.Body)
		}
		if r := e.do(http.MethodPost, path+"/refresh", nil); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("refresh of a type without dictionaries: %d %s", r.Status, r.Body)
		}
		bundle := map[string]any{"name": "Письмо", "active": true, "trigger": map[string]any{"type": "manual", "entity": "lead"},
			"steps": []any{map[string]any{"id": "mail", "action": "email.send", "connection": c.ID, "input": map[string]any{"to": "a@example.ru", "subject": "s", "body": "b"}}}}
		if r := e.do(http.MethodPost, "/api/v1/bundles", bundle); r.Status != http.StatusCreated {
			t.Fatalf("bundle: %d %s", r.Status, r.Body)
		}
		bundle["steps"] = []any{map[string]any{"id": "mail", "action": "email.send", "connection": c.ID + 100, "input": map[string]any{"to": "a@example.ru"}}}
		if r := e.do(http.MethodPost, "/api/v1/bundles", bundle); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "no connection") {
			t.Fatalf("bundle with a missing connection: %d %s", r.Status, r.Body)
		}
		if r := e.do(http.MethodDelete, path, nil); r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "Письмо") {
			t.Fatalf("delete of a used connection: %d %s", r.Status, r.Body)
		}
		if r := e.do(http.MethodDelete, path+"?force=true", nil); r.Status != http.StatusNoContent {
			t.Fatalf("forced delete: %d %s", r.Status, r.Body)
		}
		if r := e.do(http.MethodGet, path, nil); r.Status != http.StatusNotFound {
			t.Fatalf("after delete: %d", r.Status)
		}
	})
}
