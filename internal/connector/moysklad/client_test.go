package moysklad_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/moysklad"
	"github.com/obmen/obmen/internal/httpx"
)

var loopback = httpx.OutboundPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

// fast limits keep tests quick; the rate limit tests set their own.
var fast = moysklad.Limits{Every: time.Millisecond, Burst: 50, Parallel: 4, Retries: 3, MaxWait: 5 * time.Second}

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func fakeClient(f *fake, acc moysklad.Account, l moysklad.Limits) *moysklad.Client {
	if acc.URL == "" {
		acc.URL = f.Base()
	}
	return &moysklad.Client{Account: acc, HTTP: httpx.NewOutboundClient(loopback), Budgets: moysklad.NewBudgets(l)}
}

func basicAccount(f *fake) moysklad.Account {
	return moysklad.Account{Login: f.Login, Password: f.Password}
}

func TestCheck(t *testing.T) {
	f := newFake(t)
	closed := newFake(t)
	closed.Srv.Close()
	for _, tc := range []struct {
		name  string
		acc   moysklad.Account
		class string
	}{
		{"login and password", moysklad.Account{Login: "admin@shop", Password: "secret"}, ""},
		{"token", moysklad.Account{Token: "tok-123"}, ""},
		{"wrong password", moysklad.Account{Login: "admin@shop", Password: "nope"}, connection.ClassCredentials},
		{"wrong token", moysklad.Account{Token: "other"}, connection.ClassCredentials},
		{"wrong address", moysklad.Account{Token: "tok-123", URL: f.Srv.URL + "/api/remap/1.1"}, connection.ClassAccount},
		{"no network", moysklad.Account{Token: "tok-123", URL: closed.Base()}, connection.ClassNetwork},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fakeClient(f, tc.acc, fast).Check(t.Context())
			if tc.class == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if got := connection.Classify(err); got != tc.class {
				t.Fatalf("class %q (%v), want %q", got, err, tc.class)
			}
		})
	}
	t.Run("rate limited", func(t *testing.T) {
		f.FailNext(429, 429, 429, 429)
		s := &sleeps{}
		c := fakeClient(f, basicAccount(f), fast)
		c.Sleep = s.sleep
		err := c.Check(t.Context())
		if got := connection.Classify(err); got != connection.ClassRateLimited {
			t.Fatalf("class %q (%v)", got, err)
		}
		// Three retries, each after X-Lognex-Retry-After (20 ms).
		if len(s.d) != 3 || !near(s.d[0], 20*time.Millisecond) {
			t.Fatalf("waits %v", s.d)
		}
	})
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		acc   moysklad.Account
		field string
	}{
		{moysklad.Account{Token: "t"}, ""},
		{moysklad.Account{Login: "a@b", Password: "p"}, ""},
		{moysklad.Account{}, "token"},
		{moysklad.Account{Login: "a@b"}, "password"},
		{moysklad.Account{Password: "p"}, "login"},
		{moysklad.Account{Login: "admin", Password: "p"}, "login"},
		{moysklad.Account{Token: "t", URL: "ftp://x"}, "url"},
	} {
		ps := tc.acc.Problems()
		if tc.field == "" && len(ps) > 0 || tc.field != "" && (len(ps) != 1 || ps[0].Field != tc.field) {
			t.Errorf("%+v: %v, want a problem with %q", tc.acc, ps, tc.field)
		}
	}
}

// The API refuses a request without Accept-Encoding: gzip (415, no
// body); the client always asks and decodes.
func TestGzip(t *testing.T) {
	f := newFake(t)
	req, _ := http.NewRequest("GET", f.Base()+"/context/employee", nil)
	req.Header.Set("Accept-Encoding", "identity")
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("fake without gzip: %d", res.StatusCode)
	}
	var emp map[string]any
	if err := fakeClient(f, basicAccount(f), fast).Do(t.Context(), "GET", "context/employee", nil, nil, &emp); err != nil || emp["uid"] != "admin@shop" {
		t.Fatalf("%v %v", emp, err)
	}
}

func TestPaging(t *testing.T) {
	f := newFake(t)
	for i := range 250 {
		f.AddCounterparty(fmt.Sprintf("Клиент %d", i), "", "")
	}
	c := fakeClient(f, basicAccount(f), fast)
	rows, err := c.ListAll(t.Context(), "entity/counterparty", nil, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 250 || rows[249]["name"] != "Клиент 249" {
		t.Fatalf("%d rows", len(rows))
	}
	var pages []string
	for _, c := range f.CallLog() {
		if strings.HasPrefix(c, "GET entity/counterparty?") {
			pages = append(pages, c)
		}
	}
	if len(pages) != 3 || !strings.Contains(pages[2], "offset=200") {
		t.Fatalf("pages %v", pages)
	}
	rows, err = c.ListAll(t.Context(), "entity/counterparty", nil, 100, 120)
	if err != nil || len(rows) != 120 {
		t.Fatalf("%d %v", len(rows), err)
	}
}

func TestErrors(t *testing.T) {
	f := newFake(t)
	c := fakeClient(f, basicAccount(f), fast)
	err := c.Do(t.Context(), "POST", "entity/counterparty", nil, map[string]any{"phone": "1"}, nil)
	var ae *moysklad.APIError
	if !errors.As(err, &ae) || ae.Status != 412 || !ae.HasCode(3000) || !strings.Contains(ae.Error(), "поле 'name' не может быть пустым") ||
		ae.Errors[0].MoreInfo == "" {
		t.Fatalf("%#v", err)
	}
	err = c.Do(t.Context(), "GET", "entity/customerorder/4f0c8e4a-0000-11e6-8a84-bae500000001", nil, nil, nil)
	if !errors.As(err, &ae) || ae.Status != 404 || !ae.HasCode(1021) {
		t.Fatalf("%v", err)
	}
	err = c.Do(t.Context(), "GET", "entity/customerorder", url.Values{"filter": {"updated>=вчера"}}, nil, nil)
	if !errors.As(err, &ae) || ae.Status != 400 || !ae.HasCode(1014) {
		t.Fatalf("%v", err)
	}
	// An href elsewhere is not followed with the account's credentials.
	if err := c.Do(t.Context(), "GET", "https://example.org/api/remap/1.2/entity/customerorder/x", nil, nil, nil); err == nil {
		t.Fatal("an href outside the account was called")
	}
}

// 503 and 429 are retried after the wait the server names, then answer.
func TestRetries(t *testing.T) {
	f := newFake(t)
	s := &sleeps{}
	c := fakeClient(f, basicAccount(f), fast)
	c.Sleep = s.sleep
	f.FailNext(503, 429)
	if err := c.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The 503 named no wait: a second, and up to half again of jitter.
	if len(s.d) != 2 || s.d[0] < time.Second || s.d[0] > 1500*time.Millisecond || !near(s.d[1], 20*time.Millisecond) {
		t.Fatalf("waits %v", s.d)
	}
	// 1073, too many parallel requests, names no wait: a second.
	s = &sleeps{} // and a fresh budget: the 429 above paused this one (the hook does not wait)
	c = fakeClient(f, basicAccount(f), fast)
	c.Sleep = s.sleep
	f.FailNext(1073)
	if err := c.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(s.d) != 1 || !near(s.d[0], time.Second) {
		t.Fatalf("waits %v", s.d)
	}
	f.FailNext(503, 503, 503, 503)
	var ae *moysklad.APIError
	if err := c.Check(t.Context()); !errors.As(err, &ae) || ae.Status != 503 {
		t.Fatalf("%v", err)
	}
}

// The budget headers: when X-RateLimit-Remaining reaches 0 the client
// waits for X-Lognex-Reset before the next request, so a client whose
// own limiter is too generous still meets no 429.
func TestBudgetHeaders(t *testing.T) {
	f := newFake(t)
	f.Limit, f.Window = 3, 300*time.Millisecond
	c := fakeClient(f, basicAccount(f), moysklad.Limits{Every: time.Microsecond, Burst: 100, Parallel: 1})
	for i := range 10 {
		if err := c.Check(t.Context()); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if _, tooMany, _ := f.Stats(); tooMany != 0 {
		t.Fatalf("%d answers 429", tooMany)
	}
}

// Many goroutines share one account's budget: never more than Parallel
// requests in flight, no 1073.
func TestParallelCap(t *testing.T) {
	f := newFake(t)
	bs := moysklad.NewBudgets(moysklad.Limits{Every: time.Microsecond, Burst: 100, Parallel: 4})
	hc := httpx.NewOutboundClient(loopback)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &moysklad.Client{Account: moysklad.Account{Token: f.Token, URL: f.Base()}, HTTP: hc, Budgets: bs}
			errs <- c.Check(context.Background())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, tooMany, maxFlight := f.Stats(); tooMany != 0 || maxFlight > 4 {
		t.Fatalf("429s %d, in flight at most %d", tooMany, maxFlight)
	}
}

func TestRefresh(t *testing.T) {
	f := newFake(t)
	got, err := fakeClient(f, basicAccount(f), fast).Refresh(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	orgs := got["organizations"].([]any)
	states := got["states"].([]any)
	attrs := got["attributes"].([]any)
	if len(orgs) != 1 || orgs[0].(map[string]any)["name"] != "ООО «Ромашка»" || len(states) != 3 || len(attrs) != 9 ||
		!strings.HasSuffix(attrs[2].(map[string]any)["href"].(string), "/entity/customerorder/metadata/attributes/0cd74e1e-2e59-11e6-8a84-bae500000002") {
		t.Fatalf("%v", got)
	}
}

func TestWebhookEntity(t *testing.T) {
	f := newFake(t)
	c := fakeClient(f, basicAccount(f), fast)
	h, err := c.CreateWebhook(t.Context(), "https://obmen.example.ru/hooks/moysklad/abc")
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.Webhooks(t.Context())
	if err != nil || len(list) != 1 || list[0].ID != h.ID || list[0].EntityType != "customerorder" || list[0].Action != "UPDATE" || list[0].DiffType != "FIELDS" {
		t.Fatalf("%+v %v", list, err)
	}
	if err := c.DeleteWebhook(t.Context(), h.ID); err != nil {
		t.Fatal(err)
	}
	var ae *moysklad.APIError
	if err := c.DeleteWebhook(t.Context(), h.ID); !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("deleted twice: %v", err)
	}
	if err := c.DeleteWebhook(t.Context(), "../counterparty"); err == nil {
		t.Fatal("a path for an id")
	}
}

func TestFindCounterparty(t *testing.T) {
	f := newFake(t)
	id := f.AddCounterparty("Иван", "+7 (925) 642-42-95", "Ivan@Example.ru")
	petr := f.AddCounterparty("Пётр", "8-925-1112233", "petr@example.ru")
	c := fakeClient(f, basicAccount(f), fast)
	for _, tc := range []struct {
		by    []string
		in    map[string]any
		found string
	}{
		{[]string{"phone"}, map[string]any{"phone": "8 925 6424295"}, id},
		{[]string{"phone"}, map[string]any{"phone": "+79256424295"}, id},
		{[]string{"phone"}, map[string]any{"phone": "+79250000000"}, ""},
		{[]string{"phone"}, map[string]any{"phone": "+7 925 111-22-33"}, petr}, // stored in no usual spelling: found by its ending
		{[]string{"email"}, map[string]any{"email": "ivan@example.ru"}, id},
		{[]string{"email"}, map[string]any{"email": "van@example.ru"}, ""}, // "~" finds it, the exact match refuses
		{[]string{"phone", "email"}, map[string]any{"phone": "+79250000000", "email": "IVAN@example.ru"}, id},
	} {
		got, _, err := moysklad.FindCounterparty(t.Context(), c, tc.by, tc.in)
		if err != nil {
			t.Fatal(err)
		}
		gotID := ""
		if got != nil {
			gotID = got["id"].(string)
		}
		if gotID != tc.found {
			t.Errorf("%v %v: found %q, want %q", tc.by, tc.in, gotID, tc.found)
		}
	}
}

func TestSyncID(t *testing.T) {
	a, b := moysklad.SyncID("automation:run:1:step:s"), moysklad.SyncID("automation:run:1:step:s")
	if a != b || a == moysklad.SyncID("automation:run:2:step:s") || len(a) != 36 || a[14] != '5' {
		t.Fatalf("%s %s", a, b)
	}
}

// near: a wait the client computes from a deadline is a little under.
func near(d, want time.Duration) bool { return d > want/2 && d <= want }
