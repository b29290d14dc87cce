package main

import (
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

// TestKillNineKeepsAcknowledgedLeads creates leads over HTTP from 16
// clients, kills the server with SIGKILL in the middle, restarts it and
// expects every lead that was answered 201 — and its create event — to
// be there.
func TestKillNineKeepsAcknowledgedLeads(t *testing.T) {
	engines := map[string][]string{
		"sqlite-normal": {"OBMEN_SQLITE_SYNC=NORMAL"},
		"sqlite-full":   {"OBMEN_SQLITE_SYNC=FULL"},
	}
	for _, e := range storetest.Engines(t) {
		if e.Name == "postgres" {
			engines["postgres"] = []string{"OBMEN_DATABASE_URL=" + storetest.PostgresURL(t)}
		}
	}
	for name, extra := range engines {
		t.Run(name, func(t *testing.T) {
			env := append([]string{"OBMEN_DATA=" + t.TempDir(), "OBMEN_ADMIN_PASSWORD=admin-password", "OBMEN_LOG_LEVEL=warn"}, extra...)
			addr := freeAddr(t)
			srv := startServer(t, env, addr)
			key := strings.TrimSpace(obmen(t, env, "", "user", "new-key", "admin"))
			base := "http://" + addr

			type acked struct {
				id    int64
				title string
			}
			var mu sync.Mutex
			var got []acked
			var wg sync.WaitGroup
			stop := make(chan struct{})
			client := &http.Client{Timeout: 10 * time.Second}
			for w := 0; w < 16; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						title := fmt.Sprintf("crash-%d-%d", w, i)
						req, _ := http.NewRequest("POST", base+"/api/v1/leads", strings.NewReader(fmt.Sprintf(`{"title":%q,"phones":[{"value":"+7 900 %03d %04d"}]}`, title, w, i)))
						req.Header.Set("Authorization", "Bearer "+key)
						req.Header.Set("Content-Type", "application/json")
						resp, err := client.Do(req)
						if err != nil {
							return // the server is gone
						}
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusCreated {
							continue
						}
						var l struct {
							ID    int64  `json:"id"`
							Title string `json:"title"`
						}
						if json.Unmarshal(b, &l) != nil || l.ID == 0 {
							continue // a cut answer is not an acknowledgement
						}
						mu.Lock()
						got = append(got, acked{l.ID, l.Title})
						mu.Unlock()
					}
				}(w)
			}
			// Kill once enough creates are acknowledged (not after a fixed
			// time: a loaded machine may answer only a few dozen a second),
			// with the writers still sending.
			for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
				mu.Lock()
				n := len(got)
				mu.Unlock()
				if n >= 300 || time.Now().After(deadline) {
					break
				}
			}
			srv.kill() // SIGKILL while requests are in flight
			close(stop)
			wg.Wait()
			if len(got) < 100 {
				t.Fatalf("only %d leads acknowledged before the kill; the test proves nothing", len(got))
			}

			startServer(t, env, addr)
			created := map[int64]bool{}
			after := int64(0)
			for {
				var page eventsPage
				getJSON(t, base+fmt.Sprintf("/api/v1/events?after=%d&limit=5000", after), key, &page)
				if len(page.Events) == 0 {
					break
				}
				for _, ev := range page.Events {
					if ev.Entity == "lead" && ev.Action == "create" {
						created[ev.RecordID] = true
					}
				}
				after = page.LastID
			}
			for _, a := range got {
				var l struct {
					ID    int64  `json:"id"`
					Title string `json:"title"`
				}
				getJSON(t, fmt.Sprintf("%s/api/v1/leads/%d", base, a.id), key, &l)
				if l.Title != a.title {
					t.Fatalf("acknowledged lead %d (%s) came back as %+v", a.id, a.title, l)
				}
				if !created[a.id] {
					t.Fatalf("acknowledged lead %d has no create event after the crash", a.id)
				}
			}
			t.Logf("%s: %d acknowledged leads, all present with their events after kill -9", name, len(got))
		})
	}
}

func getJSON(t *testing.T, url, key string, dst any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, dst); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
