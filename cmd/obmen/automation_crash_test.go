package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/store/storetest"
)

// TestKillNineDuringRunFlood floods a server with leads while a bundle
// makes a contact and a timeline comment of each, kills the server with
// SIGKILL twice in the middle, restarts it, and counts: every lead has
// exactly one run, finished OK, one contact per phone, one comment per
// lead — no run lost, no record made twice.
func TestKillNineDuringRunFlood(t *testing.T) {
	engines := map[string][]string{"sqlite": nil}
	for _, e := range storetest.Engines(t) {
		if e.Name == "postgres" {
			engines["postgres"] = []string{"OBMEN_DATABASE_URL=" + storetest.PostgresURL(t)}
		}
	}
	for name, extra := range engines {
		t.Run(name, func(t *testing.T) {
			env := append([]string{"OBMEN_DATA=" + t.TempDir(), "OBMEN_ADMIN_PASSWORD=admin-password", "OBMEN_LOG_LEVEL=error",
				"OBMEN_JOB_RESCUE_AFTER=10s", "OBMEN_AUTOMATION_STEP_TIMEOUT=2s"}, extra...)
			addr := freeAddr(t)
			srv := startServer(t, env, addr)
			key := strings.TrimSpace(obmen(t, env, "", "user", "new-key", "admin"))
			base := "http://" + addr
			c := &apiClient{t: t, base: base, key: key, http: &http.Client{Timeout: 10 * time.Second}}
			var b struct {
				ID int64 `json:"id"`
			}
			c.mustJSON("POST", "/api/v1/bundles", `{"name": "лид → контакт и комментарий", "active": true,
				"trigger": {"type": "crm.event", "entity": "lead", "actions": ["create"]},
				"steps": [
					{"id": "client", "action": "crm.contact.create", "input": {"name": "{{trigger.record.name}}",
						"phones": [{"value": "{{trigger.record.phones[0].value}}", "value_type": "mobile"}]},
					 "duplicates": {"by": ["phone"], "then": "skip"}},
					{"id": "note", "action": "crm.timeline.add", "input": {"entity": "lead", "id": "{{trigger.record.id}}", "text": "контакт {{steps.client.id}}"}}
				]}`, http.StatusCreated, &b)

			// At least two kills, each once 110 leads of the round were
			// acknowledged (more rounds if a round's flood ran out).
			acked := 0
			for round := 0; round < 2 || (acked < 200 && round < 8); round++ {
				acked += flood(t, base, key, round, 110, srv.kill)
				srv = startServer(t, env, addr)
			}
			if acked < 200 {
				t.Fatalf("only %d leads acknowledged; the test proves nothing", acked)
			}
			// Every lead the log says was created gets its run, and every run
			// ends.
			var leads []int64
			deadline := time.Now().Add(3 * time.Minute)
			for {
				leads = c.createdLeads()
				runs := c.runs(b.ID)
				open := 0
				for _, r := range runs {
					if r.Status == "queued" || r.Status == "running" || r.Status == "waiting" {
						open++
					}
				}
				if len(runs) >= len(leads) && open == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d leads, %d runs, %d not finished after the restarts", len(leads), len(runs), open)
				}
				time.Sleep(250 * time.Millisecond)
			}
			runs := c.runs(b.ID)
			perLead := map[int64]int{}
			for _, r := range runs {
				if r.Status != "ok" {
					t.Fatalf("run %d of lead %d: %s %s", r.ID, r.RecordID, r.Status, r.Error)
				}
				perLead[r.RecordID]++
			}
			for _, id := range leads {
				if perLead[id] != 1 {
					t.Fatalf("lead %d has %d runs", id, perLead[id])
				}
			}
			if len(runs) != len(leads) {
				t.Fatalf("%d runs for %d leads", len(runs), len(leads))
			}
			// One contact per phone, one comment per lead.
			phones := map[string]int{}
			cursor := ""
			for {
				var page struct {
					Items []struct {
						Phones []struct {
							Normalized string `json:"normalized"`
						} `json:"phones"`
					} `json:"items"`
					NextCursor string `json:"next_cursor"`
				}
				c.mustJSON("GET", "/api/v1/contacts?limit=500&cursor="+cursor, "", 200, &page)
				for _, ct := range page.Items {
					for _, p := range ct.Phones {
						phones[p.Normalized]++
					}
				}
				if page.NextCursor == "" {
					break
				}
				cursor = page.NextCursor
			}
			if len(phones) != len(leads) {
				t.Fatalf("%d contacts' phones for %d leads", len(phones), len(leads))
			}
			for p, n := range phones {
				if n != 1 {
					t.Fatalf("phone %s is on %d contacts", p, n)
				}
			}
			for _, id := range leads {
				var cm struct {
					Items []any `json:"items"`
				}
				c.mustJSON("GET", fmt.Sprintf("/api/v1/leads/%d/comments", id), "", 200, &cm)
				if len(cm.Items) != 1 {
					t.Fatalf("lead %d has %d comments", id, len(cm.Items))
				}
			}
			t.Logf("%s: %d leads (%d acknowledged) across two kill -9, each with one run, one contact, one comment", name, len(leads), acked)
		})
	}
}

// flood creates leads with unique phones from 8 clients until want were
// answered, then kills the server while they are sending; it returns how
// many were answered 201.
func flood(t *testing.T, base, key string, round, want int, kill func()) int {
	var mu sync.Mutex
	n := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"title": "лид %d-%d-%d", "name": "Клиент %d", "phones": [{"value": "+7 9%02d %d%02d %04d"}]}`, round, w, i, i, w, round, w, i)
				req, _ := http.NewRequest("POST", base+"/api/v1/leads", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					mu.Lock()
					n++
					mu.Unlock()
				}
			}
		}(w)
	}
	// Kill once the round has its share of acknowledged leads (at most
	// a minute): a count, not a time, so a loaded machine still kills
	// with enough in flight to prove something.
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		enough := n >= want
		mu.Unlock()
		if enough {
			break
		}
	}
	kill()
	close(stop)
	wg.Wait()
	return n
}

// apiClient calls the REST API with a key.
type apiClient struct {
	t    *testing.T
	base string
	key  string
	http *http.Client
}

func (c *apiClient) mustJSON(method, path, body string, status int, dst any) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		c.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if dst != nil {
		if err := json.NewDecoder(bytes.NewReader(b)).Decode(dst); err != nil {
			c.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// createdLeads are the leads the change log has create events of.
func (c *apiClient) createdLeads() []int64 {
	var out []int64
	after := int64(0)
	for {
		var page eventsPage
		c.mustJSON("GET", fmt.Sprintf("/api/v1/events?after=%d&limit=5000", after), "", 200, &page)
		if len(page.Events) == 0 {
			return out
		}
		for _, ev := range page.Events {
			if ev.Entity == "lead" && ev.Action == "create" {
				out = append(out, ev.RecordID)
			}
		}
		after = page.LastID
	}
}

type runRow struct {
	ID       int64  `json:"id"`
	RecordID int64  `json:"record_id"`
	Status   string `json:"status"`
	Error    string `json:"error"`
}

// runs are all runs of a bundle.
func (c *apiClient) runs(bundle int64) []runRow {
	var out []runRow
	before := int64(0)
	for {
		var page struct {
			Items      []runRow `json:"items"`
			NextBefore int64    `json:"next_before"`
		}
		q := fmt.Sprintf("/api/v1/bundles/%d/runs?limit=500", bundle)
		if before > 0 {
			q += fmt.Sprintf("&before=%d", before)
		}
		c.mustJSON("GET", q, "", 200, &page)
		out = append(out, page.Items...)
		if page.NextBefore == 0 {
			return out
		}
		before = page.NextBefore
	}
}
