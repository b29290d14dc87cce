package calltouch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/httpx"
)

// MaxRetries bounds the retries of a request Calltouch answered 429 or
// 503; MaxWait bounds one wait: a longer Retry-After is not waited, the
// *APIError (with RetryAfter) goes back to the caller.
const (
	MaxRetries = 4
	MaxWait    = 30 * time.Second
	// PageLimit is the calls diary's largest page.
	PageLimit = 1000
	maxBody   = 32 << 20
)

// limiter keeps an account's requests within its limit by a sliding
// window: of the last n requests, the first was sent at least a window
// ago. The window is a tenth longer than the limit's second: Calltouch
// counts requests as they reach it, and one delayed on the way must not
// make a sixth within its second (a token bucket, scheduled to the
// millisecond, let goroutines woken late send six within one second on
// a loaded machine; the benchmark showed it).
type limiter struct {
	mu     sync.Mutex
	n      int
	window time.Duration
	sent   []time.Time
}

// limitMargin stretches the window.
const limitMargin = 1.1

func newLimiter(perSecond float64) *limiter {
	n := max(1, int(perSecond))
	return &limiter{n: n, window: time.Duration(float64(n) / perSecond * limitMargin * float64(time.Second))}
}

// Wait takes a place for one request, waiting for it as long as needed.
func (l *limiter) Wait(ctx context.Context) error {
	for {
		l.mu.Lock()
		now := time.Now()
		if len(l.sent) < l.n || now.Sub(l.sent[0]) >= l.window {
			if len(l.sent) == l.n {
				l.sent = l.sent[1:]
			}
			l.sent = append(l.sent, now)
			l.mu.Unlock()
			return nil
		}
		wait := l.window - now.Sub(l.sent[0])
		l.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Client calls one account's API.
type Client struct {
	Account Account
	HTTP    *http.Client
	Limit   *limiter
	Backoff time.Duration
}

// APIError is Calltouch's answer to a request it refused.
type APIError struct {
	Method  string
	Status  int
	Message string
	// RetryAfter is what a 429 or 503 asked to wait.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("calltouch %s: HTTP %d", e.Method, e.Status)
	}
	return fmt.Sprintf("calltouch %s: HTTP %d: %s", e.Method, e.Status, e.Message)
}

// Class is the connection check's class of the refusal.
func (e *APIError) Class() string {
	switch {
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return connection.ClassCredentials
	case e.Status == http.StatusNotFound:
		return connection.ClassAccount
	case e.Status == http.StatusTooManyRequests:
		return connection.ClassRateLimited
	}
	return connection.ClassOther
}

// Temporary: worth another attempt later (rate-limited, unavailable, a
// server's failure).
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// checkError marks err with its class for the connection check.
func checkError(err error) error {
	var ae *APIError
	if errors.As(err, &ae) {
		return connection.Fail(ae.Class(), err)
	}
	return err
}

// do sends one request, waiting for the account's turn, and retries a
// 429 or 503 after Retry-After (or a doubling backoff with jitter), at
// most MaxRetries times (httpx.Retry). A 2xx answer's body is decoded
// into out.
func (c *Client) do(ctx context.Context, method, name, path string, query url.Values, body any, out any) error {
	u := c.Account.base() + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("calltouch %s: %w", name, err)
		}
		payload = b
	}
	p := httpx.Retry{Attempts: 1 + MaxRetries, Backoff: c.Backoff, Jitter: 0.5, MaxWait: MaxWait}
	var last error
	err := p.Do(ctx, func(ctx context.Context, _ int) httpx.Attempt {
		if c.Limit != nil {
			if err := c.Limit.Wait(ctx); err != nil {
				last = fmt.Errorf("calltouch %s: %w", name, err)
				return httpx.Attempt{Err: last}
			}
		}
		err := c.once(ctx, method, name, u, payload, out)
		last = err
		var ae *APIError
		if errors.As(err, &ae) && (ae.Status == http.StatusTooManyRequests || ae.Status == http.StatusServiceUnavailable) {
			return httpx.Attempt{Err: err, Again: true, Wait: ae.RetryAfter}
		}
		return httpx.Attempt{Err: err}
	})
	if err != nil && err != last {
		// The context ended the wait for the next try.
		return fmt.Errorf("calltouch %s: %w", name, err)
	}
	return err
}

func (c *Client) once(ctx context.Context, method, name, u string, payload []byte, out any) error {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("calltouch %s: %w", name, err)
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		// The deals API v2 authenticates by headers; the journals by
		// clientApiId in the query.
		req.Header.Set("Content-Type", "application/json;charset=UTF-8")
		req.Header.Set("Access-Token", c.Account.Token)
		req.Header.Set("SiteId", c.Account.SiteID)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("calltouch %s: %w", name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("calltouch %s: read the answer: %w", name, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &APIError{Method: name, Status: resp.StatusCode, Message: errorMessage(b), RetryAfter: httpx.RetryAfter(resp.Header, time.Now())}
	}
	if out == nil || len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("calltouch %s: the answer is not the documented JSON: %w (%s)", name, err, snippet(b))
	}
	return nil
}

// errorMessage is what an error body says. Calltouch's services answer
// errors in more than one shape: the Spring default {"timestamp",
// "status", "error", "message", "path"}, the lead service's
// {"errors":[{"message"…}]} and {"data":null,"errorCode":…,"message":…},
// or plain text. The deals API's validation refusal is read as
// {"data":{"validationErrorData":…}} too: no help page shows that
// answer, but integrations written against the live API read it there
// (error.response.data.data.validationErrorData).
func errorMessage(b []byte) string {
	var e struct {
		Message   string `json:"message"`
		Error     any    `json:"error"`
		ErrorCode any    `json:"errorCode"`
		Errors    []struct {
			Message string `json:"message"`
			Field   string `json:"field"`
			Code    any    `json:"code"`
		} `json:"errors"`
		Data struct {
			Validation json.RawMessage `json:"validationErrorData"`
		} `json:"data"`
	}
	if json.Unmarshal(b, &e) != nil {
		var loose struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &loose) == nil && loose.Message != "" {
			return loose.Message
		}
		return snippet(b)
	}
	var parts []string
	if v := bytes.TrimSpace(e.Data.Validation); len(v) > 0 && string(v) != "null" {
		parts = append(parts, "validation: "+snippet(v))
	}
	if e.ErrorCode != nil {
		parts = append(parts, fmt.Sprint(e.ErrorCode))
	}
	if s, ok := e.Error.(string); ok && s != "" && s != e.Message {
		parts = append(parts, s)
	}
	if e.Message != "" {
		parts = append(parts, e.Message)
	}
	for _, x := range e.Errors {
		m := x.Message
		if x.Field != "" {
			m = x.Field + ": " + m
		}
		parts = append(parts, m)
	}
	if len(parts) == 0 {
		return snippet(b)
	}
	return strings.Join(parts, ": ")
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// callsPage is the calls diary's page envelope (asked with page and
// limit).
type callsPage struct {
	Page         int    `json:"page"`
	PageTotal    int    `json:"pageTotal"`
	PageSize     int    `json:"pageSize"`
	RecordsTotal int    `json:"recordsTotal"`
	Records      []Call `json:"records"`
}

// Calls reads the calls diary from one day to another (the account's
// days, inclusive), every page.
func (c *Client) Calls(ctx context.Context, from, to time.Time) ([]Call, error) {
	var all []Call
	for page := 1; ; page++ {
		p, err := c.callsPage(ctx, from, to, page, PageLimit)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Records...)
		if p.PageTotal <= page || len(p.Records) == 0 {
			return all, nil
		}
	}
}

func (c *Client) callsPage(ctx context.Context, from, to time.Time, page, limit int) (callsPage, error) {
	loc := c.Account.location()
	q := url.Values{"clientApiId": {c.Account.Token}, "dateFrom": {from.In(loc).Format(callsDay)}, "dateTo": {to.In(loc).Format(callsDay)},
		"page": {strconv.Itoa(page)}, "limit": {strconv.Itoa(limit)}, "withCallTags": {"true"}}
	var p callsPage
	err := c.do(ctx, http.MethodGet, "calls-diary", "/calls-service/RestAPI/"+url.PathEscape(c.Account.SiteID)+"/calls-diary/calls", q, nil, &p)
	return p, err
}

// Requests reads the requests journal from one moment to another (its
// dates mm/dd/yyyy, its times HH:mm:ss; one array, no paging).
func (c *Client) Requests(ctx context.Context, from, to time.Time) ([]Request, error) {
	loc := c.Account.location()
	from, to = from.In(loc), to.In(loc)
	q := url.Values{"clientApiId": {c.Account.Token}, "siteId": {c.Account.SiteID},
		"dateFrom": {from.Format(requestsDay)}, "dateTo": {to.Format(requestsDay)},
		"timeFrom": {from.Format(clock)}, "timeTo": {to.Format(clock)}, "withRequestTags": {"true"}}
	var rs []Request
	err := c.do(ctx, http.MethodGet, "requests", "/calls-service/RestAPI/requests", q, nil, &rs)
	return rs, err
}

// Check reads one call of today: a cheap authenticated call.
func (c *Client) Check(ctx context.Context, now time.Time) error {
	_, err := c.callsPage(ctx, now, now, 1, 1)
	return checkError(err)
}

// orderRow is a deal of the deals journal, as far as Obmen reads it.
type orderRow struct {
	OrderID     any    `json:"orderId"`
	OrderNumber string `json:"orderNumber"`
	Status      string `json:"status"`
	Funnel      string `json:"funnel"`
}

// Dictionaries are what "refresh fields" loads: the account's site and
// the deal statuses — the seed's PENDING and COMPLETED, and every status
// and funnel the account's deals of the last 90 days are in (the API has
// no list of funnel statuses of its own).
func (c *Client) Dictionaries(ctx context.Context, now time.Time) (map[string]any, error) {
	if err := c.Check(ctx, now); err != nil {
		return nil, err
	}
	q := url.Values{"clientApiId": {c.Account.Token}, "dateFrom": {now.AddDate(0, 0, -90).In(c.Account.location()).Format(callsDay)},
		"dateTo": {now.In(c.Account.location()).Format(callsDay)}}
	var rows []orderRow
	if err := c.do(ctx, http.MethodGet, "orders-diary", "/calls-service/RestAPI/"+url.PathEscape(c.Account.SiteID)+"/orders-diary/orders", q, nil, &rows); err != nil {
		return nil, checkError(err)
	}
	statuses := []any{StatusPending, StatusDone}
	seen := map[string]bool{StatusPending: true, StatusDone: true}
	var funnels []any
	seenF := map[string]bool{}
	for _, r := range rows {
		if s := strings.TrimSpace(r.Status); s != "" && !seen[s] {
			seen[s] = true
			statuses = append(statuses, s)
		}
		if f := strings.TrimSpace(r.Funnel); f != "" && !seenF[f] {
			seenF[f] = true
			funnels = append(funnels, f)
		}
	}
	return map[string]any{
		"sites":    []any{map[string]any{"id": c.Account.SiteID}},
		"statuses": statuses,
		"funnels":  funnels,
	}, nil
}
