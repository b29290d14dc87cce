package telegram

import (
	"errors"
	"testing"
	"time"
)

func TestDecodeAnswer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		code   int
		retry  time.Duration
		id     int64
		fails  bool
	}{
		{"ok", 200, `{"ok":true,"result":{"message_id":42,"date":1765000000,"chat":{"id":5,"type":"private"}}}`, 0, 0, 42, false},
		{"429", 429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}`, 429, 7 * time.Second, 0, true},
		{"403", 403, `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`, 403, 0, 0, true},
		{"no code", 502, `{"ok":false}`, 502, 0, 0, true},
		{"not json", 502, `<html>Bad Gateway</html>`, 0, 0, 0, true},
		{"bad result", 200, `{"ok":true,"result":"x"}`, 0, 0, 0, true},
	} {
		var m Message
		err := decodeAnswer("sendMessage", tc.status, []byte(tc.body), &m)
		var ae *APIError
		switch {
		case !tc.fails && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.fails && err == nil:
			t.Errorf("%s: no error", tc.name)
		case tc.code != 0 && (!errors.As(err, &ae) || ae.Code != tc.code || ae.RetryAfter != tc.retry):
			t.Errorf("%s: %#v", tc.name, err)
		case tc.code == 0 && errors.As(err, &ae):
			t.Errorf("%s: an API error from a non-answer: %v", tc.name, err)
		case m.MessageID != tc.id:
			t.Errorf("%s: message %d", tc.name, m.MessageID)
		}
	}
}

// FuzzDecodeAnswer: any body is an answer, a refusal with a positive
// code and a non-negative wait, or an error — never a panic.
func FuzzDecodeAnswer(f *testing.F) {
	f.Add(200, []byte(`{"ok":true,"result":{"message_id":1}}`))
	f.Add(429, []byte(`{"ok":false,"error_code":429,"description":"x","parameters":{"retry_after":-3}}`))
	f.Add(500, []byte(`{"ok":false,"error_code":0}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			return
		}
		var m Message
		err := decodeAnswer("sendMessage", status, body, &m)
		var ae *APIError
		if errors.As(err, &ae) && (ae.Code <= 0 || ae.RetryAfter < 0) {
			t.Fatalf("%+v", ae)
		}
	})
}
