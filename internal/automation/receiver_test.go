package automation_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/httpx"
)

// A PushReceiver behind a connection's hook URL: it is given the
// connection's settings and the path below the token, its reply is the
// answer, an *httpx.Error keeps its status and another error is a 400; a
// path below a connection that only trigger kinds serve is nobody's; the
// connection page's list names the kinds the receiver feeds.
func TestPushReceiver(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		reg := e.app.Automation.Registry()
		if err := reg.AddTrigger(connectorKind(&remoteCalls{}, time.Hour)); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var got []string
		err := reg.AddPushReceiver(automation.PushReceiver{Connection: "othercrm", Feeds: []string{"testcrm.call"},
			Receive: func(_ context.Context, req *automation.PushRequest) error {
				mu.Lock()
				got = append(got, fmt.Sprintf("%s %s %s %s", req.Request.Method, req.Path, req.Body, req.Settings["secret"]))
				mu.Unlock()
				switch string(req.Body) {
				case "forged":
					return httpx.Errorf(http.StatusUnauthorized, "bad_signature", "sign", "does not match")
				case "bad":
					return fmt.Errorf("no call id")
				}
				req.Reply = &automation.PushReply{ContentType: "text/plain", Body: []byte("took " + req.Path)}
				return nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.AddPushReceiver(automation.PushReceiver{Connection: "x|othercrm", Receive: func(context.Context, *automation.PushRequest) error { return nil }}); err == nil {
			t.Fatal("a second receiver of othercrm was taken")
		}
		hookOf := func(conn int64) string {
			var h connection.Hook
			e.must(e.do("POST", fmt.Sprintf("/api/v1/connections/%d/hook", conn), nil), http.StatusOK).json(t, &h)
			return h.URL
		}
		other, crm := hookOf(testConn(t, e, "othercrm", "Other")), hookOf(testConn(t, e, "testcrm", "CRM"))
		post := func(url, body string) (int, string) {
			t.Helper()
			res, err := http.Post(url, "text/plain", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		for _, tc := range []struct {
			url, body string
			status    int
			answer    string
		}{
			{other, "one", 200, "took "},
			{other + "/events/call", "two", 200, "took events/call"},
			{other + "/events/summary", "forged", 401, `"field":"sign"`},
			{other, "bad", 400, "no call id"},
			{crm + "/events/call", `{"calls": [{"id": "p1"}], "sign": "s3cret-CRM"}`, 404, "not_found"},
		} {
			if status, answer := post(tc.url, tc.body); status != tc.status || !strings.Contains(answer, tc.answer) {
				t.Errorf("%s %s: %d %s, want %d %s", tc.url, tc.body, status, answer, tc.status, tc.answer)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if want := "POST  one s3cret-Other|POST events/call two s3cret-Other|POST events/summary forged s3cret-Other|POST  bad s3cret-Other"; strings.Join(got, "|") != want {
			t.Errorf("the receiver saw\n%s\nwant\n%s", strings.Join(got, "|"), want)
		}
		if labels := reg.PushTriggers("othercrm", "en"); len(labels) != 1 {
			t.Errorf("othercrm's page names %v", labels)
		}
	})
}
