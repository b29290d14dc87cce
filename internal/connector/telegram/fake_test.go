package telegram_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBot is the Telegram Bot API as documented (core.telegram.org/bots/api):
// POST /bot<token>/<method> with a JSON body; every answer is an envelope
// {"ok":true,"result":…} or {"ok":false,"error_code":…,"description":…,
// "parameters":{"retry_after":…}}; files at /file/bot<token>/<path>.
type fakeBot struct {
	t     testing.TB
	token string
	srv   *httptest.Server

	mu sync.Mutex
	// sent are the messages the bot sent, by chat.
	sent []sentMessage
	// calls counts the calls of each method.
	calls map[string]int
	// fail, when set for a method, answers its next call with this
	// error envelope (and consumes it).
	fail map[string][]failure
	// hang makes the next sendMessage be delivered but never answered
	// (the connection is cut), as a timeout after the request left.
	hang    bool
	updates []map[string]any
	// hold, when set, keeps every getUpdates waiting until it is closed
	// (a long poll that does not return).
	hold    chan struct{}
	nextID  int64
	files   map[string]string // file_id → content
	blocked map[string]bool   // chats that blocked the bot
}

type sentMessage struct {
	Method   string
	ChatID   string
	Text     string
	Document string
}

type failure struct {
	Code        int
	Description string
	RetryAfter  int
}

func newFakeBot(t testing.TB) *fakeBot {
	f := &fakeBot{t: t, token: "123456:AAH-test_token_of_thirty_five_chars", calls: map[string]int{}, fail: map[string][]failure{},
		nextID: 100, files: map[string]string{}, blocked: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeBot) answer(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
}

func (f *fakeBot) refuse(w http.ResponseWriter, fl failure) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(fl.Code)
	env := map[string]any{"ok": false, "error_code": fl.Code, "description": fl.Description}
	if fl.RetryAfter > 0 {
		env["parameters"] = map[string]any{"retry_after": fl.RetryAfter}
	}
	_ = json.NewEncoder(w).Encode(env)
}

func (f *fakeBot) serve(w http.ResponseWriter, r *http.Request) {
	if p, ok := strings.CutPrefix(r.URL.Path, "/file/bot"+f.token+"/"); ok {
		f.mu.Lock()
		body, ok := f.files[p]
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, body)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	tok, method, _ := strings.Cut(rest, "/")
	if !ok || tok != f.token {
		f.refuse(w, failure{Code: 401, Description: "Unauthorized"})
		return
	}
	var p map[string]any
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		f.refuse(w, failure{Code: 400, Description: "Bad Request: can't parse JSON"})
		return
	}
	if method == "getUpdates" {
		f.mu.Lock()
		hold := f.hold
		if hold != nil {
			f.calls[method]++
		}
		f.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
			}
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	if fs := f.fail[method]; len(fs) > 0 {
		f.fail[method] = fs[1:]
		f.refuse(w, fs[0])
		return
	}
	chat := func() string {
		switch v := p["chat_id"].(type) {
		case string:
			return v
		case float64:
			return strconv.FormatInt(int64(v), 10)
		}
		return ""
	}
	switch method {
	case "getMe":
		f.answer(w, map[string]any{"id": 123456, "is_bot": true, "first_name": "Obmen", "username": "obmen_test_bot"})
	case "sendMessage", "sendDocument":
		c := chat()
		if f.blocked[c] {
			f.refuse(w, failure{Code: 403, Description: "Forbidden: bot was blocked by the user"})
			return
		}
		text, _ := p["text"].(string)
		doc, _ := p["document"].(string)
		if method == "sendMessage" && text == "" {
			f.refuse(w, failure{Code: 400, Description: "Bad Request: message text is empty"})
			return
		}
		f.sent = append(f.sent, sentMessage{Method: method, ChatID: c, Text: text, Document: doc})
		f.nextID++
		if f.hang && method == "sendMessage" {
			f.hang = false
			// Delivered, but the answer never comes: cut the connection.
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
			return
		}
		f.answer(w, map[string]any{"message_id": f.nextID, "date": time.Now().Unix(), "chat": map[string]any{"id": json.Number(c), "type": "private"}, "text": text})
	case "getFile":
		id, _ := p["file_id"].(string)
		if _, ok := f.files["documents/"+id]; !ok {
			f.refuse(w, failure{Code: 400, Description: "Bad Request: invalid file_id"})
			return
		}
		f.answer(w, map[string]any{"file_id": id, "file_path": "documents/" + id})
	case "getUpdates":
		off, _ := p["offset"].(float64)
		var out []map[string]any
		for _, u := range f.updates {
			if id, _ := u["update_id"].(int64); id >= int64(off) {
				out = append(out, u)
			}
		}
		f.answer(w, out)
	case "setWebhook", "deleteWebhook":
		f.answer(w, true)
	default:
		f.refuse(w, failure{Code: 404, Description: "Not Found: method not found"})
	}
}

func (f *fakeBot) failNext(method string, fl failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = append(f.fail[method], fl)
}

func (f *fakeBot) sentMessages() []sentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentMessage(nil), f.sent...)
}

func (f *fakeBot) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// privateUpdate is an update of a client's private message.
func privateUpdate(updateID, messageID, userID int64, username, first, text string) map[string]any {
	from := map[string]any{"id": userID, "is_bot": false, "first_name": first, "username": username}
	return map[string]any{"update_id": updateID, "message": map[string]any{"message_id": messageID, "date": 1765000000,
		"from": from, "chat": map[string]any{"id": userID, "type": "private", "first_name": first, "username": username}, "text": text}}
}
