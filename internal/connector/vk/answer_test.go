package vk

import (
	"errors"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/connector"
)

func TestDecodeAnswer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		body string
		code int
		id   int64
		bad  bool
	}{
		{"ok", `{"response":1234}`, 0, 1234, false},
		{"captcha", `{"error":{"error_code":14,"error_msg":"Captcha needed","request_params":[{"key":"method","value":"messages.send"}],"captcha_sid":"1","captcha_img":"https://api.vk.com/captcha.php?sid=1"}}`, 14, 0, true},
		{"privacy", `{"error":{"error_code":902,"error_msg":"Can't send messages to this user due to their privacy settings","request_params":[]}}`, 902, 0, true},
		{"neither", `{}`, 0, 0, true},
		{"not json", `<html>502 Bad Gateway</html>`, 0, 0, true},
		{"bad response", `{"response":"x"}`, 0, 0, true},
	} {
		var id int64
		err := DecodeAnswer("messages.send", 200, []byte(tc.body), &id)
		var ae *APIError
		switch {
		case !tc.bad && (err != nil || id != tc.id):
			t.Errorf("%s: %d %v", tc.name, id, err)
		case tc.bad && err == nil:
			t.Errorf("%s: no error", tc.name)
		case tc.code != 0 && (!errors.As(err, &ae) || ae.Code != tc.code):
			t.Errorf("%s: %v, want VK error %d", tc.name, err, tc.code)
		}
		if tc.code == 14 && !strings.HasPrefix(ae.CaptchaImg, "https://") {
			t.Errorf("captcha image: %q", ae.CaptchaImg)
		}
	}
}

func TestParseEvent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body, err string
		msg       bool
	}{
		{`{"type":"confirmation","group_id":1}`, "", false},
		{`{"type":"message_new","group_id":1,"event_id":"e","v":"5.199","object":{"message":{"id":5,"date":1,"peer_id":7,"from_id":7,"text":"hi"}},"secret":"s"}`, "", true},
		{`{"type":"message_new","group_id":1,"object":{"message":{"id":5,"peer_id":7}}}`, "from_id is missing", false},
		{`{"type":"message_new","group_id":1,"object":{"message":{"id":0,"peer_id":7,"from_id":7}}}`, "is not a message id", false},
		{`{"type":"message_new","group_id":1,"object":{"id":5,"peer_id":7,"from_id":7}}`, "object.message", false},
		{`{"type":"message_new","group_id":1}`, "without object", false},
		{`{"group_id":1}`, "no type", false},
		{`[1,2]`, "not JSON", false},
	} {
		_, m, err := ParseEvent([]byte(tc.body))
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %v, want %q", tc.body, err, tc.err)
		}
		if (m != nil) != tc.msg {
			t.Errorf("%s: message %+v", tc.body, m)
		}
	}
}

// FuzzParseEvent: any body gives a notification or an error — never a
// panic, never a message_new without its ids.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"type":"confirmation","group_id":1}`))
	f.Add([]byte(`{"type":"message_new","group_id":1,"event_id":"e","object":{"message":{"id":5,"peer_id":7,"from_id":7,"text":"hi","attachments":[{"type":"doc","doc":{"url":"https://vk.com/doc1","title":"a.pdf"}}]}},"secret":"s"}`))
	f.Add([]byte(`{"type":"message_new","object":{"message":null}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, m, err := ParseEvent(b)
		if err != nil {
			return
		}
		if ev.Type == "" {
			t.Fatal("a notification without a type")
		}
		if m != nil && (m.ID <= 0 || m.PeerID == 0 || m.FromID == 0) {
			t.Fatalf("message without ids: %+v", m)
		}
		if m != nil {
			_ = messageOf(1, *m, "in", "")
		}
	})
}

func TestExplainCoversTheCodes(t *testing.T) {
	t.Parallel()
	s := &Service{}
	s.msgs = mustCatalog(t)
	for _, code := range []int{1, 5, 6, 7, 9, 10, 14, 15, 100, 113, 900, 901, 902, 914, 917, 927, 42} {
		text, c := s.Explain(&APIError{Method: "messages.send", Code: code, Msg: "x"})
		if text == "" || strings.Contains(text, "vk.error") || strings.Contains(text, "%!") || c == "" {
			t.Errorf("error %d: %q %q", code, text, c)
		}
		if !strings.ContainsAny(text, "абвгдеёжзийклмнопрстуфхцчшщъыьэюя") {
			t.Errorf("error %d is not in Russian: %q", code, text)
		}
	}
	for _, err := range []error{&connector.NotSent{Err: errors.New("x")}, &connector.Refused{Err: errors.New("x")}, errors.New("timeout")} {
		if text, _ := s.Explain(err); text == "" || strings.Contains(text, "vk.error") {
			t.Errorf("%v: %q", err, text)
		}
	}
}
