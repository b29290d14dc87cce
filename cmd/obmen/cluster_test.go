package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/store/storetest"
)

// cluster is three obmen processes on one PostgreSQL, with one secret key
// and public URL, as behind a balancer (README, "Several instances").
type cluster struct {
	t     *testing.T
	env   [][]string
	srv   []*server
	dbURL string
	key   string // an admin API key
	next  atomic.Int64
	httpc *http.Client
	mu    sync.Mutex // srv's elements, replaced by a restart under load
}

// instance is the process of instance i now.
func (c *cluster) instance(i int) *server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.srv[i]
}

// restart starts instance i again (its process ended).
func (c *cluster) restart(i int) {
	s := startServer(c.t, c.env[i], c.instance(i).addr)
	c.mu.Lock()
	c.srv[i] = s
	c.mu.Unlock()
}

func startCluster(t *testing.T, n int, extra ...string) *cluster {
	t.Helper()
	if os.Getenv(storetest.EnvPostgres) == "" {
		if os.Getenv("OBMEN_TEST_CI") != "" || os.Getenv("CI") != "" {
			t.Fatalf("%s is not set; the N-instance tests need PostgreSQL", storetest.EnvPostgres)
		}
		t.Skipf("%s is not set: the N-instance tests need PostgreSQL", storetest.EnvPostgres)
	}
	dbURL := storetest.PostgresURL(t)
	secret := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	c := &cluster{t: t, dbURL: dbURL, httpc: &http.Client{Timeout: 20 * time.Second}}
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = freeAddr(t)
	}
	for i := range n {
		env := append([]string{"OBMEN_DATA=" + t.TempDir(), "OBMEN_ADMIN_PASSWORD=admin-password", "OBMEN_LOG_LEVEL=warn",
			"OBMEN_DATABASE_URL=" + dbURL, "OBMEN_SECRET_KEY=" + secret, "OBMEN_PUBLIC_URL=http://" + addrs[0]}, extra...)
		c.env = append(c.env, env)
		// All at once, as after a deploy: the first start on a fresh
		// database migrates it while the others wait on the lock.
		c.srv = append(c.srv, spawnServer(t, env, addrs[i]))
	}
	for _, s := range c.srv {
		s.waitReady(http.DefaultClient, "http")
	}
	c.key = strings.TrimSpace(obmen(t, c.env[0], "", "user", "new-key", "admin"))
	return c
}

// eventsPage is a page of GET /api/v1/events, as the tests read it.
type eventsPage struct {
	Events []struct {
		ID       int64  `json:"id"`
		Entity   string `json:"entity"`
		RecordID int64  `json:"record_id"`
		Action   string `json:"action"`
	} `json:"events"`
	LastID int64 `json:"last_id"`
}

// do sends a request to instance i (-1: the next one, round-robin).
func (c *cluster) do(i int, method, path, body string, auth bool) (int, []byte, error) {
	if i < 0 {
		for {
			i = int(c.next.Add(1)) % len(c.srv)
			select {
			case <-c.instance(i).done: // killed: the balancer leaves it out
				continue
			default:
			}
			break
		}
	}
	req, _ := http.NewRequest(method, "http://"+c.instance(i).addr+path, strings.NewReader(body))
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.httpc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// TestClusterSignInLimit: ten wrong passwords for one login are all an
// attacker gets from three instances together (per login: 10 at once),
// not thirty.
func TestClusterSignInLimit(t *testing.T) {
	c := startCluster(t, 3)
	refused, tried := 0, 0
	for range 30 {
		code, b, err := c.do(-1, "POST", "/api/v1/session", `{"login":"victim","password":"guess"}`, false)
		if err != nil {
			t.Fatal(err)
		}
		switch code {
		case http.StatusTooManyRequests:
			refused++
		case http.StatusUnauthorized:
			tried++
		default:
			t.Fatalf("sign-in answered %d %s", code, b)
		}
	}
	if tried != 10 || refused != 20 {
		t.Fatalf("over 3 instances: %d passwords checked, %d refused; want 10 and 20", tried, refused)
	}
}

// TestClusterWrites: while three instances take lead creates round-robin,
// a reader of the change-event log on each instance sees ids gap-free and
// in order, and every acknowledged lead's create event; a webhook receiver
// gets each create exactly once although three dispatchers run; one
// instance killed with SIGKILL under the load loses no acknowledged write.
func TestClusterWrites(t *testing.T) {
	var mu sync.Mutex
	delivered := map[int64]int{}   // lead id → deliveries of its create
	first := map[int64]time.Time{} // lead id → when its create first came
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev struct {
			Entity   string `json:"entity"`
			RecordID int64  `json:"record_id"`
			Action   string `json:"action"`
		}
		if json.Unmarshal(b, &ev) == nil && ev.Entity == "lead" && ev.Action == "create" {
			mu.Lock()
			if delivered[ev.RecordID] == 0 {
				first[ev.RecordID] = time.Now()
			}
			delivered[ev.RecordID]++
			mu.Unlock()
		}
	}))
	defer recv.Close()
	// The jobs the killed instance had claimed are taken for abandoned
	// after OBMEN_JOB_RESCUE_AFTER and run by the others.
	c := startCluster(t, 3, "OBMEN_OUTBOUND_ALLOW=127.0.0.1", "OBMEN_JOB_RESCUE_AFTER=7s", "OBMEN_AUTOMATION_STEP_TIMEOUT=1s")
	if code, b, err := c.do(0, "POST", "/api/v1/outbound-webhooks",
		fmt.Sprintf(`{"kind":"native","url":%q,"events":["lead.create"],"token":"signing-secret"}`, recv.URL), true); err != nil || code != 201 {
		t.Fatalf("create webhook: %d %s %v", code, b, err)
	}

	var ackMu sync.Mutex
	var acked []int64
	stop := make(chan struct{})
	var writers sync.WaitGroup
	for w := range 9 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				code, b, err := c.do(-1, "POST", "/api/v1/leads", fmt.Sprintf(`{"title":"cluster-%d-%d"}`, w, i), true)
				if err != nil || code != http.StatusCreated {
					continue // cut by the kill, or refused: not acknowledged
				}
				var l struct {
					ID int64 `json:"id"`
				}
				if json.Unmarshal(b, &l) == nil && l.ID > 0 {
					ackMu.Lock()
					acked = append(acked, l.ID)
					ackMu.Unlock()
				}
			}
		}()
	}

	// One reader per instance, paging the log as the writes go on.
	type seen struct {
		leads map[int64]bool
		err   error
	}
	readers := make([]seen, len(c.srv))
	var rwg sync.WaitGroup
	readStop := make(chan struct{})
	for i := range c.srv {
		readers[i].leads = map[int64]bool{}
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			after, last := int64(0), int64(0)
			for {
				select {
				case <-readStop:
					return
				case <-c.srv[i].done:
					return
				default:
				}
				code, b, err := c.do(i, "GET", fmt.Sprintf("/api/v1/events?after=%d&limit=500", after), "", true)
				if err != nil || code != 200 {
					continue
				}
				var page eventsPage
				if err := json.Unmarshal(b, &page); err != nil {
					readers[i].err = fmt.Errorf("events page: %w", err)
					return
				}
				for _, e := range page.Events {
					if e.ID != last+1 {
						readers[i].err = fmt.Errorf("instance %d: event %d after %d (a gap or a reorder)", i, e.ID, last)
						return
					}
					last = e.ID
					if e.Entity == "lead" && e.Action == "create" {
						readers[i].leads[e.RecordID] = true
					}
				}
				after = page.LastID
				if len(page.Events) == 0 {
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}

	time.Sleep(1500 * time.Millisecond)
	c.srv[2].kill() // SIGKILL under load
	killedAt := time.Now()
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	writers.Wait()
	if len(acked) < 20 {
		t.Fatalf("only %d leads acknowledged: the load did not run", len(acked))
	}

	// Every acknowledged lead is there (asked of a surviving instance).
	for _, id := range acked {
		if code, b, err := c.do(0, "GET", fmt.Sprintf("/api/v1/leads/%d", id), "", true); err != nil || code != 200 {
			t.Fatalf("acknowledged lead %d: %d %s %v", id, code, b, err)
		}
	}
	// The deliveries catch up with every create (the killed instance's
	// claimed jobs through River's rescue).
	deadline := time.Now().Add(120 * time.Second) // River rescues after OBMEN_JOB_RESCUE_AFTER, on its rescuer's next round, on the leader (re-elected when the killed one led)
	for {
		missing := 0
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
		mu.Lock()
		for _, id := range acked {
			if delivered[id] == 0 {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
	}
	close(readStop)
	rwg.Wait()
	for i := range 2 { // the killed instance's reader stopped with it
		if readers[i].err != nil {
			t.Fatal(readers[i].err)
		}
		for _, id := range acked {
			if !readers[i].leads[id] {
				t.Fatalf("reader on instance %d never saw the create of acknowledged lead %d", i, id)
			}
		}
	}
	if readers[2].err != nil {
		t.Fatal(readers[2].err)
	}
	// Each create delivered once: none lost, none twice although three
	// dispatchers ran. The one exception HTTP cannot avoid: a delivery the
	// killed instance had sent but not yet recorded is sent again by the
	// rescue (the receiver tells by the event id) — so a second copy is
	// accepted only of a create first received before the kill, or just
	// after it: a request the killed process wrote to its socket in its
	// last moments still arrives, and under -race the receiver's handler
	// may run it tens of milliseconds later (CI: first at kill+59 ms).
	// Allow the receiver a moment for late duplicates to show.
	const killGrace = time.Second
	time.Sleep(time.Second)
	mu.Lock()
	defer mu.Unlock()
	resent := 0
	for _, id := range acked {
		switch n := delivered[id]; {
		case n == 1:
		case n == 2 && first[id].Before(killedAt.Add(killGrace)):
			resent++
		default:
			t.Errorf("lead %d: its create delivered %d times (first at kill%+v), want once", id, n, first[id].Sub(killedAt))
		}
	}
	t.Logf("%d creates sent again after the kill (in flight on the killed instance)", resent)
	t.Logf("%d leads acknowledged over 3 instances (one killed), %d leads delivered (a create cut by the kill may be delivered unacknowledged)", len(acked), len(delivered))
}
