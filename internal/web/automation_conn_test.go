package web_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"testing"

	"github.com/obmen/obmen/internal/connection"
)

// saveSMTP saves an SMTP connection named name.
func saveSMTP(t *testing.T, e *env, name string) connection.Connection {
	t.Helper()
	c, err := e.app.Connections.Create(context.Background(), e.admin.UserID, connection.Input{Type: "smtp", Name: name,
		Settings: map[string]any{"host": "smtp.example.ru", "port": 465, "security": "ssl", "from": "robot@example.ru", "auth": false}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var bootRe = regexp.MustCompile(`data-boot="([^"]*)"`)

// The bundle editor offers a step of email.send a select of the saved SMTP
// connections: the action's description names the type it works with
// ("connection": "smtp"), the connections API lists those of the type for
// the editor's session, and the boot data has the select's texts in
// Russian with the link to create one.
func TestEditorConnectionSelect(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		yandex := saveSMTP(t, e, "Яндекс")
		b := e.browser()
		b.signIn()
		p := b.get("/automation/new")
		m := bootRe.FindStringSubmatch(p.Body)
		if p.Status != http.StatusOK || m == nil {
			t.Fatalf("editor: %d, boot data %v", p.Status, m != nil)
		}
		var boot struct {
			Texts map[string]string `json:"texts"`
		}
		if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &boot); err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]string{"auto.step_conn": "Подключение", "auto.step_conn_new": "Создать подключение",
			"auto.step_conn_missing": "№ %d — нет среди сохранённых подключений этого типа"} {
			if boot.Texts[k] != want {
				t.Errorf("boot text %s = %q, want %q", k, boot.Texts[k], want)
			}
		}

		var actions struct {
			Items []struct {
				Name       string `json:"name"`
				Connection string `json:"connection"`
			} `json:"items"`
		}
		getJSON(t, b, "/api/v1/actions", &actions)
		types := map[string]string{}
		for _, a := range actions.Items {
			types[a.Name] = a.Connection
		}
		if types["email.send"] != "smtp" {
			t.Errorf("email.send's description names connection type %q, want smtp", types["email.send"])
		}
		if c, ok := types["crm.lead.create"]; ok && c != "" {
			t.Errorf("crm.lead.create names connection type %q", c)
		}

		var list struct {
			Items []connection.Connection `json:"items"`
		}
		getJSON(t, b, "/api/v1/connections?type=smtp", &list)
		if len(list.Items) != 1 || list.Items[0].ID != yandex.ID || list.Items[0].Name != "Яндекс" {
			t.Errorf("the editor's list of SMTP connections: %+v", list.Items)
		}
		getJSON(t, b, "/api/v1/connections?type=bitrix24", &list)
		if len(list.Items) != 0 {
			t.Errorf("connections of another type: %+v", list.Items)
		}
	})
}

func getJSON(t *testing.T, b *browser, path string, v any) {
	t.Helper()
	p := b.get(path)
	if p.Status != http.StatusOK {
		t.Fatalf("%s: %d %s", path, p.Status, p.Body)
	}
	if err := json.Unmarshal([]byte(p.Body), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
