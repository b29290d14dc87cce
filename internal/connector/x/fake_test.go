package x_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connector/x"
)

// fakeX is the X API v2 as documented (docs.x.com/x-api): POST
// /2/tweets {"text":…} answers 201 {"data":{"id","text",
// "edit_history_tweet_ids"}}; GET /2/users/me {"data":{"id","name",
// "username"}}; GET /2/users/:id/tweets {"data":[…],"meta":{…}} or
// {"meta":{"result_count":0}}; refusals are problem objects
// {"title","detail","type","status"}, a 429 with x-rate-limit-reset;
// a post repeating a recent one's text is refused 403 "duplicate
// content". Every request must carry a valid OAuth 1.0a signature.
type fakeX struct {
	t    testing.TB
	keys x.Keys
	srv  *httptest.Server

	mu     sync.Mutex
	posts  []x.Tweet // published, oldest first
	posted int       // POST /2/tweets that published
	fail   []failure // next answers of POST /2/tweets
	// hang: the next post is published, or dropped when drop is set,
	// and its answer never comes (the connection is cut).
	hang, drop bool
	// readFail answers GET /2/users/:id/tweets with this (the free
	// tier's reads).
	readFail *failure
	nextID   int64
}

type failure struct {
	Status int
	Title  string
	Detail string
	Reset  int64
}

func newFakeX(t testing.TB) *fakeX {
	f := &fakeX{t: t, keys: x.Keys{ConsumerKey: "ck-xvz1evFS4wEEPTGEFPHBog", ConsumerSecret: "cs-kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3",
		Token: "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9", TokenSecret: "ts-LswwdoUaIvS8ltyTt5jkRh4J50vU"}, nextID: 1445880548472328192}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeX) refuse(w http.ResponseWriter, fl failure) {
	w.Header().Set("Content-Type", "application/problem+json")
	if fl.Reset != 0 {
		w.Header().Set("x-rate-limit-reset", strconv.FormatInt(fl.Reset, 10))
		w.Header().Set("x-rate-limit-remaining", "0")
	}
	w.WriteHeader(fl.Status)
	_ = json.NewEncoder(w).Encode(map[string]any{"title": fl.Title, "detail": fl.Detail, "type": "about:blank", "status": fl.Status})
}

// signed checks the request's OAuth 1.0a header by signing it again.
func (f *fakeX) signed(r *http.Request) bool {
	h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "OAuth ")
	if !ok {
		return false
	}
	p := map[string]string{}
	for _, part := range strings.Split(h, ", ") {
		k, v, _ := strings.Cut(part, "=")
		v, _ = url.QueryUnescape(strings.Trim(v, `"`))
		p[k] = v
	}
	ts, _ := strconv.ParseInt(p["oauth_timestamp"], 10, 64)
	want, err := f.keys.Authorization(r.Method, "http://"+r.Host+r.URL.RequestURI(), time.Unix(ts, 0), p["oauth_nonce"])
	return err == nil && want == r.Header.Get("Authorization")
}

func (f *fakeX) serve(w http.ResponseWriter, r *http.Request) {
	if !f.signed(r) {
		f.refuse(w, failure{Status: 401, Title: "Unauthorized", Detail: "Unauthorized"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/2/users/me":
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]string{"id": "2244994945", "name": "Типография", "username": "ottisk_print"}})
	case r.Method == http.MethodGet && r.URL.Path == "/2/users/2244994945/tweets":
		if f.readFail != nil {
			f.refuse(w, *f.readFail)
			return
		}
		if len(f.posts) == 0 {
			_ = json.NewEncoder(w).Encode(map[string]any{"meta": map[string]any{"result_count": 0}})
			return
		}
		var data []map[string]string
		for i := len(f.posts) - 1; i >= 0; i-- {
			// X shows &, < and > escaped.
			data = append(data, map[string]string{"id": f.posts[i].ID, "text": strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(f.posts[i].Text),
				"edit_history_tweet_ids": f.posts[i].ID})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": data, "meta": map[string]any{"result_count": len(data)}})
	case r.Method == http.MethodPost && r.URL.Path == "/2/tweets":
		var body struct {
			Text string `json:"text"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Text == "" {
			f.refuse(w, failure{Status: 400, Title: "Invalid Request", Detail: "One or more parameters to your request was invalid."})
			return
		}
		if len(f.fail) > 0 {
			fl := f.fail[0]
			f.fail = f.fail[1:]
			f.refuse(w, fl)
			return
		}
		for _, p := range f.posts {
			if p.Text == body.Text {
				f.refuse(w, failure{Status: 403, Title: "Forbidden", Detail: "You are not allowed to create a Tweet with duplicate content."})
				return
			}
		}
		if !(f.hang && f.drop) {
			f.nextID++
			f.posts = append(f.posts, x.Tweet{ID: strconv.FormatInt(f.nextID, 10), Text: body.Text})
			f.posted++
		}
		if f.hang {
			f.hang, f.drop = false, false
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		last := f.posts[len(f.posts)-1]
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"id": last.ID, "text": last.Text, "edit_history_tweet_ids": []string{last.ID}}})
	default:
		f.refuse(w, failure{Status: 404, Title: "Not Found Error", Detail: "Sorry, that page does not exist."})
	}
}

func (f *fakeX) published() []x.Tweet {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]x.Tweet(nil), f.posts...)
}
