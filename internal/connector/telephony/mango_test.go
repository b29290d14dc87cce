package telephony_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/telephony"
	"github.com/obmen/obmen/internal/httpx"
)

// mangoFake answers as Mango Office's VPBX API (API Mango Office v1.9):
// the form fields vpbx_api_key, sign and json, sign = hex sha256(key +
// json + salt) (§2.4.3); commands/callback takes command_id, from.extension
// (required), to_number and line_number, and answers result 1000 when
// accepted, 3100 for parameters it cannot carry out (§3.2.1). The 401
// with 3102 for a wrong sign stands for any of Mango's refusals; the
// connector reports whichever it gets.
type mangoFake struct {
	*httptest.Server
	key, salt string
	mu        sync.Mutex
	commands  []map[string]any
}

func newMangoFake(t *testing.T, key, salt string) *mangoFake {
	f := &mangoFake{key: key, salt: salt}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *mangoFake) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		http.Error(w, "bad request", 400)
		return
	}
	js := r.PostForm.Get("json")
	h := sha256.Sum256([]byte(f.key + js + f.salt))
	if r.PostForm.Get("vpbx_api_key") != f.key || r.PostForm.Get("sign") != hex.EncodeToString(h[:]) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"result":3102}`))
		return
	}
	var cmd map[string]any
	if json.Unmarshal([]byte(js), &cmd) != nil {
		_, _ = w.Write([]byte(`{"result":3101}`))
		return
	}
	switch r.URL.Path {
	case "/vpbx/config/users/request":
		_, _ = w.Write([]byte(`{"users":[{"general":{"name":"Иван"},"telephony":{"extension":"101"}}]}`))
	case "/vpbx/commands/callback":
		from, _ := cmd["from"].(map[string]any)
		id, _ := cmd["command_id"].(string)
		if to, _ := cmd["to_number"].(string); to == "" || len(id) > 128 {
			_, _ = w.Write([]byte(`{"result":3100,"message":"bad parameters"}`))
			return
		}
		if from["extension"] != "101" {
			_, _ = w.Write([]byte(`{"result":3100,"message":"no such extension"}`))
			return
		}
		f.mu.Lock()
		f.commands = append(f.commands, cmd)
		f.mu.Unlock()
		_, _ = w.Write([]byte(`{"result":1000}`))
	default:
		http.NotFound(w, r)
	}
}

func TestMangoAdapter(t *testing.T) {
	f := newMangoFake(t, "vpbxkey", "salt1")
	hc := httpx.NewOutboundClient(loopback)
	for _, tc := range []struct {
		name, salt, line, refused string
	}{
		{"ordered", "salt1", "101", ""},
		{"wrong salt", "other", "101", "result 3102"},
		{"unknown extension", "salt1", "555", "result 3100: no such extension"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := telephony.Mango{Account: telephony.MangoAccount{Key: "vpbxkey", Salt: tc.salt, URL: f.URL + "/vpbx", Line: "+74950000000"}, HTTP: hc}
			id, err := m.Callback(context.Background(), telephony.Request{Line: tc.line, Phone: "+79256424290", ID: "step-key"})
			var r *telephony.Refused
			if tc.refused != "" {
				if !errors.As(err, &r) || r.Message != tc.refused {
					t.Fatalf("error %v, want a refusal %q", err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			cmd := f.commands[len(f.commands)-1]
			f.mu.Unlock()
			if cmd["command_id"] != id || cmd["to_number"] != "79256424290" || cmd["line_number"] != "74950000000" {
				t.Fatalf("command %v, id %s", cmd, id)
			}
		})
	}
	for _, tc := range []struct {
		salt, class string
	}{{"salt1", ""}, {"other", connection.ClassCredentials}} {
		err := telephony.Mango{Account: telephony.MangoAccount{Key: "vpbxkey", Salt: tc.salt, URL: f.URL + "/vpbx"}, HTTP: hc}.Check(context.Background())
		if (tc.class == "" && err != nil) || (tc.class != "" && connection.Classify(err) != tc.class) {
			t.Fatalf("check with %s: %v", tc.salt, err)
		}
	}
}
