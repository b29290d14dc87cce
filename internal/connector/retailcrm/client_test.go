package retailcrm_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/retailcrm"
)

func deps() retailcrm.Deps {
	return retailcrm.Deps{HTTP: &http.Client{Timeout: 10 * time.Second}, Limiters: &retailcrm.Limiters{}, Backoff: 5 * time.Millisecond}
}

func TestCheckClasses(t *testing.T) {
	f := newFake(t, "good")
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<html><body>Аккаунт не найден</body></html>")
	}))
	defer html.Close()
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"success":false,"errorMsg":"Account does not exist."}`)
	}))
	defer gone.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name  string
		acc   retailcrm.Account
		force int
		class string
	}{
		{"ok", retailcrm.Account{URL: f.URL, Key: "good", Site: "shop"}, 0, ""},
		{"ok without a site", retailcrm.Account{URL: f.URL, Key: "good"}, 0, ""},
		{"wrong key", retailcrm.Account{URL: f.URL, Key: "bad"}, 0, connection.ClassCredentials},
		{"no key", retailcrm.Account{URL: f.URL}, 0, connection.ClassCredentials},
		{"site the key does not reach", retailcrm.Account{URL: f.URL, Key: "good", Site: "other"}, 0, connection.ClassAccount},
		{"no such account (a page)", retailcrm.Account{URL: html.URL, Key: "good"}, 0, connection.ClassAccount},
		{"account does not exist", retailcrm.Account{URL: gone.URL, Key: "good"}, 0, connection.ClassAccount},
		{"no network", retailcrm.Account{URL: closed.URL, Key: "good"}, 0, connection.ClassNetwork},
		{"rate limited", retailcrm.Account{URL: f.URL, Key: "good"}, retailcrm.MaxAttempts, connection.ClassRateLimited},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.mu.Lock()
			f.force, f.forceCode = tc.force, http.StatusServiceUnavailable
			f.mu.Unlock()
			err := deps().Check(t.Context(), tc.acc)
			if tc.class == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if got := connection.Classify(err); got != tc.class {
				t.Fatalf("class %q, want %q (%v)", got, tc.class, err)
			}
		})
	}
}

func TestRefresh(t *testing.T) {
	f := newFake(t, "k")
	got, err := deps().Refresh(t.Context(), retailcrm.Account{URL: f.URL, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"sites":         "[map[code:shop name:Магазин shop url:https://shop.example.ru] map[code:shop2 name:Магазин shop2 url:https://shop2.example.ru]]",
		"order_types":   "[map[active:true code:eshop-individual name:Физическое лицо] map[active:true code:eshop-legal name:Юридическое лицо]]",
		"statuses":      "[map[active:true code:new group:new name:Новый] map[active:true code:assembly group:assembling name:Комплектуется] map[active:true code:complete group:complete name:Выполнен]]",
		"status_groups": "[map[code:new name:Новый statuses:[new]] map[code:assembling name:Комплектование statuses:[assembly]] map[code:complete name:Выполнен statuses:[complete]]]",
	}
	for k, w := range want {
		if fmt.Sprint(got[k]) != w {
			t.Errorf("%s: %v\nwant %s", k, got[k], w)
		}
	}
	cf, _ := got["custom_fields"].([]any)
	if len(cf) != 9 || fmt.Sprint(cf[8]) != "map[code:tags entity:order name:tags type:text]" {
		t.Fatalf("custom fields %v", cf)
	}
	// A refusal is classed like a check's.
	_, err = deps().Refresh(t.Context(), retailcrm.Account{URL: f.URL, Key: "nope"})
	if connection.Classify(err) != connection.ClassCredentials {
		t.Fatalf("wrong key: %v", err)
	}
}

// Every page is walked, and a wrong limit is retailCRM's 400 with the
// field's message.
func TestPages(t *testing.T) {
	f := newFake(t, "k")
	for i := range 250 {
		f.customers = append(f.customers, map[string]any{"id": int64(i + 1), "site": "shop", "firstName": fmt.Sprint("c", i)})
	}
	c := deps().Client(retailcrm.Account{URL: f.URL, Key: "k"})
	var n, pages int
	err := c.Pages(t.Context(), "/customers", url.Values{}, "customers", 100, func(items []any) (bool, error) {
		pages++
		n += len(items)
		return true, nil
	})
	if err != nil || n != 250 || pages != 3 {
		t.Fatalf("%d items in %d pages: %v", n, pages, err)
	}
	// Stopping early stops.
	pages = 0
	_ = c.Pages(t.Context(), "/customers", url.Values{}, "customers", 20, func([]any) (bool, error) { pages++; return pages < 2, nil })
	if pages != 2 {
		t.Fatalf("%d pages after a stop at 2", pages)
	}
	err = c.Pages(t.Context(), "/customers", url.Values{}, "customers", 30, func([]any) (bool, error) { return true, nil })
	var ae *retailcrm.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Msg != "Errors in the input parameters" || !strings.Contains(ae.Errors["limit"], "20, 50, 100") {
		t.Fatalf("limit 30: %v", err)
	}
}

// The documented answers: success, refusal with errors as an object or a
// list, an HTML page, something else.
func TestParseAnswer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		ok     bool
		err    string
		class  string
	}{
		{"success", 200, `{"success": true, "id": 5}`, true, "", ""},
		{"created", 201, `{"success":true,"id":7,"order":{"id":7}}`, true, "", ""},
		{"validation", 400, `{"success":false,"errorMsg":"Errors in the entity format","errors":{"site":"Site not found"}}`, false,
			"HTTP 400: Errors in the entity format; site: Site not found", connection.ClassOther},
		{"errors as a list", 400, `{"success":false,"errorMsg":"Errors in the entity format","errors":["Phone is invalid"]}`, false,
			"; 0: Phone is invalid", connection.ClassOther},
		{"wrong key", 403, `{"success":false,"errorMsg":"Wrong \"apiKey\" value."}`, false, `Wrong "apiKey" value.`, connection.ClassCredentials},
		{"missing key", 401, `{"success":false,"errorMsg":"\"apiKey\" is missing."}`, false, "is missing", connection.ClassCredentials},
		{"no account", 404, `{"success":false,"errorMsg":"Account does not exist."}`, false, "Account does not exist.", connection.ClassAccount},
		{"page", 200, "  <!DOCTYPE html><html></html>", false, "an HTML page", connection.ClassAccount},
		{"rate", 503, `{"success":false,"errorMsg":"Rate limit exceeded"}`, false, "HTTP 503", connection.ClassRateLimited},
		{"not JSON", 502, "Bad Gateway", false, "not a JSON answer", connection.ClassOther},
		{"no success", 200, `{"id": 1}`, false, `no "success"`, connection.ClassOther},
		{"success false on 200", 200, `{"success": false, "errorMsg": "Not found"}`, false, "Not found", connection.ClassOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := retailcrm.ParseAnswer("GET", "/api/v5/x", tc.status, []byte(tc.body))
			if tc.ok {
				if err != nil || m["success"] != true {
					t.Fatalf("%v %v", m, err)
				}
				return
			}
			var ae *retailcrm.APIError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), tc.err) || ae.Class() != tc.class {
				t.Fatalf("%v (class %v), want %q %s", err, classOf(ae), tc.err, tc.class)
			}
		})
	}
}

func classOf(ae *retailcrm.APIError) string {
	if ae == nil {
		return "-"
	}
	return ae.Class()
}

func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{`{"success":true}`, `{"success":false,"errorMsg":"x","errors":{"a":"b"}}`, `{"success":false,"errors":[1,{"a":2}]}`, `<html>`, ``, `null`, `[]`} {
		f.Add(200, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		m, err := retailcrm.ParseAnswer("GET", "/x", status, body)
		if err == nil && (m == nil || m["success"] != true) {
			t.Fatalf("accepted %q without success", body)
		}
		if err != nil {
			var ae *retailcrm.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("not an APIError: %v", err)
			}
			_ = ae.Class()
		}
	})
}

// 503 and 429 are tried again, after Retry-After when given, up to
// MaxAttempts; then the refusal is "rate limited".
func TestRetries(t *testing.T) {
	f := newFake(t, "k")
	c := deps().Client(retailcrm.Account{URL: f.URL, Key: "k"})
	for _, tc := range []struct {
		name   string
		force  int
		code   int
		retry  string
		ok     bool
		minReq int
	}{
		{"two 503 then ok", 2, 503, "", true, 3},
		{"a 429 with Retry-After", 1, 429, "1", true, 2},
		{"a 503 with an HTTP date", 1, 503, time.Now().Add(-time.Second).UTC().Format(http.TimeFormat), true, 2},
		{"always 503", retailcrm.MaxAttempts, 503, "", false, retailcrm.MaxAttempts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.mu.Lock()
			f.force, f.forceCode, f.forceRetry = tc.force, tc.code, tc.retry
			before := f.requests
			f.mu.Unlock()
			_, err := c.GetUnversioned(t.Context(), "/credentials")
			req, _ := f.counts()
			if (err == nil) != tc.ok || req-before != tc.minReq {
				t.Fatalf("err %v after %d requests", err, req-before)
			}
			if !tc.ok && connection.Classify(retailcrmFail(err)) != connection.ClassRateLimited {
				t.Fatalf("class of %v", err)
			}
			if tc.retry == "1" {
				f.mu.Lock()
				gap := f.at[len(f.at)-1].Sub(f.at[len(f.at)-2])
				f.mu.Unlock()
				if gap < 900*time.Millisecond {
					t.Fatalf("Retry-After 1 waited %v", gap)
				}
			}
		})
	}
	// A cancelled context stops the waiting.
	f.mu.Lock()
	f.force, f.forceCode, f.forceRetry = 1, 503, "30"
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.GetUnversioned(ctx, "/credentials"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled: %v", err)
	}
}

func retailcrmFail(err error) error {
	var ae *retailcrm.APIError
	if errors.As(err, &ae) {
		return connection.Fail(ae.Class(), err)
	}
	return err
}

// Clients of one key share its limiter: 40 requests from 4 goroutines
// all succeed, and the fake's 10 a second refuses none of them — or one
// or two on a loaded machine, where a request that left on time waited to
// be served (the client then waits and tries again).
func TestSharedLimiter(t *testing.T) {
	f := newFake(t, "k")
	d := deps()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 4 {
		wg.Go(func() {
			c := d.Client(retailcrm.Account{URL: f.URL, Key: "k"})
			for range 10 {
				if _, err := c.GetUnversioned(t.Context(), "/credentials"); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if req, limited := f.counts(); limited > 2 || req != 40+limited {
		t.Fatalf("%d requests, %d refused for the rate", req, limited)
	}
}
