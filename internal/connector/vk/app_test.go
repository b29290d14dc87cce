package vk_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/app/apptest"
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/vk"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The whole server: a client writes to the community, the Callback API
// makes a lead, and a bundle on message.received fills the lead from the
// VK profile and answers the client in VK (message.send, channel vk).
func TestBundleAnswersInVK(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		s := apptest.Start(t, d)
		f := newFakeVK(t)
		f.addUser(map[string]any{"id": int64(555), "first_name": "Иван", "last_name": "Петров", "screen_name": "ivan",
			"bdate": "15.3.1990", "city": map[string]any{"id": 1, "title": "Казань"}})
		var conn connection.Connection
		s.Do(t, "POST", "/api/v1/connections", map[string]any{"type": "vk", "name": "Сообщество",
			"settings": map[string]any{"community_token": f.groupToken, "group_id": f.groupID, "confirmation_code": confirmation,
				"secret_key": hookSecret, "api_url": f.srv.URL}}, http.StatusCreated, &conn)
		if conn.Settings["community_token"] == f.groupToken || conn.Settings["secret_key"] == hookSecret {
			t.Fatalf("the API shows the secrets: %+v", conn.Settings)
		}
		var b automation.Bundle
		s.Do(t, "POST", "/api/v1/bundles", map[string]any{"name": "автоответ ВК", "active": true, "max_attempts": 1,
			"trigger": map[string]any{"type": "message.received"},
			"steps": []any{
				map[string]any{"id": "profile", "action": vk.ActionProfile,
					"input": map[string]any{"owner_type": "{{trigger.record.owner_type}}", "owner_id": "{{trigger.record.owner_id}}"}},
				map[string]any{"id": "reply", "action": "message.send",
					"input": map[string]any{"channel": "vk", "owner_type": "{{trigger.record.owner_type}}", "owner_id": "{{trigger.record.owner_id}}",
						"text": "{{trigger.record.author}}, спасибо! Ответим в течение часа."}}}}, http.StatusCreated, &b)

		hook := s.Srv.URL + vk.HookPrefix + strconv.FormatInt(conn.ID, 10)
		post := func(ev map[string]any) (int, string) {
			body, _ := json.Marshal(ev)
			res, err := http.Post(hook, "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		if code, body := post(map[string]any{"type": "confirmation", "group_id": f.groupID}); code != 200 || body != confirmation {
			t.Fatalf("confirmation: %d %q", code, body)
		}
		if code, body := post(messageNew("ev-1", f.groupID, 9001, 555, "Здравствуйте", hookSecret)); code != 200 || body != "ok" {
			t.Fatalf("message_new: %d %q", code, body)
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
		if run.Status != automation.StatusOK || len(run.Steps) != 2 {
			t.Fatalf("run: %+v", run)
		}
		if out, _ := run.Steps[1].Output.(map[string]any); out["status"] != "sent" {
			t.Fatalf("message.send's output: %+v", out)
		}
		sends := f.sendCalls()
		if len(sends) != 1 || sends[0].Peer != 555 || sends[0].Text != "Иван Петров, спасибо! Ответим в течение часа." {
			t.Fatalf("VK got %+v", sends)
		}
		var leads struct {
			Items []map[string]any `json:"items"`
		}
		s.Do(t, "GET", "/api/v1/leads", nil, http.StatusOK, &leads)
		if len(leads.Items) != 1 || leads.Items[0]["birthdate"] != "1990-03-15" || leads.Items[0]["name"] != "Иван" {
			t.Fatalf("leads: %+v", leads.Items)
		}
	})
}
