package telegram_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/app/apptest"
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/connector/telegram"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/store/storetest"
)

// A bundle as users meet it: on message.received, message.send answers
// the client in the same chat with a template of the message; the run's
// retry of the step finds its message and sends nothing twice.
func TestBundleAnswersMessage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		s := apptest.Start(t, d)
		bot := newFakeBot(t)
		var conn connection.Connection
		s.Do(t, "POST", "/api/v1/connections", map[string]any{"type": "telegram", "name": "Бот",
			"settings": map[string]any{"bot_token": bot.token, "webhook_secret": hookSecret, "api_url": bot.srv.URL}}, http.StatusCreated, &conn)
		var b automation.Bundle
		s.Do(t, "POST", "/api/v1/bundles", map[string]any{"name": "автоответ", "active": true, "max_attempts": 1,
			"trigger": map[string]any{"type": connector.TriggerReceived},
			"steps": []any{map[string]any{"id": "reply", "action": connector.ActionSend,
				"input": map[string]any{"channel": "telegram", "owner_type": "{{trigger.record.owner_type}}", "owner_id": "{{trigger.record.owner_id}}",
					"text": "{{trigger.record.author}}, спасибо! Ответим в течение часа."}}}}, http.StatusCreated, &b)

		body, _ := json.Marshal(privateUpdate(1, 10, 555, "ivan", "Иван", "Здравствуйте"))
		req, _ := http.NewRequest(http.MethodPost, s.Srv.URL+telegram.HookPrefix+strconv.FormatInt(conn.ID, 10), bytes.NewReader(body))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hookSecret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("webhook: HTTP %d", res.StatusCode)
		}
		var runs automation.RunList
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(30 * time.Millisecond) {
			s.Do(t, "GET", fmt.Sprintf("/api/v1/bundles/%d/runs", b.ID), nil, http.StatusOK, &runs)
			if len(runs.Items) > 0 && runs.Items[0].Finished() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no finished run: %+v", runs.Items)
			}
		}
		var run automation.Run
		s.Do(t, "GET", fmt.Sprintf("/api/v1/runs/%d", runs.Items[0].ID), nil, http.StatusOK, &run)
		if run.Status != automation.StatusOK || len(run.Steps) != 1 {
			t.Fatalf("run: %+v", run)
		}
		out, _ := run.Steps[0].Output.(map[string]any)
		if out["status"] != "sent" {
			t.Fatalf("step output: %+v", out)
		}
		sent := bot.sentMessages()
		if len(sent) != 1 || sent[0].ChatID != "555" || sent[0].Text != "Иван, спасибо! Ответим в течение часа." {
			t.Fatalf("bot got %+v", sent)
		}
		// Our own reply is not a message received: one run only.
		s.Do(t, "GET", fmt.Sprintf("/api/v1/bundles/%d/runs", b.ID), nil, http.StatusOK, &runs)
		if len(runs.Items) != 1 {
			t.Fatalf("%d runs, want 1", len(runs.Items))
		}
	})
}

// message.send, message.received and the connection's fields have labels
// in Russian and English.
func TestLabels(t *testing.T) {
	s := apptest.Start(t, storetest.OpenAny(t))
	reg := s.App.Automation.Registry()
	msgs := reg.Messages()
	a, ok := reg.Action(connector.ActionSend)
	if !ok {
		t.Fatalf("%s not registered", connector.ActionSend)
	}
	d := a.Describe()
	keys := []string{"action." + d.Name, "action." + d.Name + ".hint", "group." + d.Group,
		"trigger." + connector.TriggerReceived, "trigger." + connector.TriggerReceived + ".hint"}
	for _, f := range d.Input {
		keys = append(keys, "action."+d.Name+".in."+f.Name)
	}
	for _, f := range d.Output {
		keys = append(keys, "action."+d.Name+".out."+f.Name)
	}
	info, ok := s.App.Connections.Registry().Info(telegram.Type)
	if !ok {
		t.Fatalf("%s not registered", telegram.Type)
	}
	keys = append(keys, "connection."+telegram.Type, "connection."+telegram.Type+".hint")
	for _, f := range info.Fields {
		keys = append(keys, "connection."+telegram.Type+"."+f.Name)
	}
	for _, lang := range []string{i18n.Ru, i18n.En} {
		for _, k := range keys {
			if v, ok := msgs.Lookup(lang, k); !ok || strings.TrimSpace(v) == "" {
				t.Errorf("%s: no label %s", lang, k)
			}
		}
	}
}
