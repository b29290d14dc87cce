package telephony_test

import (
	"bufio"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// zadarmaFake answers as Zadarma's API does: the signature is checked as
// Zadarma computes it (the query's parameters sorted, URL-encoded, the
// hex HMAC-SHA1 of method+query+md5(query), base64), a wrong one is 401
// "Not authorized"; /v1/request/callback/ answers success with from, to
// and time, or an error with its message for a number it refuses.
type zadarmaFake struct {
	*httptest.Server
	key, secret string

	mu        sync.Mutex
	callbacks []url.Values
	balance   int
}

func newZadarmaFake(t *testing.T, key, secret string) *zadarmaFake {
	f := &zadarmaFake{key: key, secret: secret}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *zadarmaFake) sign(method string, q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(q.Get(k)))
	}
	s := strings.Join(parts, "&")
	m5 := md5.Sum([]byte(s))
	h := hmac.New(sha1.New, []byte(f.secret))
	h.Write([]byte(method + s + hex.EncodeToString(m5[:])))
	return f.key + ":" + base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(h.Sum(nil))))
}

func (f *zadarmaFake) answer(w http.ResponseWriter, code int, v map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *zadarmaFake) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Header.Get("Authorization") != f.sign(r.URL.Path, q) {
		f.answer(w, http.StatusUnauthorized, map[string]any{"status": "error", "message": "Not authorized"})
		return
	}
	switch r.URL.Path {
	case "/v1/info/balance/":
		f.mu.Lock()
		f.balance++
		f.mu.Unlock()
		f.answer(w, 200, map[string]any{"status": "success", "balance": 10.34, "currency": "USD"})
	case "/v1/request/callback/":
		from, to := q.Get("from"), q.Get("to")
		switch {
		case from == "" || to == "":
			f.answer(w, 400, map[string]any{"status": "error", "message": "Required parameters missing"})
		case strings.HasPrefix(to, "+7999"):
			f.answer(w, 200, map[string]any{"status": "error", "message": "Insufficient funds for the call to " + to})
		default:
			f.mu.Lock()
			f.callbacks = append(f.callbacks, q)
			f.mu.Unlock()
			f.answer(w, 200, map[string]any{"status": "success", "from": from, "to": to, "time": 1733400000})
		}
	case "/v1/pbx/record/request/":
		// As documented: a call_id gives one link, living lifetime seconds.
		id := q.Get("call_id")
		if id == "" || q.Get("lifetime") == "" {
			f.answer(w, 400, map[string]any{"status": "error", "message": "Required parameters missing"})
			return
		}
		f.answer(w, 200, map[string]any{"status": "success", "link": "https://api.zadarma.com/v1/pbx/record/download/" + url.PathEscape(id) + "/rec.mp3",
			"lifetime_till": "2027-02-03 12:00:00"})
	default:
		f.answer(w, 404, map[string]any{"status": "error", "message": "Method not found"})
	}
}

func (f *zadarmaFake) ordered() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.callbacks...)
}

// amiFake speaks the Asterisk Manager Interface: the banner, "Key: value"
// lines ended by a blank line, Login ("Authentication failed" for a wrong
// secret), Originate in the contexts it knows ("Extension does not
// exist." elsewhere), an event in between, Logoff.
type amiFake struct {
	ln             net.Listener
	user, secret   string
	contexts       map[string]bool
	mu             sync.Mutex
	originates     []map[string]string
	logins, logoff int
	// sessions are the logged-in links, each with its write lock: events
	// are pushed to them (emit) while they are being answered.
	sessions map[net.Conn]*sync.Mutex
}

func newAMIFake(t *testing.T, user, secret string) *amiFake {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &amiFake{ln: ln, user: user, secret: secret, contexts: map[string]bool{"from-internal": true}}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	return f
}

func (f *amiFake) port() int { return f.ln.Addr().(*net.TCPAddr).Port }

func (f *amiFake) serve(raw net.Conn) {
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	wmu := &sync.Mutex{}
	c := lockedWriter{raw, wmu}
	defer func() {
		f.mu.Lock()
		delete(f.sessions, raw)
		f.mu.Unlock()
	}()
	r := bufio.NewReader(raw)
	fmt.Fprint(c, "Asterisk Call Manager/9.0.0\r\n")
	authed := false
	for {
		m := map[string]string{}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				break
			}
			k, v, _ := strings.Cut(line, ": ")
			m[k] = v
		}
		id := m["ActionID"]
		reply := func(resp, msg string) {
			fmt.Fprintf(c, "Response: %s\r\nActionID: %s\r\nMessage: %s\r\n\r\n", resp, id, msg)
		}
		switch m["Action"] {
		case "Login":
			f.mu.Lock()
			f.logins++
			f.mu.Unlock()
			if m["Username"] != f.user || m["Secret"] != f.secret {
				reply("Error", "Authentication failed")
				return
			}
			authed = true
			reply("Success", "Authentication accepted")
			f.mu.Lock()
			if f.sessions == nil {
				f.sessions = map[net.Conn]*sync.Mutex{}
			}
			f.sessions[raw] = wmu
			f.mu.Unlock()
			fmt.Fprint(c, "Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n")
		case "Originate":
			switch {
			case !authed:
				reply("Error", "Permission denied")
			case !f.contexts[m["Context"]]:
				reply("Error", "Extension does not exist.")
			default:
				f.mu.Lock()
				f.originates = append(f.originates, m)
				f.mu.Unlock()
				reply("Success", "Originate successfully queued")
			}
		case "Ping":
			fmt.Fprintf(c, "Response: Success\r\nActionID: %s\r\nPing: Pong\r\nTimestamp: 1733400000.000000\r\n\r\n", id)
		case "Logoff":
			f.mu.Lock()
			f.logoff++
			f.mu.Unlock()
			fmt.Fprintf(c, "Response: Goodbye\r\nActionID: %s\r\nMessage: Thanks for all the fish.\r\n\r\n", id)
			return
		default:
			reply("Error", "Invalid/unknown command")
		}
	}
}

func (f *amiFake) calls() []map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]string(nil), f.originates...)
}

type lockedWriter struct {
	c  net.Conn
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.c.Write(p)
}

// listening is how many links are logged in.
func (f *amiFake) listening() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sessions)
}

// emit pushes an event ("Key: value" pairs) to every logged-in link.
func (f *amiFake) emit(kv ...string) {
	var b strings.Builder
	for i := 0; i < len(kv); i += 2 {
		b.WriteString(kv[i] + ": " + kv[i+1] + "\r\n")
	}
	b.WriteString("\r\n")
	f.mu.Lock()
	defer f.mu.Unlock()
	for c, mu := range f.sessions {
		_, _ = lockedWriter{c, mu}.Write([]byte(b.String()))
	}
}

// drop cuts every logged-in link, as a restarted Asterisk does.
func (f *amiFake) drop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.sessions {
		_ = c.Close()
		delete(f.sessions, c)
	}
}
