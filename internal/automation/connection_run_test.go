package automation_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/automation"
)

// A step names a saved connection by id: the test mode and a real run
// both give it to the action (email.send here, through its smtp
// connection), and a definition naming one of the wrong type is refused.
func TestStepConnection(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		// A port nobody listens on: the run's attempt fails to connect
		// there, which shows the connection's settings were used.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		var c struct {
			ID int64 `json:"id"`
		}
		e.must(e.do("POST", "/api/v1/connections", map[string]any{"type": "smtp", "name": "Почта", "settings": map[string]any{
			"host": "127.0.0.1", "port": port, "security": "none", "auth": false, "from": "robot@example.ru:Обмен"}}), http.StatusCreated).json(t, &c)

		def := jsonOf(t, fmt.Sprintf(`{"name": "письмо", "active": true, "max_attempts": 1, "trigger": {"type": "manual", "entity": "lead"},
			"steps": [{"id": "mail", "action": "email.send", "connection": %d,
				"input": {"to": "{{trigger.record.emails[0].value}}:{{trigger.record.name}}", "subject": "Заявка {{trigger.record.id}}", "body": "Спасибо"}}]}`, c.ID))
		lead := e.lead(map[string]any{"title": "Заявка", "name": "Иван", "emails": []any{map[string]any{"value": "ivan@example.ru"}}})

		var res automation.TestResult
		e.must(e.do("POST", "/api/v1/bundles/test", map[string]any{"definition": def, "entity": "lead", "record_id": lead}), http.StatusOK).json(t, &res)
		if res.Status != automation.StatusOK || len(res.Steps) != 1 {
			t.Fatalf("test mode: %+v", res)
		}
		preview := fmt.Sprint(res.Steps[0].Output)
		if !strings.Contains(preview, fmt.Sprintf("127.0.0.1:%d (none)", port)) || !strings.Contains(preview, "Обмен <robot@example.ru>") {
			t.Fatalf("test mode did not use the connection: %s", preview)
		}

		b := e.bundle(def)
		var run automation.Run
		e.must(e.do("POST", fmt.Sprintf("/api/v1/bundles/%d/run", b.ID), map[string]any{"entity": "lead", "record_id": lead}), http.StatusAccepted).json(t, &run)
		done := e.waitStatus(run.ID, automation.StatusError)
		if len(done.Steps) == 0 || !strings.Contains(done.Steps[len(done.Steps)-1].Error, fmt.Sprintf("127.0.0.1:%d", port)) {
			t.Fatalf("the run did not use the connection: %+v", done.Steps)
		}

		// The wrong type of connection, or none with that id.
		bad := jsonOf(t, fmt.Sprintf(`{"name": "x", "trigger": {"type": "manual", "entity": "lead"},
			"steps": [{"id": "a", "action": "test.echo", "connection": %d}]}`, c.ID))
		if r := e.do("POST", "/api/v1/bundles", bad); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "works without a saved connection") {
			t.Fatalf("a connection on an action without one: %d %s", r.Status, r.Body)
		}
	})
}
