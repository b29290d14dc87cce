package exchange_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/app"
	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// env is a running Obmen (the real app wiring) over loopback HTTP.
type env struct {
	t     testing.TB
	d     *db.DB
	cfg   config.Config
	app   *app.Server
	srv   *httptest.Server
	key   string // the admin's API key: 1C's password
	admin crm.Actor
	ctx   context.Context
}

func newEnv(t testing.TB, d *db.DB) *env {
	t.Helper()
	cfg := config.Default()
	cfg.AdminPassword = "admin-password"
	cfg.DataDir = t.TempDir()
	e := &env{t: t, d: d, cfg: cfg, ctx: context.Background()}
	e.start()
	u, err := e.app.Store.UserByLogin(e.ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	e.admin = crm.Actor{UserID: u.ID}
	_, e.key, err = e.app.Store.CreateAPIKey(e.ctx, e.admin, u.ID, "1c")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// start builds the server over the database, as a process start does.
func (e *env) start() {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.NewServer(e.d, e.cfg, log)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := app.EnsureAdmin(e.ctx, a.Store, e.cfg, io.Discard); err != nil {
		e.t.Fatal(err)
	}
	a.CommerceML.SetAuthLimiter(httpx.NewLimiter(time.Millisecond, 1000))
	e.app = a
	e.srv = httptest.NewServer(a.Handler)
	e.t.Cleanup(func() { e.srv.Close(); a.CommerceML.Close() })
}

// restart stops the server in the middle of whatever it does and starts a
// new one on the same database and data directory.
func (e *env) restart() {
	e.srv.Close()
	e.app.CommerceML.Close()
	e.start()
}

func (e *env) api(method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+e.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (e *env) settings(mut func(*exchange.Settings)) {
	e.t.Helper()
	s := exchange.DefaultSettings()
	s.Enabled = true
	s.StepMillis = 50
	mut(&s)
	if code, b := e.api("PUT", "/api/v1/exchanges/settings", s); code != 200 {
		e.t.Fatalf("settings: %d %s", code, b)
	}
}

// oneC plays 1C's side of the protocol.
type oneC struct {
	t      testing.TB
	e      *env
	login  string
	key    string
	cookie string
}

func (e *env) oneC() *oneC { return &oneC{t: e.t, e: e, login: "admin", key: e.key} }

func (c *oneC) call(typ, mode string, params url.Values, body []byte) (int, string) {
	c.t.Helper()
	if params == nil {
		params = url.Values{}
	}
	params.Set("type", typ)
	params.Set("mode", mode)
	method := "GET"
	var rd io.Reader
	if body != nil {
		method, rd = "POST", bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.e.srv.URL+"/1c_exchange.php?"+params.Encode(), rd)
	if mode == "checkauth" {
		req.SetBasicAuth(c.login, c.key)
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", exchange.CookieName+"="+c.cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (c *oneC) must(typ, mode string, params url.Values, body []byte, wantPrefix string) string {
	c.t.Helper()
	_, out := c.call(typ, mode, params, body)
	if !strings.HasPrefix(out, wantPrefix) {
		c.t.Fatalf("%s %s %v: got %q, want %q…", typ, mode, params, out, wantPrefix)
	}
	return out
}

func (c *oneC) checkauth(typ string) {
	c.t.Helper()
	out := c.must(typ, "checkauth", nil, nil, "success\n")
	lines := strings.Split(out, "\n")
	if len(lines) < 3 || lines[1] != exchange.CookieName || len(lines[2]) != 32 || !strings.HasPrefix(lines[3], "sessid=") {
		c.t.Fatalf("checkauth answer %q", out)
	}
	c.cookie = lines[2]
}

// upload sends data as filename in chunks of the given size.
func (c *oneC) upload(typ, name string, data []byte, chunk int) string {
	c.t.Helper()
	var out string
	for off := 0; off < len(data); off += chunk {
		_, out = c.call(typ, "file", url.Values{"filename": {name}}, data[off:min(off+chunk, len(data))])
		if !strings.HasPrefix(out, "success") {
			return out
		}
	}
	return out
}

// importAll calls mode=import until 1C would stop: success or failure;
// it returns the last answer and how many "progress" answers came.
func (c *oneC) importAll(name string) (string, int) {
	c.t.Helper()
	progress := 0
	for i := 0; i < 100000; i++ {
		_, out := c.call("catalog", "import", url.Values{"filename": {name}}, nil)
		if !strings.HasPrefix(out, "progress") {
			return out, progress
		}
		progress++
	}
	c.t.Fatal("import never ended")
	return "", 0
}

func testdata(t testing.TB, name string) []byte {
	b, err := os.ReadFile("../testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func zipOf(t testing.TB, files map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for n, b := range files {
		w, _ := zw.Create(n)
		_, _ = w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func each(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, d *db.DB) { fn(t, newEnv(t, d)) })
}

func (e *env) products() []crm.Product {
	e.t.Helper()
	var out []crm.Product
	cursor := ""
	for {
		ps, next, err := e.app.Store.ListProducts(e.ctx, store.ListParams{Limit: 500, Cursor: cursor})
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, ps...)
		if next == "" {
			return out
		}
		cursor = next
	}
}

func (e *env) product(name, article string) crm.Product {
	e.t.Helper()
	p, err := e.app.Store.FindProduct(e.ctx, name, article)
	if err != nil {
		e.t.Fatalf("product %q/%q: %v", name, article, err)
	}
	return p
}

func (e *env) journal(id string) exchange.Entry {
	e.t.Helper()
	code, b := e.api("GET", "/api/v1/exchanges/"+id, nil)
	if code != 200 {
		e.t.Fatalf("journal %s: %d %s", id, code, b)
	}
	var en exchange.Entry
	_ = json.Unmarshal(b, &en)
	return en
}

func (e *env) entries() []exchange.Entry {
	e.t.Helper()
	code, b := e.api("GET", "/api/v1/exchanges?limit=500", nil)
	if code != 200 {
		e.t.Fatalf("journal: %d %s", code, b)
	}
	var l exchange.EntryList
	_ = json.Unmarshal(b, &l)
	return l.Items
}

func parseOrders(t testing.TB, body string) []*commerceml.Document {
	t.Helper()
	rd := commerceml.NewReader(strings.NewReader(body), "orders.xml")
	var out []*commerceml.Document
	for {
		v, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("orders document: %v\n%s", err, body)
		}
		out = append(out, v.(*commerceml.Document))
	}
}
