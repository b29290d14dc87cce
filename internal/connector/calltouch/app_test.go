package calltouch_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"github.com/obmen/obmen/internal/app/apptest"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// server is Obmen itself over loopback HTTP with its jobs running.
type server struct {
	t   *testing.T
	srv *httptest.Server
	key string
	db  *db.DB
	a   *apptest.Server
}

func newServer(t *testing.T, d *db.DB) *server {
	a := apptest.Start(t, d)
	return &server{t: t, srv: a.Srv, key: a.Key, db: d, a: a}
}

func (s *server) do(method, path string, body any, want int, dst any) {
	s.t.Helper()
	s.a.Do(s.t, method, path, body, want, dst)
}

// pollNow makes the bundle's poll due: the minute between two polls
// passes.
func (s *server) pollNow(id int64) {
	s.t.Helper()
	err := s.db.Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE automation_bundles SET poll_due_at = 0 WHERE id = $1", id)
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *server) cursor(id int64) string {
	var c string
	if err := s.db.Read.QueryRowContext(context.Background(), "SELECT poll_cursor FROM automation_bundles WHERE id = $1", id).Scan(&c); err != nil {
		s.t.Fatal(err)
	}
	return c
}

func (s *server) runs(id int64) []automation.Run {
	var list struct {
		Items []automation.Run `json:"items"`
	}
	s.do("GET", fmt.Sprintf("/api/v1/bundles/%d/runs?limit=100", id), nil, http.StatusOK, &list)
	return list.Items
}

func (s *server) waitFinished(id int64, n int) []automation.Run {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rs := s.runs(id)
		done := 0
		for _, r := range rs {
			if r.Finished() {
				done++
			}
		}
		if done >= n {
			return rs
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%d of %d runs finished: %+v", done, n, rs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Seed 001's first bundle, Calltouch's part: a call in the diary → a
// deal by its call id (budget 0, PENDING, the call's date), then the deal
// closed as won — through a saved connection, the engine's polling and
// the fake Calltouch, on both engines.
func TestBundleCallToDeal(t *testing.T) {
	f := newFake(t)
	n := 0
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		n++
		s := newServer(t, d)
		var conn struct {
			ID       int64          `json:"id"`
			Settings map[string]any `json:"settings"`
		}
		s.do("POST", "/api/v1/connections", map[string]any{"type": "calltouch", "name": "Calltouch", "settings": map[string]any{
			"site_id": f.Site, "token": f.Token, "url": f.URL()}}, http.StatusCreated, &conn)
		if conn.Settings["token"] == f.Token {
			t.Fatal("the token is shown")
		}
		var check struct {
			OK      bool   `json:"ok"`
			Message string `json:"message"`
		}
		s.do("POST", fmt.Sprintf("/api/v1/connections/%d/check", conn.ID), nil, http.StatusOK, &check)
		if !check.OK {
			t.Fatalf("check %+v", check)
		}
		var refreshed struct {
			Connection struct {
				Dictionaries map[string]any `json:"dictionaries"`
			} `json:"connection"`
		}
		s.do("POST", fmt.Sprintf("/api/v1/connections/%d/refresh", conn.ID), nil, http.StatusOK, &refreshed)
		if st := fmt.Sprint(refreshed.Connection.Dictionaries["statuses"]); st[:len("[PENDING COMPLETED")] != "[PENDING COMPLETED" {
			t.Fatalf("refresh %v", refreshed.Connection.Dictionaries)
		}

		var b automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "Звонок → сделка", "active": true,
			"trigger": map[string]any{"type": "calltouch.call", "connection": conn.ID},
			"steps": []any{
				map[string]any{"id": "deal", "action": "calltouch.deal.create", "connection": conn.ID,
					"input": map[string]any{"callId": "{{trigger.call_id}}", "revenue": 0, "status": "PENDING", "createDate": "{{trigger.date}}"}},
				map[string]any{"id": "won", "action": "calltouch.deal.update", "connection": conn.ID,
					"input": map[string]any{"orderNumber": "{{steps.deal.orderNumber}}", "status": "COMPLETED", "revenue": "1500.50",
						"statusDate": "{{trigger.date}}", "comment": "Заказ по звонку {{trigger.caller_number}} выполнен", "tags": []any{"{{trigger.utm_campaign}}"}}},
			}}, http.StatusCreated, &b)
		deadline := time.Now().Add(20 * time.Second)
		for s.cursor(b.ID) == "" { // the first poll marks the bundle's start
			if time.Now().After(deadline) {
				t.Fatal("never polled")
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(1100 * time.Millisecond) // calls after the bundle's start, in the diary's seconds
		now := time.Now()
		id1, id2 := 700000+n*10, 700001+n*10
		f.AddCall(id1, now, nil)
		f.AddCall(id2, now, map[string]any{"utmCampaign": "kitchen"})
		s.pollNow(b.ID)
		runs := s.waitFinished(b.ID, 2)
		for _, r := range runs {
			if r.Status != automation.StatusOK {
				run := automation.Run{}
				s.do("GET", fmt.Sprintf("/api/v1/runs/%d", r.ID), nil, http.StatusOK, &run)
				t.Fatalf("run %+v", run)
			}
		}
		deal := f.Deal(fmt.Sprintf("obmen-call-%d", id2))
		if deal == nil {
			t.Fatal("no deal")
		}
		m := deal["matching"].([]any)[0].(map[string]any)["callParams"].(map[string]any)
		if m["callId"] != float64(id2) || deal["status"] != "COMPLETED" || deal["revenue"] != "1500.50" ||
			deal["createDate"] != now.In(f.Loc).Format("2006-01-02 15:04:05") ||
			fmt.Sprint(deal["tags"]) != "[kitchen]" || fmt.Sprint(deal["comments"]) != fmt.Sprintf("[Заказ по звонку 7925%07d выполнен]", id2) {
			t.Fatalf("deal %v", deal)
		}
		// Polled again (the overlap reads both calls again): no new run.
		s.pollNow(b.ID)
		for s.cursor(b.ID) == "" || len(f.Hits("calls-diary")) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		before := len(f.Hits("calls-diary"))
		s.pollNow(b.ID)
		deadline = time.Now().Add(20 * time.Second)
		for len(f.Hits("calls-diary")) <= before {
			if time.Now().After(deadline) {
				t.Fatal("no second poll")
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		if rs := s.runs(b.ID); len(rs) != 2 {
			t.Fatalf("%d runs after polling again", len(rs))
		}

		// Calltouch's webhook to the connection's hook URL: a call pushed
		// runs at once; the same call polled later (it reaches the diary
		// after the webhook) makes no second run; a request pushed to the
		// same URL is not a call; a body that is neither is refused.
		var hook struct {
			URL string `json:"url"`
		}
		s.do("POST", fmt.Sprintf("/api/v1/connections/%d/hook", conn.ID), nil, http.StatusOK, &hook)
		pushed := func(form url.Values, want int) map[string]any {
			t.Helper()
			res, err := http.PostForm(hook.URL, form)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(res.Body).Decode(&out)
			if res.StatusCode != want {
				t.Fatalf("push %v: %d %v", form, res.StatusCode, out)
			}
			return out
		}
		id3 := 700002 + n*10
		at := time.Now()
		call := url.Values{"siteId": {fmt.Sprint(f.Site)}, "callId": {fmt.Sprint(id3)}, "callerphone": {fmt.Sprintf("7925%07d", id3)},
			"phonenumber": {"74950000000"}, "calltime": {at.In(f.Loc).Format("2006-01-02 15:04:05")}, "duration": {"61"}, "status": {"successful"},
			"utm_campaign": {"sofa"}}
		if out := pushed(call, http.StatusOK); out["runs"] != float64(1) {
			t.Fatalf("the call pushed: %v", out)
		}
		pushed(call, http.StatusOK) // Calltouch retries: still one run
		rs := s.waitFinished(b.ID, 3)
		if len(rs) != 3 || slices.ContainsFunc(rs, func(r automation.Run) bool { return r.Status != automation.StatusOK }) {
			t.Fatalf("runs after the push: %+v", rs)
		}
		if d := f.Deal(fmt.Sprintf("obmen-call-%d", id3)); d == nil || d["status"] != "COMPLETED" {
			t.Fatalf("the pushed call's deal: %v", d)
		}
		f.AddCall(id3, at, nil)
		before = len(f.Hits("calls-diary"))
		s.pollNow(b.ID)
		for deadline = time.Now().Add(20 * time.Second); len(f.Hits("calls-diary")) <= before; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("no poll after the push")
			}
		}
		time.Sleep(200 * time.Millisecond)
		if rs := s.runs(b.ID); len(rs) != 3 {
			t.Fatalf("%d runs: the pushed call polled ran again", len(rs))
		}
		if out := pushed(url.Values{"siteId": {fmt.Sprint(f.Site)}, "requestId": {"51"}, "requestDate": {"2026-12-05 10:00:00"}}, http.StatusOK); out["runs"] != float64(0) {
			t.Fatalf("a request pushed ran the call bundle: %v", out)
		}
		pushed(url.Values{"siteId": {fmt.Sprint(f.Site)}, "foo": {"bar"}}, http.StatusBadRequest)
	})
}
