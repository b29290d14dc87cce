package facebook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeGraph is the Graph API's Send API as documented
// (developers.facebook.com/docs/messenger-platform/reference/send-api):
// POST /v21.0/{PAGE-ID|me}/messages?access_token=… with a JSON body
// {"recipient":{"id":PSID},"messaging_type":…,"message":{"text":…}}
// answering {"recipient_id":…,"message_id":…}; GET /v21.0/me; every
// refusal an error object {"error":{"message","type","code",
// "error_subcode","fbtrace_id"}} with HTTP 400 (403 for permissions).
type fakeGraph struct {
	t         testing.TB
	token     string
	appSecret string
	srv       *httptest.Server

	mu   sync.Mutex
	sent []sentMessage
	// fail answers the next sends with these error objects, in order.
	fail []graphError
	// hang makes the next send be received but never answered (the
	// connection is cut), as a timeout after the request left.
	hang   bool
	nextID int
	// profiles are the people the User Profile API knows: PSID →
	// first and last name.
	profiles map[string][2]string
	lookups  int
}

type sentMessage struct {
	Page          string
	PSID          string
	MessagingType string
	Tag           string
	Text          string
}

type graphError struct {
	Status  int
	Message string
	Type    string
	Code    int
	Subcode int
}

func newFakeGraph(t testing.TB) *fakeGraph {
	f := &fakeGraph{t: t, token: "EAAGm0PX4ZCpsBA-page-token", appSecret: "0123456789abcdef0123456789abcdef", nextID: 1,
		profiles: map[string][2]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGraph) refuse(w http.ResponseWriter, e graphError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	obj := map[string]any{"message": e.Message, "type": e.Type, "code": e.Code, "fbtrace_id": "AbCdEf123"}
	if e.Subcode != 0 {
		obj["error_subcode"] = e.Subcode
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": obj})
}

func (f *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("access_token") != f.token {
		f.refuse(w, graphError{Status: 400, Message: "Invalid OAuth access token - Cannot parse access token", Type: "OAuthException", Code: 190})
		return
	}
	mac := hmac.New(sha256.New, []byte(f.appSecret))
	mac.Write([]byte(f.token))
	if q.Get("appsecret_proof") != hex.EncodeToString(mac.Sum(nil)) {
		f.refuse(w, graphError{Status: 400, Message: "Invalid appsecret_proof provided in the API argument", Type: "GraphMethodException", Code: 100})
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v21.0/")
	if !ok {
		f.refuse(w, graphError{Status: 400, Message: "Unknown path components", Type: "OAuthException", Code: 2500})
		return
	}
	if r.Method == http.MethodGet && rest == "me" {
		_ = json.NewEncoder(w).Encode(map[string]string{"id": "104857600", "name": "Типография «Оттиск»"})
		return
	}
	if r.Method == http.MethodGet && !strings.Contains(rest, "/") {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.lookups++
		p, ok := f.profiles[rest]
		if !ok || q.Get("fields") != "first_name,last_name" {
			f.refuse(w, graphError{Status: 400, Message: "(#100) No profile available for that user.", Type: "OAuthException", Code: 100, Subcode: 2018218})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"first_name": p[0], "last_name": p[1], "id": rest})
		return
	}
	pageID, ok := strings.CutSuffix(rest, "/messages")
	if r.Method != http.MethodPost || !ok {
		f.refuse(w, graphError{Status: 400, Message: "Unsupported request", Type: "GraphMethodException", Code: 100})
		return
	}
	var body struct {
		Recipient struct {
			ID string `json:"id"`
		} `json:"recipient"`
		MessagingType string `json:"messaging_type"`
		Tag           string `json:"tag"`
		Message       struct {
			Text string `json:"text"`
		} `json:"message"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Recipient.ID == "" || body.MessagingType == "" {
		f.refuse(w, graphError{Status: 400, Message: "(#100) The parameter recipient is required", Type: "OAuthException", Code: 100})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.fail) > 0 {
		e := f.fail[0]
		f.fail = f.fail[1:]
		f.refuse(w, e)
		return
	}
	f.sent = append(f.sent, sentMessage{Page: pageID, PSID: body.Recipient.ID, MessagingType: body.MessagingType, Tag: body.Tag, Text: body.Message.Text})
	if f.hang {
		f.hang = false
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
		return
	}
	f.nextID++
	_ = json.NewEncoder(w).Encode(map[string]string{"recipient_id": body.Recipient.ID, "message_id": "m_AG5Hz2U" + strconv.Itoa(f.nextID)})
}

func (f *fakeGraph) sentMessages() []sentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentMessage(nil), f.sent...)
}

func (f *fakeGraph) failNext(es ...graphError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = append(f.fail, es...)
}

// sign is X-Hub-Signature-256 of body.
func sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// delivery is a webhook body of one text message from psid to the Page,
// as Meta sends it.
func delivery(psid, mid, text string, ms int64) map[string]any {
	return map[string]any{"object": "page", "entry": []any{map[string]any{"id": "104857600", "time": ms, "messaging": []any{
		map[string]any{"sender": map[string]any{"id": psid}, "recipient": map[string]any{"id": "104857600"}, "timestamp": ms,
			"message": map[string]any{"mid": mid, "text": text}}}}}}
}
