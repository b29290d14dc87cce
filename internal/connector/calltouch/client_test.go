package calltouch_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/calltouch"
)

// day15 is a day whose date reads differently as dd/mm and mm/dd: a
// client that mixes the journals' formats is refused by the fake.
func day15(t *testing.T, f *fake, h, m int) time.Time {
	t.Helper()
	return time.Date(2026, 12, 15, h, m, 0, 0, f.loc)
}

func client(f *fake, d calltouch.Deps) *calltouch.Client {
	if d.HTTP == nil {
		d.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if d.Backoff == 0 {
		d.Backoff = 10 * time.Millisecond
	}
	if d.Rate == 0 {
		d.Rate = 1000 // the limiter is measured by the benchmark
	}
	return d.Client(calltouch.Account{SiteID: f.site, Token: f.token, URL: f.URL(), Zone: "Europe/Moscow"})
}

func TestCallsDiaryPaging(t *testing.T) {
	f := newFake(t)
	f.limit = 0
	base := day15(t, f, 0, 0)
	for i := range 2345 {
		f.addCall(100000+i, base.Add(time.Duration(i)*30*time.Second), nil)
	}
	f.addCall(999, base.AddDate(0, 0, 1), nil) // the next day: not asked
	c := client(f, calltouch.Deps{})
	calls, err := c.Calls(t.Context(), base, base.Add(23*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2345 {
		t.Fatalf("%d calls, want 2345", len(calls))
	}
	seen := map[calltouch.ID]bool{}
	for _, c := range calls {
		if seen[c.CallID] {
			t.Fatalf("call %s twice", c.CallID)
		}
		seen[c.CallID] = true
	}
	hits := f.hits("calls-diary")
	if len(hits) != 3 {
		t.Fatalf("%d pages read, want 3", len(hits))
	}
	q := hits[2].Query
	if q["dateFrom"][0] != "15/12/2026" || q["dateTo"][0] != "15/12/2026" || q["page"][0] != "3" || q["limit"][0] != "1000" ||
		q["clientApiId"][0] != f.token || q["withCallTags"][0] != "true" || hits[2].Path != "/calls-service/RestAPI/31415/calls-diary/calls" {
		t.Fatalf("query %v path %s", q, hits[2].Path)
	}
	// The call's data.
	data, at, err := calls[0].Data(f.loc)
	if err != nil || !at.Equal(base) || data["call_id"] != "100000" || data["caller_number"] != "79250100000" || data["successful"] != true ||
		data["utm_campaign"] != "sofa" || data["google_client_id"] != "GA1.2.3.4" || data["yandex_client_id"] != "16000000001" ||
		data["tags_text"] != "1|Москва" || data["session_id"] != "105000" || data["date"] != "2026-12-15T00:00:00+03:00" {
		t.Fatalf("data %v at %v err %v", data, at, err)
	}
}

func TestRequestsJournal(t *testing.T) {
	f := newFake(t)
	f.limit = 0
	f.addRequest(1, day15(t, f, 9, 59))
	f.addRequest(2, day15(t, f, 10, 0))
	f.addRequest(3, day15(t, f, 10, 30))
	f.addRequest(4, day15(t, f, 11, 1))
	c := client(f, calltouch.Deps{})
	rs, err := c.Requests(t.Context(), day15(t, f, 10, 0), day15(t, f, 11, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].RequestID != "2" || rs[1].RequestID != "3" {
		t.Fatalf("requests %+v", rs)
	}
	q := f.hits("requests")[0].Query
	if q["dateFrom"][0] != "12/15/2026" || q["timeFrom"][0] != "10:00:00" || q["timeTo"][0] != "11:00:00" || q["siteId"][0] != f.site {
		t.Fatalf("query %v", q)
	}
	data, _, err := rs[0].Data(f.loc)
	if err != nil || data["request_id"] != "2" || data["name"] != "Анна Петрова" || data["phone"] != "79161234567" ||
		data["email"] != "anna@example.ru" || data["utm_source"] != "google" || data["tags_text"] != "горячий" || data["date"] != "2026-12-15T10:00:00+03:00" {
		t.Fatalf("data %v %v", data, err)
	}
}

// Every documented failure, as the connection check classes it.
func TestCheckClasses(t *testing.T) {
	f := newFake(t)
	f.limit = 0
	gone := newFake(t)
	gone.srv.Close()
	for _, tc := range []struct {
		name, site, token, url string
		fail                   []int
		class                  string
	}{
		{"ok", f.site, f.token, f.URL(), nil, ""},
		{"wrong token", f.site, "nope", f.URL(), nil, connection.ClassCredentials},
		{"wrong site", "27", f.token, f.URL(), nil, connection.ClassAccount},
		{"no network", f.site, f.token, gone.URL(), nil, connection.ClassNetwork},
		{"rate limited", f.site, f.token, f.URL(), []int{429, 429, 429, 429, 429}, connection.ClassRateLimited},
		{"server down", f.site, f.token, f.URL(), []int{500}, connection.ClassOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.mu.Lock()
			f.fail = tc.fail
			f.mu.Unlock()
			c := (calltouch.Deps{HTTP: &http.Client{Timeout: 5 * time.Second}, Backoff: time.Millisecond, Rate: 1000}).
				Client(calltouch.Account{SiteID: tc.site, Token: tc.token, URL: tc.url})
			err := c.Check(t.Context(), day15(t, f, 12, 0))
			if got := classOf(err); got != tc.class {
				t.Fatalf("class %q, want %q (%v)", got, tc.class, err)
			}
		})
	}
}

func classOf(err error) string {
	if err == nil {
		return ""
	}
	return connection.Classify(err)
}

// A 503 and a 429 are retried, then the answer comes; a refusal is not.
func TestRetries(t *testing.T) {
	f := newFake(t)
	f.limit = 0
	f.addCall(1, day15(t, f, 10, 0), nil)
	f.fail = []int{503, 429}
	c := client(f, calltouch.Deps{})
	calls, err := c.Calls(t.Context(), day15(t, f, 0, 0), day15(t, f, 23, 0))
	if err != nil || len(calls) != 1 {
		t.Fatalf("%v %v", calls, err)
	}
	if n := len(f.hits("calls-diary")); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
	// Bounded: a 429 that never ends gives up after MaxRetries.
	f.fail = []int{429, 429, 429, 429, 429, 429, 429}
	_, err = c.Calls(t.Context(), day15(t, f, 0, 0), day15(t, f, 23, 0))
	var ae *calltouch.APIError
	if !errors.As(err, &ae) || ae.Status != 429 || !ae.Temporary() {
		t.Fatalf("err %v", err)
	}
	if n := len(f.hits("calls-diary")); n != 3+1+calltouch.MaxRetries {
		t.Fatalf("%d requests", n)
	}
	f.fail = nil
	// The fake's own rate limit answers 429 with Retry-After: honoured.
	f.limit = 1
	for range 3 {
		if _, err := c.Calls(t.Context(), day15(t, f, 0, 0), day15(t, f, 23, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if _, limited, _ := f.stats(); limited == 0 {
		t.Fatal("the fake never limited: the test proves nothing")
	}
}

func TestDeals(t *testing.T) {
	f := newFake(t)
	f.limit = 0
	c := client(f, calltouch.Deps{})
	ctx := t.Context()
	id, err := c.CreateDealForTest(ctx, 12345, "RC-1", "PENDING", 0)
	if err != nil || id == "" {
		t.Fatalf("create: %q %v", id, err)
	}
	h := f.hits("client-order/create")[0]
	if h.Header.Get("Access-Token") != f.token || h.Header.Get("SiteId") != f.site || !strings.HasPrefix(h.Header.Get("Content-Type"), "application/json") ||
		h.Body["crm"] != "Obmen" {
		t.Fatalf("create request %+v", h)
	}
	d := f.deal("RC-1")
	m := d["matching"].([]any)[0].(map[string]any)
	if d["status"] != "PENDING" || d["revenue"] != "0.00" || m["type"] != "call" || m["callParams"].(map[string]any)["callId"] != float64(12345) {
		t.Fatalf("deal %v", d)
	}
	// The documented errors: a deal twice, a deal unknown, a wrong key.
	_, err = c.CreateDealForTest(ctx, 12345, "RC-1", "PENDING", 0)
	var ae *calltouch.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Message, "orders[0].orderNumber: Order RC-1 already exists") || ae.Temporary() {
		t.Fatalf("duplicate: %v", err)
	}
	if err := c.UpdateDealForTest(ctx, "RC-2", "COMPLETED"); !errors.As(err, &ae) || !strings.Contains(ae.Message, "Order RC-2 not found") {
		t.Fatalf("unknown: %v", err)
	}
	if err := c.UpdateDealForTest(ctx, "RC-1", "Оплачен"); err != nil {
		t.Fatal(err)
	}
	bad := (calltouch.Deps{HTTP: http.DefaultClient, Rate: 1000}).Client(calltouch.Account{SiteID: f.site, Token: "x", URL: f.URL()})
	if err := bad.UpdateDealForTest(ctx, "RC-1", "x"); !errors.As(err, &ae) || ae.Class() != connection.ClassCredentials ||
		!strings.Contains(ae.Message, "Unauthorized: Invalid Access-Token") {
		t.Fatalf("wrong key: %v", err)
	}
	// Refresh: the seed's statuses and the ones the deals are in.
	dict, err := c.Dictionaries(ctx, day15(t, f, 12, 0))
	if err != nil {
		t.Fatal(err)
	}
	st := dict["statuses"].([]any)
	if len(st) != 3 || st[0] != "PENDING" || st[1] != "COMPLETED" || st[2] != "Оплачен" {
		t.Fatalf("statuses %v", st)
	}
	if s := dict["sites"].([]any)[0].(map[string]any)["id"]; s != f.site {
		t.Fatalf("sites %v", dict["sites"])
	}
}

func TestDays(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Moscow")
	from := time.Date(2026, 12, 14, 23, 30, 0, 0, loc)
	got := calltouch.DaysForTest(from, from.Add(25*time.Hour), loc)
	if len(got) != 3 || !got[0][0].Equal(from) || got[0][1].Format("15:04:05") != "23:59:59" || got[1][0].Format("02 15:04") != "15 00:00" ||
		!got[2][1].Equal(from.Add(25*time.Hour)) {
		t.Fatalf("days %v", got)
	}
	if got := calltouch.DaysForTest(from, from, loc); len(got) != 1 {
		t.Fatalf("one moment: %v", got)
	}
}
