package bitrix_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/bitrix"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// msk is the zone answers are given in: Moscow, without tzdata.
var msk = time.FixedZone("MSK", 3*3600)

// env is the API over loopback HTTP on a real database, with a webhook
// of the admin user.
type env struct {
	t      testing.TB
	d      *db.DB
	s      *store.Store
	h      *bitrix.Handler
	srv    *httptest.Server
	admin  crm.Actor
	hook   bitrix.Webhook
	base   string // https://host/rest/{user_id}/{code}/
	client *http.Client
}

func newEnv(t testing.TB, d *db.DB, scopes ...string) *env {
	t.Helper()
	if len(scopes) == 0 {
		scopes = []string{"crm", "user"}
	}
	s := store.New(d)
	admin := storetest.Admin(t, s)
	h := bitrix.New(d, s, slog.New(slog.NewTextHandler(io.Discard, nil)), bitrix.Options{Location: msk})
	hook, code, err := h.Webhooks().CreateWebhook(context.Background(), admin.UserID, "test", scopes)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/rest/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, d: d, s: s, h: h, srv: srv, admin: admin, hook: hook, client: srv.Client(),
		base: fmt.Sprintf("%s/rest/%d/%s/", srv.URL, admin.UserID, code)}
}

// eachEnv runs fn on every engine.
func eachEnv(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, d *db.DB) { fn(t, newEnv(t, d)) })
}

// with returns the env reporting to t (a subtest).
func (e *env) with(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

// answer is a decoded reply.
type answer struct {
	Status int
	Body   []byte
	Doc    *bitrix.Array
}

// get finds a value by a path of keys.
func (a answer) get(t testing.TB, path ...string) any {
	t.Helper()
	v, ok := a.Doc.Lookup(path...)
	if !ok {
		t.Fatalf("no %v in %s", path, a.Body)
	}
	return v
}

func (a answer) str(t testing.TB, path ...string) string {
	t.Helper()
	switch v := a.get(t, path...).(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func (e *env) do(req *http.Request) answer {
	e.t.Helper()
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	doc, err := bitrix.DecodeJSON(b)
	if err != nil {
		e.t.Fatalf("%s %s: answer is not a JSON object: %v: %s", req.Method, req.URL, err, b)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Fatalf("Content-Type %q", ct)
	}
	return answer{Status: res.StatusCode, Body: b, Doc: doc}
}

// get calls a method with GET and a raw query string.
func (e *env) get(method, query string) answer {
	e.t.Helper()
	u := e.base + method + ".json"
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(req)
}

// form calls a method with a form-encoded POST body.
func (e *env) form(method, body string) answer {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.base+method, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req)
}

// json calls a method with a JSON body (a string or a value to encode).
func (e *env) json(method string, body any) answer {
	e.t.Helper()
	var b []byte
	switch x := body.(type) {
	case string:
		b = []byte(x)
	default:
		var err error
		if b, err = json.Marshal(x); err != nil {
			e.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, e.base+method, bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return e.do(req)
}

// raw calls any path on the server.
func (e *env) raw(method, path string) answer {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(req)
}

func (e *env) ok(a answer) answer {
	e.t.Helper()
	if a.Status != http.StatusOK {
		e.t.Fatalf("status %d: %s", a.Status, a.Body)
	}
	if _, ok := a.Doc.Get("error"); ok {
		e.t.Fatalf("error answer: %s", a.Body)
	}
	checkTime(e.t, a.Doc)
	return a
}

// fails checks an error answer.
func (e *env) fails(a answer, status int, code, descPart string) {
	e.t.Helper()
	if a.Status != status {
		e.t.Fatalf("status %d, want %d: %s", a.Status, status, a.Body)
	}
	got, _ := a.Doc.Get("error")
	if got != code {
		e.t.Fatalf("error %q, want %q: %s", got, code, a.Body)
	}
	desc, _ := a.Doc.Get("error_description")
	if s, _ := desc.(string); !strings.Contains(s, descPart) {
		e.t.Fatalf("error_description %q does not contain %q", s, descPart)
	}
	if keys := strings.Join(a.Doc.Keys(), ","); keys != "error,error_description" {
		e.t.Fatalf("error answer has %s", keys)
	}
}

var isoOffset = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$`)

// checkTime checks the "time" block of an answer.
func checkTime(t testing.TB, doc *bitrix.Array) {
	t.Helper()
	tv, ok := doc.Get("time")
	tb, isArray := tv.(*bitrix.Array)
	if !ok || !isArray {
		t.Fatalf("no time block")
	}
	for _, k := range []string{"start", "finish", "duration", "processing"} {
		v, _ := tb.Get(k)
		if _, ok := v.(json.Number); !ok {
			t.Fatalf("time.%s = %v, want a number", k, v)
		}
	}
	for _, k := range []string{"date_start", "date_finish"} {
		v, _ := tb.Get(k)
		if s, _ := v.(string); !isoOffset.MatchString(s) || !strings.HasSuffix(s, "+03:00") {
			t.Fatalf("time.%s = %v, want ISO 8601 with +03:00", k, v)
		}
	}
}

var (
	isoDateTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$`)
	digits      = regexp.MustCompile(`^\d+$`)
)

// normalize replaces the volatile parts of an answer — the time blocks,
// dates and times, record and item ids — so that it can be compared with
// a golden file.
func normalize(v any, key string) any {
	switch x := v.(type) {
	case *bitrix.Array:
		out := bitrix.NewArray()
		for _, k := range x.Keys() {
			val, _ := x.Get(k)
			if k == "time" || k == "result_time" {
				out.Set(k, "<time>")
				continue
			}
			out.Set(k, normalize(val, k))
		}
		return out
	case string:
		if isoDateTime.MatchString(x) && !strings.HasSuffix(x, "T00:00:00+03:00") {
			return "<datetime>"
		}
		if key == "ID" && digits.MatchString(x) {
			return "<id>"
		}
		return x
	case json.Number:
		if key == "result" {
			return "<id>"
		}
		return x
	}
	return v
}

// golden compares a normalized answer with testdata/NAME.json.
func golden(t *testing.T, name string, a answer) {
	t.Helper()
	doc := bitrix.NewArray().Set("status", a.Status).Set("body", normalize(a.Doc, ""))
	b, err := doc.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(want, out.Bytes()) {
		t.Fatalf("%s differs from the golden file:\n%s", path, out.Bytes())
	}
}

func q(pairs ...string) string {
	v := make([]string, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		v = append(v, url.QueryEscape(pairs[i])+"="+url.QueryEscape(pairs[i+1]))
	}
	return strings.Join(v, "&")
}
