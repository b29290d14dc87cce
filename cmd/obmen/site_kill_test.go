package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/obmen/obmen/internal/store/storetest"
)

// holdingSite is a web shop's 1c_exchange.php on loopback. While hold is
// set it keeps the first mode=file request open (a slow site taking a
// large upload), so that the exporting Obmen can be killed mid-upload;
// otherwise it takes files and imports them at once.
type holdingSite struct {
	mu      sync.Mutex
	hold    bool
	holding chan struct{} // closed when a held upload has begun
	release chan struct{} // closed at the test's end
	modes   []string      // "phase:mode" of every request
	phase   int
	files   map[string]*bytes.Buffer // what the current phase received
}

func (s *holdingSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	mode := q.Get("mode")
	s.mu.Lock()
	s.modes = append(s.modes, fmt.Sprintf("%d:%s", s.phase, mode))
	hold := s.hold && mode == "file"
	if hold {
		s.hold = false
		close(s.holding)
	}
	s.mu.Unlock()
	switch mode {
	case "checkauth":
		fmt.Fprint(w, "success\nPHPSESSID\nsess")
	case "init":
		fmt.Fprint(w, "zip=no\nfile_limit=1000000")
	case "file":
		if hold {
			// Take the body, then never answer: the uploader waits until
			// it is killed (its connection's end cancels the request's
			// context once the body has been read) or the test ends.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-s.release:
			}
			return
		}
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		name := q.Get("filename")
		if s.files[name] == nil {
			s.files[name] = &bytes.Buffer{}
		}
		s.files[name].Write(b)
		s.mu.Unlock()
		fmt.Fprint(w, "success")
	default: // import, complete
		fmt.Fprint(w, "success")
	}
}

func (s *holdingSite) seen(phase int, mode string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.modes {
		if m == fmt.Sprintf("%d:%s", phase, mode) {
			return true
		}
	}
	return false
}

// TestSiteExportKillNineRetriesClean kills the exporting Obmen (a real
// "obmen serve") with SIGKILL while it uploads a catalog to a web shop,
// starts it again on the same database, and expects: the site never got
// mode=import or mode=complete for the half catalog; the next run closes
// the killed run's journal entry as interrupted (once the killed run's
// lease has run out) and uploads the whole catalog, imports it and
// completes it.
func TestSiteExportKillNineRetriesClean(t *testing.T) {
	storetest.EngineAgnostic(t)
	data := t.TempDir()
	env := []string{"OBMEN_DATA=" + data, "OBMEN_ADMIN_PASSWORD=admin-password", "OBMEN_LOG_LEVEL=warn",
		"OBMEN_OUTBOUND_ALLOW=127.0.0.0/8", "OBMEN_SITE_LEASE=2s"}
	addr := freeAddr(t)
	srv := startServer(t, env, addr)
	key := strings.TrimSpace(obmen(t, env, "", "user", "new-key", "admin"))
	base := "http://" + addr
	call := func(method, path string, body any, out any) (int, string) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		rb, _ := io.ReadAll(res.Body)
		if out != nil && res.StatusCode/100 == 2 {
			if err := json.Unmarshal(rb, out); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, rb)
			}
		}
		return res.StatusCode, string(rb)
	}
	const products = 40
	for i := 1; i <= products; i++ {
		if code, b := call("POST", "/api/v1/products", map[string]any{"name": fmt.Sprintf("Товар %d", i), "article": fmt.Sprintf("K-%d", i),
			"price": 100 + i, "stock": i}, nil); code != 201 {
			t.Fatalf("product %d: %d %s", i, code, b)
		}
	}
	shop := &holdingSite{hold: true, holding: make(chan struct{}), release: make(chan struct{}), phase: 1, files: map[string]*bytes.Buffer{}}
	hs := httptest.NewServer(shop)
	defer hs.Close()
	defer close(shop.release)
	var s struct {
		ID int64 `json:"id"`
	}
	if code, b := call("POST", "/api/v1/site-exchanges", map[string]any{"url": hs.URL + "/1c_exchange.php", "login": "admin", "password": "pw"}, &s); code != 201 {
		t.Fatalf("create the site exchange: %d %s", code, b)
	}
	run := fmt.Sprintf("/api/v1/site-exchanges/%d/run?kind=catalog", s.ID)

	// The first run: killed while the site holds its upload.
	go func() { call("POST", run, nil, nil) }()
	select {
	case <-shop.holding:
	case <-time.After(60 * time.Second):
		t.Fatalf("the upload did not begin:\n%s", srv.out.String())
	}
	srv.kill()
	shop.mu.Lock()
	shop.phase = 2
	shop.mu.Unlock()
	if shop.seen(1, "import") || shop.seen(1, "complete") {
		t.Fatalf("the site was told to import a half catalog: %v", shop.modes)
	}

	// Started again on the same database: the next run waits for the
	// killed run's lease (2 s here) and then starts over.
	startServer(t, env, addr)
	var res struct {
		EntryID int64    `json:"entry_id"`
		Status  string   `json:"status"`
		Files   []string `json:"files"`
		Error   string   `json:"error"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, b := call("POST", run, nil, &res)
		if code == 200 {
			break
		}
		if code != http.StatusConflict || !strings.Contains(b, "another run") || time.Now().After(deadline) {
			t.Fatalf("the run after the restart: %d %s", code, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if res.Status != "success" {
		t.Fatalf("the run after the restart: %+v", res)
	}
	shop.mu.Lock()
	modes := strings.Join(shop.modes, " ")
	files := map[string]string{}
	for n, b := range shop.files {
		files[n] = b.String()
		if strings.Contains(strings.SplitN(files[n], "\n", 2)[0], "windows-1251") { // the default encoding of what Obmen writes
			files[n], _ = charmap.Windows1251.NewDecoder().String(files[n])
		}
	}
	shop.mu.Unlock()
	if !strings.Contains(modes, "2:file 2:file 2:import 2:import 2:complete") {
		t.Errorf("the second run's requests: %s", modes)
	}
	for _, f := range []struct{ name, tag string }{{"import.xml", "<Товар>"}, {"offers.xml", "<Предложение>"}} {
		if n := strings.Count(files[f.name], f.tag); n != products {
			t.Errorf("%s has %d %s, want %d (a whole catalog)", f.name, n, f.tag, products)
		}
	}

	// The journal: the killed run closed as interrupted, then the
	// successful one.
	watch, err := sql.Open("sqlite", "file:"+filepath.Join(data, "obmen.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	rows, err := watch.Query("SELECT id, status, error FROM cml_exchanges WHERE site_id = $1 AND direction = 'site' ORDER BY id", s.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id int64
		var status, msg string
		if err := rows.Scan(&id, &status, &msg); err != nil {
			t.Fatal(err)
		}
		got = append(got, status+" "+msg)
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], "failure interrupted") || got[1] != "success " {
		t.Errorf("the journal: %q", got)
	}
}
