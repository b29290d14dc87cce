package action

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// actionsWith registers the actions over client, without a database (the
// HTTP and flow actions need none).
func actionsWith(t *testing.T, client *http.Client) *env {
	t.Helper()
	return newEnv(t, &store.Store{}, crm.Actor{UserID: 1}, client)
}

// seen is a request a test server received.
type seen struct {
	method, path, query, body string
	header                    http.Header
}

// recorder is a test server that records requests and answers with
// answer (default: 200 with a JSON echo).
type recorder struct {
	mu     sync.Mutex
	got    []seen
	answer func(w http.ResponseWriter, r *http.Request)
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, seen{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, body: string(b), header: r.Header.Clone()})
	rc.mu.Unlock()
	if rc.answer != nil {
		rc.answer(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Add("X-Trace", "first")
	w.Header().Add("X-Trace", "second")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "n": 5, "method": r.Method})
}

func (rc *recorder) last(t *testing.T) seen {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.got) == 0 {
		t.Fatal("no request arrived")
	}
	return rc.got[len(rc.got)-1]
}

func (rc *recorder) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

func serve(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) (*recorder, string) {
	rc := &recorder{answer: answer}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv.URL
}

func TestHTTPRequest(t *testing.T) {
	t.Parallel()
	e := actionsWith(t, httpx.NewOutboundClient(loopback))
	rc, base := serve(t, nil)

	t.Run("get with query", func(t *testing.T) {
		e.t = t
		out := e.ok(e.call(), "http.request", map[string]any{"url": base + "/items?a=1&b=2",
			"query": map[string]any{"b": int64(3), "c": []any{"x", "y"}, "d": true}})
		got := rc.last(t)
		if got.method != "GET" || got.path != "/items" || got.query != "a=1&b=3&c=x&c=y&d=true" || got.body != "" {
			t.Errorf("request: %+v", got)
		}
		body, _ := out["body"].(map[string]any)
		headers, _ := out["headers"].(map[string]any)
		if out["status"] != int64(200) || out["ok"] != true || body["n"] != int64(5) ||
			headers["content-type"] != "application/json; charset=utf-8" || headers["x-trace"] != "first" || out["truncated"] != nil {
			t.Errorf("output: %v", out)
		}
		if ua := got.header.Get("User-Agent"); ua != "Obmen-Automation/1" {
			t.Errorf("user agent %q", ua)
		}
	})
	t.Run("json body", func(t *testing.T) {
		e.t = t
		e.ok(e.call(), "http.request", map[string]any{"method": "post", "url": base + "/orders",
			"body": map[string]any{"id": int64(17), "items": []any{"a", "b"}, "sum": 10.5}})
		got := rc.last(t)
		var sent map[string]any
		if err := json.Unmarshal([]byte(got.body), &sent); err != nil || got.method != "POST" || got.header.Get("Content-Type") != "application/json" ||
			sent["id"] != 17.0 || sent["sum"] != 10.5 {
			t.Errorf("request: %+v %v", got, err)
		}
	})
	t.Run("form body", func(t *testing.T) {
		e.t = t
		e.ok(e.call(), "http.request", map[string]any{"method": "PUT", "url": base + "/form", "body_type": "form",
			"body": map[string]any{"name": "Иван Петров", "tags": []any{"a", "b"}, "n": int64(3)}})
		got := rc.last(t)
		if got.header.Get("Content-Type") != "application/x-www-form-urlencoded" || got.body != "n=3&name=%D0%98%D0%B2%D0%B0%D0%BD+%D0%9F%D0%B5%D1%82%D1%80%D0%BE%D0%B2&tags=a&tags=b" {
			t.Errorf("request: %+v", got)
		}
	})
	t.Run("raw body", func(t *testing.T) {
		e.t = t
		e.ok(e.call(), "http.request", map[string]any{"method": "PATCH", "url": base + "/raw", "body": "<order id=\"1\"/>",
			"headers": map[string]any{"Content-Type": "application/xml", "X-Request-Id": int64(42)}})
		got := rc.last(t)
		if got.body != `<order id="1"/>` || got.header.Get("Content-Type") != "application/xml" || got.header.Get("X-Request-Id") != "42" {
			t.Errorf("request: %+v", got)
		}
		e.ok(e.call(), "http.request", map[string]any{"method": "POST", "url": base + "/raw", "body": "просто текст"})
		if got := rc.last(t); got.header.Get("Content-Type") != "text/plain; charset=utf-8" || got.body != "просто текст" {
			t.Errorf("request: %+v", got)
		}
	})
	t.Run("basic and bearer", func(t *testing.T) {
		e.t = t
		e.ok(e.call(), "http.request", map[string]any{"url": base, "auth": map[string]any{"type": "basic", "username": "shop", "password": "p@ss"}})
		r := http.Request{Header: rc.last(t).header}
		if u, p, ok := r.BasicAuth(); !ok || u != "shop" || p != "p@ss" {
			t.Errorf("basic: %q %q %v", u, p, ok)
		}
		// auth wins over a header of the same name.
		e.ok(e.call(), "http.request", map[string]any{"url": base, "headers": map[string]any{"Authorization": "Basic old"},
			"auth": map[string]any{"type": "bearer", "token": "tok-123"}})
		if got := rc.last(t).header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer tok-123" {
			t.Errorf("bearer: %v", got)
		}
	})
	t.Run("head", func(t *testing.T) {
		e.t = t
		out := e.ok(e.call(), "http.request", map[string]any{"method": "HEAD", "url": base})
		if out["status"] != int64(200) || out["body"] != "" || rc.last(t).method != "HEAD" {
			t.Errorf("head: %v", out)
		}
	})
	t.Run("text answer", func(t *testing.T) {
		e.t = t
		_, url := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<p>Принято</p>")
		})
		if out := e.ok(e.call(), "http.request", map[string]any{"url": url}); out["body"] != "<p>Принято</p>" {
			t.Errorf("text: %v", out)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		e.t = t
		for _, c := range []struct {
			in    map[string]any
			field string
		}{
			{map[string]any{}, "url"},
			{map[string]any{"url": "ftp://example.ru/file"}, "url"},
			{map[string]any{"url": "/relative"}, "url"},
			{map[string]any{"url": base, "method": "TRACE"}, "method"},
			{map[string]any{"url": base, "timeout_seconds": int64(500)}, "timeout_seconds"},
			{map[string]any{"url": base, "body_type": "xml", "body": "x"}, "body_type"},
			{map[string]any{"url": base, "body_type": "form", "body": "a=1"}, "body"},
			{map[string]any{"url": base, "body_type": "raw", "body": map[string]any{"a": int64(1)}}, "body"},
			{map[string]any{"url": base, "headers": map[string]any{"Bad Header": "x"}}, "headers.Bad Header"},
			{map[string]any{"url": base, "headers": map[string]any{"X-A": "x\r\nInjected: 1"}}, "headers.X-A"},
			{map[string]any{"url": base, "query": map[string]any{"q": map[string]any{"a": int64(1)}}}, "query.q"},
			{map[string]any{"url": base, "auth": map[string]any{"type": "basic"}}, "auth.username"},
			{map[string]any{"url": base, "auth": map[string]any{"type": "bearer"}}, "auth.token"},
			{map[string]any{"url": base, "auth": map[string]any{"type": "digest"}}, "auth.type"},
			{map[string]any{"url": base, "proxy": "x"}, "proxy"},
		} {
			e.fails(e.call(), "http.request", c.in, c.field)
		}
	})
	t.Run("test mode sends nothing", func(t *testing.T) {
		e.t = t
		n := rc.count()
		out, err := e.run(e.dry(), "http.request", map[string]any{"method": "POST", "url": "https://user:secret@example.ru/hook?token=abc&x=1",
			"headers": map[string]any{"X-Api-Key": "k-1", "Accept": "application/json"}, "auth": map[string]any{"type": "bearer", "token": "tok"},
			"body": map[string]any{"a": int64(1)}})
		if err != nil {
			t.Fatal(err)
		}
		send := wantPreview(t, out, "POST https://user:***@example.ru/hook?token=***&x=1")
		h, _ := send["headers"].(map[string]any)
		if h["Authorization"] != mask || h["X-Api-Key"] != mask || h["Accept"] != "application/json" || send["method"] != "POST" {
			t.Errorf("preview: %v", send)
		}
		if rc.count() != n {
			t.Error("test mode sent a request")
		}
	})
}

// transientAfter checks err is worth retrying after after.
func transientAfter(t *testing.T, err error, after time.Duration, slack time.Duration) {
	t.Helper()
	ok, d := automation.IsTransient(err)
	if !ok || d < after-slack || d > after+slack {
		t.Fatalf("want transient after %s, got %v, %s: %v", after, ok, d, err)
	}
}

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	e := actionsWith(t, httpx.NewOutboundClient(loopback))
	status := func(code int, header ...string) string {
		_, url := serve(t, func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			w.WriteHeader(code)
			_, _ = io.WriteString(w, `{"error": "  что-то
				пошло не так  "}`+strings.Repeat(" x", 300))
		})
		return url
	}
	run := func(url string) error {
		_, err := e.run(e.call(), "http.request", map[string]any{"url": url})
		return err
	}

	err := run(status(404))
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 404 || !strings.Contains(err.Error(), `HTTP 404 Not Found: {"error": " что-то пошло не так "}`) || !strings.HasSuffix(err.Error(), "…") {
		t.Errorf("404: %v", err)
	}
	if ok, _ := automation.IsTransient(err); ok {
		t.Errorf("404 is final: %v", err)
	}
	transientAfter(t, run(status(500)), 0, 0)
	transientAfter(t, run(status(502)), 0, 0)
	transientAfter(t, run(status(408)), 0, 0)
	transientAfter(t, run(status(503, "Retry-After", "120")), 120*time.Second, 0)
	transientAfter(t, run(status(429, "Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))), 90*time.Second, 2*time.Second)
	transientAfter(t, run(status(429, "Retry-After", "999999")), time.Hour, 0)
	transientAfter(t, run(status(429, "Retry-After", "soon")), 0, 0)
	transientAfter(t, run(status(429)), 0, 0)
	if ok, _ := automation.IsTransient(run(status(400))); ok {
		t.Error("400 is final")
	}

	t.Run("timeout", func(t *testing.T) {
		e.t = t
		release := make(chan struct{})
		_, url := serve(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
		})
		defer close(release)
		start := time.Now()
		_, err := e.run(e.call(), "http.request", map[string]any{"url": url, "timeout_seconds": int64(1)})
		transientAfter(t, err, 0, 0)
		if d := time.Since(start); d > 5*time.Second || !strings.Contains(err.Error(), "no answer within 1s") {
			t.Errorf("after %s: %v", d, err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		e.t = t
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		_, err := e.run(e.call(), "http.request", map[string]any{"url": url})
		transientAfter(t, err, 0, 0)
	})
	t.Run("run stopped", func(t *testing.T) {
		e.t = t
		_, url := serve(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		a, _ := e.reg.Action("http.request")
		if _, err := a.Run(ctx, e.call(), map[string]any{"url": url}); !errors.Is(err, context.Canceled) {
			t.Errorf("stopped: %v", err)
		}
	})
	t.Run("response cap", func(t *testing.T) {
		e.t = t
		for _, ctype := range []string{"text/plain", "application/json"} {
			_, url := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", ctype)
				_, _ = io.WriteString(w, `"`+strings.Repeat("я", maxResponse/2+50)+`"`)
			})
			out := e.ok(e.call(), "http.request", map[string]any{"url": url})
			body, _ := out["body"].(string)
			if out["truncated"] != true || len(body) > maxResponse+3 || len(body) < maxResponse-3 {
				t.Errorf("%s: truncated %v, %d bytes", ctype, out["truncated"], len(body))
			}
		}
	})
}

// The SSRF guard's refusals are final errors naming the URL: a private
// address, and a redirect from an allowed one to a refused one.
func TestHTTPBlocked(t *testing.T) {
	t.Parallel()
	policy := loopback
	policy.AllowCIDRs = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	e := actionsWith(t, httpx.NewOutboundClient(policy))
	target, turl := serve(t, nil)
	_, port, _ := strings.Cut(strings.TrimPrefix(turl, "http://"), ":")
	_, redirect := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.2:"+port+"/inside", http.StatusFound)
	})
	for _, url := range []string{redirect + "/out", "http://10.0.0.1:8080/hook"} {
		for _, name := range []string{"http.request", "webhook.send"} {
			in := map[string]any{"url": url}
			if name == "webhook.send" {
				in["secret"], in["event"] = "s", "x"
			}
			_, err := e.run(e.call(), name, in)
			var be *httpx.BlockedError
			if !errors.As(err, &be) || !strings.Contains(err.Error(), "refused") {
				t.Errorf("%s %s: %v", name, url, err)
			}
			if ok, _ := automation.IsTransient(err); ok {
				t.Errorf("%s %s: a refusal is final", name, url)
			}
		}
	}
	if _, err := e.run(e.call(), "http.request", map[string]any{"url": redirect + "/out"}); err == nil || !strings.Contains(err.Error(), "127.0.0.2") {
		t.Errorf("the refused address is not named: %v", err)
	}
	if target.count() != 0 {
		t.Error("the redirect was followed")
	}
}

func TestHTTPRedact(t *testing.T) {
	t.Parallel()
	e := actionsWith(t, http.DefaultClient)
	a, _ := e.reg.Action("http.request")
	r, ok := a.(automation.Redactor)
	if !ok {
		t.Fatal("http.request is no Redactor")
	}
	in := map[string]any{
		"url": "https://shop:pw@example.ru/api?api_key=k&page=2",
		"headers": map[string]any{"Authorization": "Bearer t", "Cookie": "s=1", "X-Api-Key": "k", "X-Auth-Token": "t",
			"Accept": "application/json", "X-Request-Id": "17"},
		"query":     map[string]any{"access_token": "t", "page": int64(2)},
		"auth":      map[string]any{"type": "basic", "username": "shop", "password": "pw"},
		"body_type": "form",
		"body":      map[string]any{"client_secret": "s", "name": "Иван"},
	}
	out := r.Redact(in).(map[string]any)
	h := out["headers"].(map[string]any)
	q := out["query"].(map[string]any)
	auth := out["auth"].(map[string]any)
	body := out["body"].(map[string]any)
	if out["url"] != "https://shop:***@example.ru/api?api_key=***&page=2" {
		t.Errorf("url: %v", out["url"])
	}
	for _, k := range []string{"Authorization", "Cookie", "X-Api-Key", "X-Auth-Token"} {
		if h[k] != mask {
			t.Errorf("header %s: %v", k, h[k])
		}
	}
	if h["Accept"] != "application/json" || h["X-Request-Id"] != "17" || q["access_token"] != mask || q["page"] != int64(2) ||
		auth["password"] != mask || auth["username"] != "shop" || body["client_secret"] != mask || body["name"] != "Иван" {
		t.Errorf("redacted: %v", out)
	}
	// The input itself is left as it was.
	if in["headers"].(map[string]any)["Authorization"] != "Bearer t" || in["auth"].(map[string]any)["password"] != "pw" {
		t.Error("Redact changed its input")
	}
	// The description marks the secrets of auth.
	for _, f := range a.Describe().Input {
		if f.Name == "auth" {
			for _, sf := range f.Fields {
				if (sf.Name == "password" || sf.Name == "token") != sf.Secret {
					t.Errorf("auth.%s secret %v", sf.Name, sf.Secret)
				}
			}
		}
	}
}
