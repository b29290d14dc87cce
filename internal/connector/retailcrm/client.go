package retailcrm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/httpx"
)

// RPS is retailCRM's limit of requests a second per API key
// ("API handling rate", https://docs.simla.com/Developers/API/APIFeatures/APIRules;
// the official Go client's rate.go uses the same figure).
const RPS = 10

// MaxAttempts bounds the tries of one request answered 503 or 429.
const MaxAttempts = 5

// maxBody bounds an answer read into memory.
const maxBody = 16 << 20

// Limiters hands out one token bucket per account and key, shared by
// every client of the process, so that two bundles working through the
// same key together stay under RPS.
type Limiters struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
	// Rate is the requests a second allowed (0: 0.9 × RPS).
	Rate float64
}

func (l *Limiters) of(account, key string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*rate.Limiter{}
	}
	k := account + "\x00" + key
	lim, ok := l.m[k]
	if !ok {
		r := l.Rate
		if r <= 0 {
			// A tenth under the limit: requests that leave 100 ms
			// apart may arrive closer (the network's jitter), and a
			// window counted by the arrival would refuse the tenth.
			r = RPS * 0.9
		}
		// Burst 1: requests are spaced evenly, never RPS at once
		// (retailCRM counts per second, not per window of its own).
		lim = rate.NewLimiter(rate.Limit(r), 1)
		l.m[k] = lim
	}
	return lim
}

// Client speaks retailCRM's API v5 for one account and key.
type Client struct {
	// Account is the account's address (https://shop.retailcrm.ru).
	Account string
	Key     string
	HTTP    *http.Client
	Limit   *rate.Limiter
	// Backoff is the first wait after a 503 or 429 without Retry-After,
	// doubled on each attempt (0: 100 ms, the official client's
	// 1/RPS-based delay doubled).
	Backoff time.Duration
}

// APIError is retailCRM's refusal: {"success": false, "errorMsg": …,
// "errors": {…}} with its HTTP status.
type APIError struct {
	Method, Path string
	Status       int
	Msg          string
	// Errors are the per-field messages ("errors" is an object of field →
	// message, or sometimes a list: its items keyed by index).
	Errors map[string]string
	// HTML: the answer was a page, not JSON (no such account: retailCRM's
	// front answers its own page).
	HTML bool
	// attempts is how many tries the request took.
	attempts int
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "retailcrm: %s %s: HTTP %d", e.Method, e.Path, e.Status)
	if e.Msg != "" {
		b.WriteString(": " + e.Msg)
	}
	if e.HTML {
		b.WriteString(": an HTML page instead of the API's answer")
	}
	for _, k := range slices.Sorted(maps.Keys(e.Errors)) {
		fmt.Fprintf(&b, "; %s: %s", k, e.Errors[k])
	}
	return b.String()
}

// Class is the connection check's class of the refusal. The messages are
// those the official client recognises (api-client-go error.go).
func (e *APIError) Class() string {
	switch {
	case e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests:
		return connection.ClassRateLimited
	case e.HTML || e.Msg == "Account does not exist." || strings.Contains(e.Msg, "Account does not exist"):
		return connection.ClassAccount
	case strings.Contains(e.Msg, "apiKey") || e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return connection.ClassCredentials
	case e.Status == http.StatusNotFound && e.Msg == "":
		return connection.ClassAccount
	}
	return connection.ClassOther
}

// NotFound says the entity asked for does not exist.
func (e *APIError) NotFound() bool { return e.Status == http.StatusNotFound && !e.HTML && e.Msg != "" }

// Temporary says another attempt later may succeed.
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// answer is the envelope of every answer.
type answer struct {
	Success  *bool           `json:"success"`
	ErrorMsg string          `json:"errorMsg"`
	Errors   json.RawMessage `json:"errors"`
}

// ParseAnswer checks an answer's body: the decoded JSON object on
// success, an *APIError when retailCRM says no (or the body is not its
// envelope).
func ParseAnswer(method, path string, status int, body []byte) (map[string]any, error) {
	t := bytes.TrimSpace(body)
	if len(t) > 0 && t[0] == '<' {
		return nil, &APIError{Method: method, Path: path, Status: status, HTML: true}
	}
	var env answer
	if err := json.Unmarshal(t, &env); err != nil {
		return nil, &APIError{Method: method, Path: path, Status: status, Msg: "not a JSON answer: " + snippet(t)}
	}
	if status >= 300 || env.Success == nil || !*env.Success {
		e := &APIError{Method: method, Path: path, Status: status, Msg: env.ErrorMsg, Errors: errorsOf(env.Errors)}
		if env.Success == nil && e.Msg == "" {
			e.Msg = "no \"success\" in the answer: " + snippet(t)
		}
		return nil, e
	}
	v, err := automation.DecodeValue(t)
	m, ok := v.(map[string]any)
	if err != nil || !ok {
		return nil, &APIError{Method: method, Path: path, Status: status, Msg: "not a JSON object: " + snippet(t)}
	}
	return m, nil
}

// errorsOf reads "errors": an object of messages, or a list.
func errorsOf(raw json.RawMessage) map[string]string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) == nil {
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[k] = textOf(v)
		}
		return out
	}
	var l []any
	if json.Unmarshal(raw, &l) == nil {
		out := make(map[string]string, len(l))
		for i, v := range l {
			out[strconv.Itoa(i)] = textOf(v)
		}
		return out
	}
	return map[string]string{"": snippet(raw)}
}

func textOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Get sends GET /api/v5 + path (or /api + path when unversioned).
func (c *Client) Get(ctx context.Context, path string, q url.Values) (map[string]any, error) {
	return c.do(ctx, http.MethodGet, "/api/v5"+path, q, nil)
}

// GetUnversioned sends GET /api + path (/api/credentials, /api/api-versions).
func (c *Client) GetUnversioned(ctx context.Context, path string) (map[string]any, error) {
	return c.do(ctx, http.MethodGet, "/api"+path, nil, nil)
}

// Post sends POST /api/v5 + path with the form: nested objects are JSON
// in a field ("order=" + JSON), as the API rules require.
func (c *Client) Post(ctx context.Context, path string, form url.Values) (map[string]any, error) {
	return c.do(ctx, http.MethodPost, "/api/v5"+path, nil, form)
}

// do sends one request under the account's limiter, again after a 503 or
// 429 (retailCRM answers 503 when the key's rate is exceeded) up to
// MaxAttempts, waiting Retry-After or a doubling backoff with jitter
// (httpx.Retry).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, form url.Values) (map[string]any, error) {
	backoff := c.Backoff
	if backoff <= 0 {
		backoff = 100 * time.Millisecond
	}
	u := strings.TrimRight(c.Account, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var m map[string]any
	var last error
	p := httpx.Retry{Attempts: MaxAttempts, Backoff: backoff, Jitter: 0.5, MaxWait: 30 * time.Second}
	err := p.Do(ctx, func(ctx context.Context, n int) httpx.Attempt {
		var a httpx.Attempt
		m, a = c.once(ctx, method, path, u, form, n+1)
		last = a.Err
		return a
	})
	if err != nil && err != last {
		// The context ended the wait for the next try.
		return nil, fmt.Errorf("retailcrm: %s %s: %w", method, path, err)
	}
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && (ae.Status == http.StatusServiceUnavailable || ae.Status == http.StatusTooManyRequests) {
			ae.Msg = strings.TrimSpace(ae.Msg + fmt.Sprintf(" (rate limited, %d attempts)", ae.attempts))
		}
		return nil, err
	}
	return m, nil
}

// once is try n of a request: its answer, or an Attempt saying whether
// a 503 or 429 is worth another.
func (c *Client) once(ctx context.Context, method, path, u string, form url.Values, n int) (map[string]any, httpx.Attempt) {
	if c.Limit != nil {
		if err := c.Limit.Wait(ctx); err != nil {
			// The wait would pass the deadline (or the context
			// ended): a deadline, to the engine worth a retry.
			cause := ctx.Err()
			if cause == nil {
				cause = context.DeadlineExceeded
			}
			return nil, httpx.Attempt{Err: fmt.Errorf("retailcrm: %s %s: wait for the rate limit: %w", method, path, cause)}
		}
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, httpx.Attempt{Err: fmt.Errorf("retailcrm: %s %s: %w", method, path, err)}
	}
	// The key in a header, never in the address (logs, proxies).
	req.Header.Set("X-API-KEY", c.Key)
	req.Header.Set("Accept", "application/json")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return nil, httpx.Attempt{Err: fmt.Errorf("retailcrm: %s %s: %w", method, path, err)}
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	res.Body.Close()
	if err != nil {
		return nil, httpx.Attempt{Err: fmt.Errorf("retailcrm: %s %s: read the answer: %w", method, path, err)}
	}
	m, err := ParseAnswer(method, path, res.StatusCode, b)
	if err == nil {
		return m, httpx.Attempt{}
	}
	limited := res.StatusCode == http.StatusServiceUnavailable || res.StatusCode == http.StatusTooManyRequests
	var ae *APIError
	if errors.As(err, &ae) {
		ae.attempts = n
	}
	return nil, httpx.Attempt{Err: err, Again: limited, Wait: httpx.RetryAfter(res.Header, time.Now())}
}

// JSONField is v as the JSON a form field carries.
func JSONField(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("retailcrm: encode: %w", err)
	}
	return string(b), nil
}
