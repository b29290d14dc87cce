package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Telegram sends notifications through a bot of the Telegram Bot API
// (sendMessage): a thin client, one method, instead of a bot framework.
type Telegram struct {
	// Base is the API's address, https://api.telegram.org unless a test
	// or a proxy says otherwise.
	Base   string
	Token  string
	Client *http.Client
	// PublicURL, when set, makes the message link to the record.
	PublicURL string
}

// Send posts the notification to the chat.
func (t *Telegram) Send(ctx context.Context, chatID string, n Notification) error {
	text := n.Title
	if n.Body != "" {
		text += "\n" + n.Body
	}
	if t.PublicURL != "" {
		text += "\n" + strings.TrimRight(t.PublicURL, "/") + n.Link()
	}
	body, _ := json.Marshal(map[string]any{"chat_id": chatID, "text": text, "disable_web_page_preview": true})
	base := t.Base
	if base == "" {
		base = "https://api.telegram.org"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/bot"+t.Token+"/sendMessage", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify: telegram: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	c := t.Client
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		// The token is in the URL: never let it into an error message.
		return fmt.Errorf("notify: telegram: sendMessage: %s", strings.ReplaceAll(err.Error(), t.Token, "***"))
	}
	defer res.Body.Close()
	var ans struct {
		OK          bool   `json:"ok"`
		ErrorCode   int    `json:"error_code"`
		Description string `json:"description"`
		Parameters  struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	if err := json.Unmarshal(b, &ans); err != nil {
		return fmt.Errorf("notify: telegram: sendMessage: HTTP %d, not the Bot API's answer", res.StatusCode)
	}
	if !ans.OK {
		if ans.Parameters.RetryAfter > 0 {
			return fmt.Errorf("notify: telegram: sendMessage: %d %s (retry after %d s)", ans.ErrorCode, ans.Description, ans.Parameters.RetryAfter)
		}
		return fmt.Errorf("notify: telegram: sendMessage: %d %s", ans.ErrorCode, ans.Description)
	}
	return nil
}
