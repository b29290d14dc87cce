package vk_test

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

// fakeVK is the VK API as documented (dev.vk.com/ru/api/api-requests,
// dev.vk.com/ru/reference/errors): POST /method/<name> with the
// parameters, access_token and v in a form; every answer is HTTP 200 with
// {"response":…} or {"error":{"error_code":…,"error_msg":…,
// "request_params":[{"key":…,"value":…}]}}. messages.send sends once per
// (peer_id, random_id) and answers the first send's id to a repeat; a
// token over its requests a second (20 a community's, 3 a user's) gets
// error 6.
type fakeVK struct {
	t          testing.TB
	srv        *httptest.Server
	groupToken string
	userToken  string
	groupID    int64

	mu sync.Mutex
	// calls counts the calls of each method.
	calls map[string]int
	// sends are the messages.send calls; delivered the messages sent
	// (one per peer and random_id).
	sends     []fakeSend
	delivered map[string]int64 // "peer/random_id" → message id
	byToken   map[string][]time.Time
	// fail, when set for a method, answers its next calls with these
	// error codes (and consumes them).
	fail map[string][]int
	// hang makes the next messages.send be delivered but never answered
	// (the connection is cut), as a timeout after the request left.
	hang    bool
	history map[int64][]map[string]any // peer → messages, oldest first
	users   map[string]map[string]any  // id and screen name → profile
	closed  map[int64]bool             // users who forbid messages (901)
	nextID  int64
	tooMany int               // error 6 answers given
	uploads map[string]string // upload token → "name:content"
	docs    map[int64]string  // saved documents
	files   map[string][]byte // what userapi.com serves: path → bytes
}

type fakeSend struct {
	Token      string
	Peer       int64
	RandomID   string
	Text       string
	Attachment string
}

func newFakeVK(t testing.TB) *fakeVK {
	f := &fakeVK{t: t, groupToken: "vk1.a.community-key-of-the-test-shop", userToken: "vk1.a.user-token-of-the-manager", groupID: 229000111,
		calls: map[string]int{}, delivered: map[string]int64{}, byToken: map[string][]time.Time{}, fail: map[string][]int{},
		history: map[int64][]map[string]any{}, users: map[string]map[string]any{}, closed: map[int64]bool{}, nextID: 1000,
		uploads: map[string]string{}, docs: map[int64]string{}, files: map[string][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

var errorMsgs = map[int]string{
	5:   "User authorization failed: invalid access_token (4).",
	6:   "Too many requests per second",
	7:   "Permission to perform this action is denied",
	9:   "Flood control",
	10:  "Internal server error",
	14:  "Captcha needed",
	15:  "Access denied: no access to call this method",
	100: "One of the parameters specified was missing or invalid: peer_id is undefined",
	113: "Invalid user id",
	901: "Can't send messages for users without permission",
	902: "Can't send messages to this user due to their privacy settings",
}

func (f *fakeVK) refuse(w http.ResponseWriter, r *http.Request, code int) {
	params := []map[string]string{}
	for k, vs := range r.PostForm {
		if k == "access_token" {
			continue
		}
		params = append(params, map[string]string{"key": k, "value": vs[0]})
	}
	params = append(params, map[string]string{"key": "method", "value": strings.TrimPrefix(r.URL.Path, "/method/")})
	e := map[string]any{"error_code": code, "error_msg": errorMsgs[code], "request_params": params}
	if code == 14 {
		e["captcha_sid"] = "548711239467"
		e["captcha_img"] = "https://api.vk.com/captcha.php?sid=548711239467&s=1"
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

func (f *fakeVK) answer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"response": v})
}

func (f *fakeVK) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/upload" {
		// The upload server: a multipart "file" → {"file":"…"}.
		file, hdr, err := r.FormFile("file")
		if err != nil {
			_ = json.NewEncoder(w).Encode(map[string]any{"error": "no file"})
			return
		}
		b, _ := io.ReadAll(file)
		f.mu.Lock()
		f.nextID++
		tok := "upl" + strconv.FormatInt(f.nextID, 10)
		f.uploads[tok] = hdr.Filename + ":" + string(b)
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"file": tok})
		return
	}
	if strings.HasPrefix(r.URL.Path, "/files/") && r.Method == http.MethodGet {
		// A profile's photo or an attachment as userapi.com serves it.
		f.mu.Lock()
		b, ok := f.files[r.URL.Path]
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(b)
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/method/")
	if r.Method != http.MethodPost || !ok {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("access_token") != "" {
		f.t.Errorf("%s: the access token is in the URL", method)
	}
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("%s: %v", method, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	tok := r.PostForm.Get("access_token")
	if tok != f.groupToken && tok != f.userToken {
		f.refuse(w, r, 5)
		return
	}
	if r.PostForm.Get("v") != "5.199" {
		f.t.Errorf("%s: v=%q", method, r.PostForm.Get("v"))
	}
	// The documented limits: 20 requests a second to a community key, 3
	// to a user's.
	limit := 20
	if tok == f.userToken {
		limit = 3
	}
	now := time.Now()
	recent := f.byToken[tok][:0]
	for _, at := range f.byToken[tok] {
		if now.Sub(at) < time.Second {
			recent = append(recent, at)
		}
	}
	f.byToken[tok] = append(recent, now)
	if len(recent) >= limit {
		f.tooMany++
		f.refuse(w, r, 6)
		return
	}
	if fs := f.fail[method]; len(fs) > 0 {
		f.fail[method] = fs[1:]
		f.refuse(w, r, fs[0])
		return
	}
	switch method {
	case "groups.getById":
		if tok != f.groupToken {
			f.refuse(w, r, 15)
			return
		}
		f.answer(w, map[string]any{"groups": []map[string]any{{"id": f.groupID, "name": "Магазин", "screen_name": "shop"}}, "profiles": []any{}})
	case "messages.send":
		peer, err := strconv.ParseInt(r.PostForm.Get("peer_id"), 10, 64)
		rid := r.PostForm.Get("random_id")
		if err != nil || peer == 0 || rid == "" {
			f.refuse(w, r, 100)
			return
		}
		f.sends = append(f.sends, fakeSend{Token: tok, Peer: peer, RandomID: rid, Text: r.PostForm.Get("message"),
			Attachment: r.PostForm.Get("attachment")})
		if f.closed[peer] {
			f.refuse(w, r, 901)
			return
		}
		key := strconv.FormatInt(peer, 10) + "/" + rid
		id, seen := f.delivered[key]
		if !seen || rid == "0" {
			f.nextID++
			id = f.nextID
			f.delivered[key] = id
			rnd, _ := strconv.ParseInt(rid, 10, 32)
			f.history[peer] = append(f.history[peer], map[string]any{"id": id, "date": now.Unix(), "peer_id": peer, "from_id": -f.groupID,
				"out": 1, "text": r.PostForm.Get("message"), "random_id": rnd})
		}
		if f.hang {
			f.hang = false
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
			return
		}
		f.answer(w, id)
	case "docs.getMessagesUploadServer":
		if r.PostForm.Get("type") != "doc" || r.PostForm.Get("peer_id") == "" {
			f.refuse(w, r, 100)
			return
		}
		f.answer(w, map[string]any{"upload_url": f.srv.URL + "/upload"})
	case "docs.save":
		up, ok := f.uploads[r.PostForm.Get("file")]
		if !ok {
			f.refuse(w, r, 100)
			return
		}
		f.nextID++
		f.docs[f.nextID] = up
		f.answer(w, map[string]any{"type": "doc", "doc": map[string]any{"id": f.nextID, "owner_id": -f.groupID,
			"title": r.PostForm.Get("title"), "size": len(up), "ext": "pdf", "url": "https://vk.com/doc"}})
	case "messages.getHistory":
		peer, _ := strconv.ParseInt(r.PostForm.Get("peer_id"), 10, 64)
		count, _ := strconv.Atoi(r.PostForm.Get("count"))
		if count <= 0 || count > 200 {
			count = 20
		}
		all := f.history[peer]
		items := []map[string]any{}
		for i := len(all) - 1; i >= 0 && len(items) < count; i-- {
			items = append(items, all[i])
		}
		f.answer(w, map[string]any{"count": len(all), "items": items})
	case "utils.resolveScreenName":
		// dev.vk.com/ru/method/utils.resolveScreenName: {"type":…,
		// "object_id":…}, or an empty array for a name no one has.
		name := r.PostForm.Get("screen_name")
		if u, ok := f.users[name]; ok {
			f.answer(w, map[string]any{"type": "user", "object_id": u["id"]})
			return
		}
		if name == "testshop" {
			f.answer(w, map[string]any{"type": "group", "object_id": f.groupID})
			return
		}
		f.answer(w, []any{})
	case "users.get":
		var out []map[string]any
		for _, id := range strings.Split(r.PostForm.Get("user_ids"), ",") {
			u, ok := f.users[id]
			if !ok {
				f.refuse(w, r, 113)
				return
			}
			out = append(out, u)
		}
		f.answer(w, out)
	default:
		f.refuse(w, r, 3)
	}
}

func (f *fakeVK) failNext(method string, codes ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = append(f.fail[method], codes...)
}

func (f *fakeVK) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// deliveries counts the messages delivered to peer.
func (f *fakeVK) deliveries(peer int64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k := range f.delivered {
		if strings.HasPrefix(k, strconv.FormatInt(peer, 10)+"/") {
			n++
		}
	}
	return n
}

func (f *fakeVK) sendCalls() []fakeSend {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeSend(nil), f.sends...)
}

// addUser adds a profile users.get knows by id and screen name.
func (f *fakeVK) addUser(u map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := strconv.FormatInt(u["id"].(int64), 10)
	f.users[id] = u
	if sn, _ := u["screen_name"].(string); sn != "" {
		f.users[sn] = u
	}
}

// addHistory adds n messages from the client (peer) to the conversation.
func (f *fakeVK) addHistory(peer int64, n int, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < n; i++ {
		f.nextID++
		f.history[peer] = append(f.history[peer], map[string]any{"id": f.nextID, "date": 1765000000 + f.nextID, "peer_id": peer,
			"from_id": peer, "out": 0, "text": text + " " + strconv.FormatInt(f.nextID, 10)})
	}
}

// addFile makes the fake serve b at path (/files/…) and returns its URL.
func (f *fakeVK) addFile(path string, b []byte) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[path] = b
	return f.srv.URL + path
}
