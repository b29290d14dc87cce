package facebook_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/app/apptest"
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/facebook"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The whole server: a Page's webhook stores the client's message, whose
// message.received runs a bundle whose message.send answers in
// Messenger (channel "facebook") within the 24-hour window.
func TestBundleAnswersInMessenger(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		s := apptest.Start(t, d)
		fb := newFakeGraph(t)
		var conn connection.Connection
		s.Do(t, "POST", "/api/v1/connections", map[string]any{"type": "facebook", "name": "Страница",
			"settings": map[string]any{"page_access_token": fb.token, "app_secret": fb.appSecret, "verify_token": verifyToken, "api_url": fb.srv.URL}},
			http.StatusCreated, &conn)
		var b automation.Bundle
		s.Do(t, "POST", "/api/v1/bundles", map[string]any{"name": "автоответ", "active": true, "max_attempts": 1,
			"trigger": map[string]any{"type": "message.received"},
			"steps": []any{map[string]any{"id": "reply", "action": "message.send",
				"input": map[string]any{"channel": "facebook", "owner_type": "{{trigger.record.owner_type}}", "owner_id": "{{trigger.record.owner_id}}",
					"text": "Спасибо! Ответим в течение часа."}}}}, http.StatusCreated, &b)

		body, _ := json.Marshal(delivery("2463912233", "m_1", "Здравствуйте", time.Now().UnixMilli()))
		req, _ := http.NewRequest(http.MethodPost, s.Srv.URL+facebook.HookPrefix+strconv.FormatInt(conn.ID, 10), bytes.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", sign(body, fb.appSecret))
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
		if out, _ := run.Steps[0].Output.(map[string]any); out["status"] != "sent" {
			t.Fatalf("step output: %+v", out)
		}
		sent := fb.sentMessages()
		if len(sent) != 1 || sent[0].PSID != "2463912233" || sent[0].MessagingType != "RESPONSE" || sent[0].Text != "Спасибо! Ответим в течение часа." {
			t.Fatalf("Meta got %+v", sent)
		}
	})
}
