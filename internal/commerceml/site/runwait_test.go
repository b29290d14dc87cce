package site_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/commerceml/site"
	"github.com/obmen/obmen/internal/crm"
)

// "Run now" on a run longer than the wait answers 202 with the run's
// journal entry, still running, and the run goes on to its end (a large
// catalog's run outlasts the server's write timeout). The site here
// holds the upload until the answer has come.
func TestRunNowAnswersWithTheEntryOfALongRun(t *testing.T) {
	pair(t, func(t *testing.T, one, _ *instance) {
		release := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Query().Get("mode") {
			case "checkauth":
				fmt.Fprint(w, "success\nPHPSESSID\ns1")
			case "init":
				fmt.Fprint(w, "zip=no\nfile_limit=1000000")
			case "file":
				_, _ = io.Copy(io.Discard, r.Body)
				<-release
				fmt.Fprint(w, "success")
			default:
				fmt.Fprint(w, "success")
			}
		}))
		defer slow.Close()
		one.app.Sites.SetAnswerWait(300 * time.Millisecond)
		// A good to send: a catalog without any sends nothing.
		if _, err := one.app.Store.CreateProduct(one.ctx, one.admin, crm.Product{Name: "Дрель", Price: 100, Active: true}); err != nil {
			t.Fatal(err)
		}
		var s site.Settings
		if code := one.api("POST", "/api/v1/site-exchanges", site.Settings{URL: slow.URL + "/1c_exchange.php", Login: "admin", Password: "pw"}, &s); code != 201 {
			t.Fatalf("create: %d", code)
		}
		var res site.RunResult
		code := one.api("POST", fmt.Sprintf("/api/v1/site-exchanges/%d/run?kind=catalog", s.ID), nil, &res)
		close(release)
		if code != http.StatusAccepted || res.Status != "running" || res.EntryID == 0 || res.Kind != "catalog" {
			t.Fatalf("a long run's answer: %d %+v", code, res)
		}
		var e struct {
			Status string `json:"status"`
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			if code := one.api("GET", fmt.Sprintf("/api/v1/exchanges/%d", res.EntryID), nil, &e); code != 200 {
				t.Fatalf("the entry: %d", code)
			}
			if e.Status != "running" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the run did not end")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if e.Status != "success" {
			t.Fatalf("the run ended %q", e.Status)
		}
	})
}
