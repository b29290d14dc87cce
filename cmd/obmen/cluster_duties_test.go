package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/db"
)

// must sends a request to instance i and decodes its answer into dst;
// any other status than want fails the test.
func (c *cluster) must(i int, method, path, body string, want int, dst any) {
	c.t.Helper()
	code, b, err := c.do(i, method, path, body, true)
	if err != nil || code != want {
		c.t.Fatalf("%s %s on instance %d: %d %s %v", method, path, i, code, b, err)
	}
	if dst != nil {
		if err := json.Unmarshal(b, dst); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// base is instance i's address.
func (c *cluster) base(i int) string { return "http://" + c.srv[i].addr }

// counter is a loopback receiver that counts the requests by a key the
// test reads out of each body.
type counter struct {
	*httptest.Server
	mu   sync.Mutex
	seen map[string]int
}

func newCounter(t *testing.T, key func(body []byte) string) *counter {
	c := &counter{seen: map[string]int{}}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if k := key(b); k != "" {
			c.mu.Lock()
			c.seen[k]++
			c.mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(c.Close)
	return c
}

// counts is a copy of the counts so far.
func (c *counter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.seen))
	for k, n := range c.seen {
		out[k] = n
	}
	return out
}

// TestClusterBundles: with three instances running the bundles' engine,
// a bundle on lead create posts one webhook per lead (leads created
// round-robin on all three), and a schedule every 2 seconds posts one
// webhook per tick — counted at the receiver, by the lead and by the
// tick's scheduled time.
func TestClusterBundles(t *testing.T) {
	recv := newCounter(t, func(b []byte) string {
		var p struct {
			Event string         `json:"event"`
			Data  map[string]any `json:"data"`
		}
		if json.Unmarshal(b, &p) != nil {
			return ""
		}
		switch p.Event {
		case "lead":
			return fmt.Sprint("lead:", p.Data["id"])
		case "tick":
			return fmt.Sprint("tick:", p.Data["at"])
		}
		return ""
	})
	c := startCluster(t, 3, "OBMEN_OUTBOUND_ALLOW=127.0.0.1")
	c.must(0, "POST", "/api/v1/bundles", fmt.Sprintf(`{"name": "лид → вебхук", "active": true,
		"trigger": {"type": "crm.event", "entity": "lead", "actions": ["create"]},
		"steps": [{"id": "send", "action": "webhook.send", "input": {"url": %q, "secret": "signing-secret", "event": "lead", "data": {"id": "{{trigger.record.id}}"}}}]}`, recv.URL),
		http.StatusCreated, nil)
	c.must(1, "POST", "/api/v1/bundles", fmt.Sprintf(`{"name": "каждые 2 с", "active": true,
		"trigger": {"type": "schedule", "cron": "@every 2s"},
		"steps": [{"id": "send", "action": "webhook.send", "input": {"url": %q, "secret": "signing-secret", "event": "tick", "data": {"at": "{{trigger.scheduled_at}}"}}}]}`, recv.URL),
		http.StatusCreated, nil)

	const n = 30
	ids := make([]string, 0, n)
	for i := range n {
		var l struct {
			ID int64 `json:"id"`
		}
		c.must(-1, "POST", "/api/v1/leads", fmt.Sprintf(`{"title":"кластер %d"}`, i), http.StatusCreated, &l)
		ids = append(ids, fmt.Sprint(l.ID))
	}
	// Wait for every lead's webhook and at least three ticks, then a
	// moment more for a second copy to show.
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, ticks := recv.counts(), 0
		missing := 0
		for _, id := range ids {
			if got["lead:"+id] == 0 {
				missing++
			}
		}
		for k := range got {
			if strings.HasPrefix(k, "tick:") {
				ticks++
			}
		}
		if missing == 0 && ticks >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: %d of %d leads' webhooks missing, %d ticks", missing, n, ticks)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	got := recv.counts()
	ticks := 0
	for k, v := range got {
		if v != 1 {
			t.Errorf("%s sent %d times by 3 instances, want once", k, v)
		}
		if strings.HasPrefix(k, "tick:") {
			ticks++
		}
	}
	if len(got) != n+ticks {
		t.Errorf("the receiver got %d keys, want %d leads and %d ticks: %v", len(got), n, ticks, got)
	}
}

// TestClusterCaptchaOnce: a web form's captcha answer spent on one
// instance is refused by the other two (the token's nonce is spent in
// the database), and none of the refused submits makes a lead.
func TestClusterCaptchaOnce(t *testing.T) {
	c := startCluster(t, 3)
	var f struct {
		PublicID string `json:"public_id"`
	}
	c.must(0, "POST", "/api/v1/webforms", `{"name": "С вопросом", "user_id": 1, "module": "leads", "captcha": true, "min_fill_seconds": 0,
		"fields": [{"name": "name", "required": true}]}`, http.StatusCreated, &f)
	for round := range 3 {
		var ch struct {
			Question string `json:"question"`
			Token    string `json:"token"`
		}
		c.must(round, "GET", "/f/"+f.PublicID+"/captcha", "", 200, &ch)
		var a, b int
		if _, err := fmt.Sscanf(ch.Question, "Сколько будет %d + %d?", &a, &b); err != nil {
			t.Fatalf("question %q: %v", ch.Question, err)
		}
		body, _ := json.Marshal(map[string]string{"name": fmt.Sprintf("Посетитель %d", round), "obmen_captcha_token": ch.Token, "obmen_captcha_answer": fmt.Sprint(a + b)})
		for k := range 3 {
			i := (round + k) % 3 // spent on one instance, tried on the others
			code, out, err := c.do(i, "POST", "/f/"+f.PublicID, string(body), false)
			if err != nil {
				t.Fatal(err)
			}
			accepted := code == 200 && strings.Contains(string(out), `"ok":true`)
			if k == 0 && !accepted {
				t.Fatalf("round %d: the right answer on instance %d: %d %s", round, i, code, out)
			}
			if k > 0 && accepted {
				t.Fatalf("round %d: the answer spent on instance %d passed again on instance %d: %s", round, round%3, i, out)
			}
		}
	}
	var leads struct {
		Items []json.RawMessage `json:"items"`
	}
	c.must(2, "GET", "/api/v1/leads?limit=100", "", 200, &leads)
	if len(leads.Items) != 3 {
		t.Fatalf("%d leads from 3 answers tried 9 times, want 3", len(leads.Items))
	}
}

// TestClusterBitrixBucket: a Bitrix24 webhook's leaky bucket is one over
// the three instances — a burst of 5 calls (the bucket refilling once in
// 100 s) lets 5 of 15 round-robin calls through, not 15.
func TestClusterBitrixBucket(t *testing.T) {
	c := startCluster(t, 3, "OBMEN_BITRIX_RATE_LIMIT=0.01", "OBMEN_BITRIX_BURST=5")
	hook := strings.TrimSpace(obmen(t, c.env[0], "", "bitrix", "webhook-add", "--user", "admin", "--scope", "crm"))
	u, err := url.Parse(hook)
	if err != nil {
		t.Fatal(err)
	}
	passed, limited := 0, 0
	for k := range 15 {
		resp, err := http.Get(c.base(k%3) + u.Path + "crm.lead.list.json")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == 200:
			passed++
		case resp.StatusCode == 503 && strings.Contains(string(b), "QUERY_LIMIT_EXCEEDED"):
			limited++
		default:
			t.Fatalf("call %d on instance %d: %d %s", k, k%3, resp.StatusCode, b)
		}
	}
	if passed != 5 || limited != 10 {
		t.Fatalf("over 3 instances: %d calls passed, %d limited; want 5 and 10 (one bucket)", passed, limited)
	}
}

// TestClusterRollingUpgrade: three instances started at once on a fresh
// database come up with every migration applied once (the first migrates
// under an advisory lock while the others wait — without it the second
// fails on tables the first is creating); then, with writes going on,
// one instance is stopped, a newer release's additive migration is
// applied (a column, a table, its number in schema_migrations) and the
// instance started again: the older binaries keep serving on the newer
// schema, the restarted one does not stumble on the number it does not
// know, and no acknowledged write is lost.
func TestClusterRollingUpgrade(t *testing.T) {
	c := startCluster(t, 3)
	ctx := context.Background()
	sqlDB, err := sql.Open("pgx", c.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	ms, err := db.Migrations(db.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	var rows, versions int
	if err := sqlDB.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations").Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	if rows != len(ms) || versions != len(ms) {
		t.Fatalf("schema_migrations has %d rows of %d versions after three starts at once, want %d", rows, versions, len(ms))
	}

	var mu sync.Mutex
	var acked []int64
	failed := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// The balancer sends to the instances up (a stopped one is
				// out of it).
				code, b, err := c.do(-1, "POST", "/api/v1/leads", fmt.Sprintf(`{"title":"роллинг %d-%d","phones":[{"value":"+7 925 %03d-%02d-%02d"}]}`, w, i, w, i/100, i%100), true)
				mu.Lock()
				if err == nil && code == http.StatusCreated {
					var l struct {
						ID int64 `json:"id"`
					}
					if json.Unmarshal(b, &l) == nil {
						acked = append(acked, l.ID)
					}
				} else if err == nil {
					failed++
					t.Errorf("create during the roll: %d %s", code, b)
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	if err := c.srv[2].stop(); err != nil {
		t.Fatal(err)
	}
	// The newer release's migration, as its binary would apply it.
	for _, q := range []string{
		"ALTER TABLE leads ADD COLUMN rollout_note TEXT NOT NULL DEFAULT ''",
		"CREATE TABLE rollout_extra (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, lead_id BIGINT NOT NULL)",
		fmt.Sprintf("INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, 'rollout_extra.sql', 0)", len(ms)+1),
	} {
		if _, err := sqlDB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	c.restart(2)
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if len(acked) < 20 {
		t.Fatalf("only %d leads acknowledged during the roll", len(acked))
	}
	for _, id := range acked {
		c.must(2, "GET", fmt.Sprintf("/api/v1/leads/%d", id), "", 200, nil)
	}
	// Every instance, the restarted one too, reads and writes.
	for i := range 3 {
		c.must(i, "POST", "/api/v1/leads", fmt.Sprintf(`{"title":"после %d"}`, i), http.StatusCreated, nil)
		c.must(i, "GET", "/api/v1/leads?limit=5", "", 200, nil)
	}
	t.Logf("%d leads acknowledged during the roll", len(acked))
}

// TestClusterOneCSession: a 1C exchange session goes on wherever the
// balancer sends each request — checkauth on A, init on B, the file's
// chunks on C, A and B, the import's steps round-robin — with the data
// directory on storage the instances share (README, "Several
// instances"): the session (its cookie) and the staged import are in the
// database, the upload's bytes in the shared directory.
func TestClusterOneCSession(t *testing.T) {
	shared := t.TempDir()
	c := startCluster(t, 3, "OBMEN_DATA="+shared)
	set := exchange.DefaultSettings()
	set.Enabled, set.StepMillis = true, 20 // short import steps: many, spread over the instances
	body, _ := json.Marshal(set)
	c.must(1, "PUT", "/api/v1/exchanges/settings", string(body), 200, nil) // on B, read by A and C
	cookie := ""
	call := func(i int, mode string, params url.Values, body []byte) string {
		t.Helper()
		if params == nil {
			params = url.Values{}
		}
		params.Set("type", "catalog")
		params.Set("mode", mode)
		method := "GET"
		var rd io.Reader
		if body != nil {
			method, rd = "POST", bytes.NewReader(body)
		}
		req, _ := http.NewRequest(method, c.base(i)+"/1c_exchange.php?"+params.Encode(), rd)
		if mode == "checkauth" {
			req.SetBasicAuth("admin", c.key)
		} else {
			req.Header.Set("Cookie", exchange.CookieName+"="+cookie)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	out := call(0, "checkauth", nil, nil)
	lines := strings.Split(out, "\n")
	if len(lines) < 3 || lines[0] != "success" || lines[1] != exchange.CookieName {
		t.Fatalf("checkauth on A: %q", out)
	}
	cookie = lines[2]
	if out := call(1, "init", nil, nil); !strings.HasPrefix(out, "zip=") {
		t.Fatalf("init on B: %q", out)
	}
	for _, f := range []string{"import0_1_208.xml", "offers0_1_208.xml"} {
		data, err := os.ReadFile("../../internal/commerceml/testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(f, "0_1_208.xml") + ".xml"
		for k, off := 0, 0; off < len(data); k, off = k+1, off+1000 {
			i := (2 + k) % 3 // C, A, B, …
			if out := call(i, "file", url.Values{"filename": {name}}, data[off:min(off+1000, len(data))]); !strings.HasPrefix(out, "success") {
				t.Fatalf("%s chunk %d on instance %d: %q", name, k, i, out)
			}
		}
		for k := 0; ; k++ {
			if k > 10000 {
				t.Fatalf("import of %s never ended", name)
			}
			out := call(k%3, "import", url.Values{"filename": {name}}, nil)
			if strings.HasPrefix(out, "progress") {
				continue
			}
			if out != "success\n" {
				t.Fatalf("import of %s, step %d on instance %d: %q", name, k, k%3, out)
			}
			break
		}
	}
	var products struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	c.must(2, "GET", "/api/v1/products?limit=100", "", 200, &products)
	if len(products.Items) != 4 { // the file's fifth good is a service
		t.Fatalf("%d products after the exchange over 3 instances, want the file's 4: %+v", len(products.Items), products.Items)
	}
}

// TestClusterImportPreview: a CSV import through the admin UI signed in
// on A, uploaded and checked (the preview) on A and confirmed on B — the
// session, its CSRF token and the preview's state work on any instance —
// makes the file's leads once.
func TestClusterImportPreview(t *testing.T) {
	c := startCluster(t, 3)
	jar, _ := cookiejar.New(nil) // cookies ignore the port: one jar for the "balancer"
	hc := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrfRe := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	want := 200
	page := func(resp *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d: %s", resp.Request.Method, resp.Request.URL, resp.StatusCode, want, b)
		}
		want = 200
		return string(b)
	}
	csrf := func(html string) string {
		t.Helper()
		m := csrfRe.FindStringSubmatch(html)
		if m == nil {
			t.Fatalf("no csrf in %s", html)
		}
		return m[1]
	}
	login := page(hc.Get(c.base(0) + "/login"))
	want = http.StatusSeeOther
	page(hc.PostForm(c.base(0)+"/login", url.Values{"csrf": {csrf(login)}, "login": {"admin"}, "password": {"admin-password"}}))
	tok := csrf(page(hc.Get(c.base(0) + "/import?entity=lead")))

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", tok)
	_ = mw.WriteField("entity", "lead")
	fw, _ := mw.CreateFormFile("file", "leads.csv")
	_, _ = io.WriteString(fw, "Название\nИмпорт 1\nИмпорт 2\nИмпорт 3\n")
	_ = mw.Close()
	req, _ := http.NewRequest("POST", c.base(0)+"/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	mapping := page(hc.Do(req))
	data := regexp.MustCompile(`(?s)<textarea name="data"[^>]*>(.*?)</textarea>`).FindStringSubmatch(mapping)
	if data == nil || !strings.Contains(mapping, `name="map.0"`) {
		t.Fatalf("no mapping page: %s", mapping)
	}
	form := url.Values{"csrf": {tok}, "entity": {"lead"}, "delim": {","}, "data": {html.UnescapeString(data[1])}, "map.0": {"title"}, "dup_mode": {"create"}}
	form.Set("dry_run", "1")
	if p := page(hc.PostForm(c.base(0)+"/import/run", form)); !strings.Contains(p, `id="dry-ok"`) {
		t.Fatalf("the check on A: %s", p)
	}
	form.Del("dry_run")
	form.Set("import", "1")
	page(hc.PostForm(c.base(1)+"/import/run", form)) // confirmed on B
	var leads struct {
		Items []struct {
			Title string `json:"title"`
		} `json:"items"`
	}
	c.must(2, "GET", "/api/v1/leads?limit=100", "", 200, &leads)
	if len(leads.Items) != 3 {
		t.Fatalf("%d leads after the import confirmed on B, want 3: %+v", len(leads.Items), leads.Items)
	}
}

// TestClusterScheduleMovesOnKill: a bundle schedule (a duty of one
// instance at a time) fires once per tick across three instances, and
// goes on firing when instances are killed with SIGKILL one after the
// other — whichever held it first, the last survivor holds it at the end,
// so it moved at least once unless that survivor held it all along
// (logged). Every tick is posted once: a tick missed while the duty had
// no holder is allowed (a schedule does not catch up), a second copy of
// one is not.
func TestClusterScheduleMovesOnKill(t *testing.T) {
	recv := newCounter(t, func(b []byte) string {
		var p struct {
			Event string         `json:"event"`
			Data  map[string]any `json:"data"`
		}
		if json.Unmarshal(b, &p) != nil || p.Event != "tick" {
			return ""
		}
		return fmt.Sprint(p.Data["at"])
	})
	c := startCluster(t, 3, "OBMEN_OUTBOUND_ALLOW=127.0.0.1")
	c.must(0, "POST", "/api/v1/bundles", fmt.Sprintf(`{"name": "каждую секунду", "active": true,
		"trigger": {"type": "schedule", "cron": "@every 1s"},
		"steps": [{"id": "send", "action": "webhook.send", "input": {"url": %q, "secret": "signing-secret", "event": "tick", "data": {"at": "{{trigger.scheduled_at}}"}}}]}`, recv.URL),
		http.StatusCreated, nil)
	ticks := func() int { return len(recv.counts()) }
	waitTicks := func(what string, n int) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for ticks() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d ticks after 90 s, want %d", what, ticks(), n)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitTicks("three instances", 3)
	for _, i := range []int{0, 1} {
		before := ticks()
		killedAt := time.Now()
		c.instance(i).kill()
		waitTicks(fmt.Sprintf("instance %d killed", i), before+3)
		t.Logf("instance %d killed: three more ticks within %v", i, time.Since(killedAt).Round(time.Millisecond))
	}
	time.Sleep(2 * time.Second) // a second copy of a late tick would show
	for k, v := range recv.counts() {
		if v != 1 {
			t.Errorf("tick %s posted %d times, want once", k, v)
		}
	}
}
