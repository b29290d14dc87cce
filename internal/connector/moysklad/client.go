package moysklad

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
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

	"golang.org/x/time/rate"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/httpx"
)

// OfficialURL is JSON API 1.2's address.
const OfficialURL = "https://api.moysklad.ru/api/remap/1.2"

// maxBody caps a decoded answer (a page of 100 orders with expand is far
// below).
const maxBody = 16 << 20

// Account is a moysklad connection's settings: a login and password
// (Basic) or a user's token (Bearer), and the API address.
type Account struct {
	Login    string
	Password string
	Token    string
	URL      string
}

// AccountOf reads a saved moysklad connection's settings.
func AccountOf(s connection.Settings) Account {
	return Account{Login: s.String("login"), Password: s.String("password"), Token: s.String("token"), URL: s.String("url")}
}

func (a Account) base() string { return connection.BaseURL(a.URL, OfficialURL) }

// key names the account's request budget: the limit is counted per user
// (or per token) since 16.02.2026 (md/_restrictions.md).
func (a Account) key() string {
	if a.Token != "" {
		return a.base() + "|token|" + a.Token
	}
	return a.base() + "|login|" + strings.ToLower(a.Login)
}

// Problems checks the settings beyond what the fields say: one way of
// authenticating, whole.
func (a Account) Problems() []connection.Problem {
	ps := connection.CheckBaseURL("url", a.URL, OfficialURL)
	switch {
	case a.Token == "" && a.Login == "" && a.Password == "":
		ps = append(ps, connection.Problem{Field: "token", Message: "required: a token, or a login and a password"})
	case a.Token == "" && a.Login == "":
		ps = append(ps, connection.Problem{Field: "login", Message: "required with a password"})
	case a.Token == "" && a.Password == "":
		ps = append(ps, connection.Problem{Field: "password", Message: "required with a login"})
	case a.Token == "" && !strings.Contains(a.Login, "@"):
		// The seed: "логин … должен быть указан через символ @".
		ps = append(ps, connection.Problem{Field: "login", Message: fmt.Sprintf("%q is not a МойСклад login: it is written user@account", a.Login)})
	}
	return ps
}

func (a Account) authorization() string {
	if a.Token != "" {
		return "Bearer " + a.Token
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(a.Login+":"+a.Password))
}

// Limits is the client's request budget for one account.
type Limits struct {
	// Every is the interval between requests on average; Burst how many
	// may go at once after a pause.
	Every time.Duration
	Burst int
	// Parallel caps the requests in flight.
	Parallel int
	// Retries bounds the retries of a 429/5xx answer.
	Retries int
	// MaxWait bounds one wait the server asks for; a longer one is
	// returned as a *RateLimited error instead of waited.
	MaxWait time.Duration
}

// DefaultLimits keep under МойСклад's limits for a login/password or a
// user's token as of 1.12.2026 (md/_restrictions.md): a request weighs 4
// units of the 45 given every 3 seconds, so 11 requests per 3 s; at most
// 5 parallel requests per user. A bucket of 1 refilled every 333 ms lets
// at most 1 + 9 requests into any 3 s, one below the limit, so that the
// requests' own jitter on the way cannot put a twelfth into the server's
// window; and 4 in parallel, one below.
var DefaultLimits = Limits{Every: 3 * time.Second / 9, Burst: 1, Parallel: 4, Retries: 3, MaxWait: 30 * time.Second}

// budget is one account's limiter and parallel cap, shared by every
// client of the account in this process.
type budget struct {
	lim *rate.Limiter
	sem chan struct{}

	mu sync.Mutex
	// pause: the server said the budget is spent until then.
	pause time.Time
}

// Budgets hands out the per-account budgets.
type Budgets struct {
	limits Limits
	mu     sync.Mutex
	m      map[string]*budget
}

// NewBudgets returns budgets of limits (zero fields: DefaultLimits').
func NewBudgets(l Limits) *Budgets {
	d := DefaultLimits
	if l.Every > 0 {
		d.Every = l.Every
	}
	if l.Burst > 0 {
		d.Burst = l.Burst
	}
	if l.Parallel > 0 {
		d.Parallel = l.Parallel
	}
	if l.Retries > 0 {
		d.Retries = l.Retries
	}
	if l.MaxWait > 0 {
		d.MaxWait = l.MaxWait
	}
	return &Budgets{limits: d, m: map[string]*budget{}}
}

func (bs *Budgets) of(key string) *budget {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b, ok := bs.m[key]
	if !ok {
		b = &budget{lim: rate.NewLimiter(rate.Every(bs.limits.Every), bs.limits.Burst), sem: make(chan struct{}, bs.limits.Parallel)}
		bs.m[key] = b
	}
	return b
}

// Client calls JSON API 1.2 for one account.
type Client struct {
	Account Account
	HTTP    *http.Client
	Budgets *Budgets
	// Sleep waits (tests may count); nil: a timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// APIError is МойСклад's error envelope
// {"errors":[{"error":…,"code":…,"moreInfo":…}]} with the HTTP status
// (md/_general.md, "Обработка ошибок").
type APIError struct {
	Status int
	Errors []ErrorItem
	// Auth is X-Lognex-Auth-Message of a refused login.
	Auth string
}

// ErrorItem is one error of the envelope.
type ErrorItem struct {
	Error        string `json:"error"`
	Code         int    `json:"code"`
	Parameter    string `json:"parameter,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
	MoreInfo     string `json:"moreInfo,omitempty"`
}

func (e *APIError) Error() string {
	var parts []string
	for _, it := range e.Errors {
		s := it.Error
		if it.Code != 0 {
			s = fmt.Sprintf("%s (code %d)", s, it.Code)
		}
		if it.Parameter != "" {
			s += " [" + it.Parameter + "]"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 && e.Auth != "" {
		parts = append(parts, e.Auth)
	}
	if len(parts) == 0 {
		parts = append(parts, http.StatusText(e.Status))
	}
	return fmt.Sprintf("moysklad: HTTP %d: %s", e.Status, strings.Join(parts, "; "))
}

// HasCode reports whether one of the errors has code.
func (e *APIError) HasCode(code int) bool {
	for _, it := range e.Errors {
		if it.Code == code {
			return true
		}
	}
	return false
}

// Class is the connection check's class of the error.
func (e *APIError) Class() string {
	switch {
	case e.Status == http.StatusUnauthorized || e.HasCode(1056) || e.HasCode(1061):
		return connection.ClassCredentials
	case e.Status == http.StatusForbidden:
		return connection.ClassCredentials
	case e.Status == http.StatusTooManyRequests:
		return connection.ClassRateLimited
	case e.Status == http.StatusNotFound || e.Status == http.StatusGone || e.HasCode(1002) || e.HasCode(1015):
		return connection.ClassAccount
	}
	return connection.ClassOther
}

// Temporary says a later attempt may succeed: a 429, a 5xx.
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// RateLimited is a 429 (or a wait) longer than the client waits by
// itself: the caller retries after RetryAfter.
type RateLimited struct {
	RetryAfter time.Duration
	Err        error
}

func (e *RateLimited) Error() string {
	return fmt.Sprintf("moysklad: rate limited, retry after %s: %v", e.RetryAfter, e.Err)
}
func (e *RateLimited) Unwrap() error { return e.Err }

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// resolve turns a path ("entity/counterparty") or a full href the API
// gave into the URL to call; an href must be under the account's address
// (a webhook's meta.href names where to read, and it must not send us
// elsewhere with the account's credentials).
func (c *Client) resolve(p string) (string, error) {
	base := c.Account.base()
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		if !strings.HasPrefix(p, base+"/") {
			return "", fmt.Errorf("moysklad: %q is not under the account's address %s", p, base)
		}
		return p, nil
	}
	return base + "/" + strings.TrimLeft(p, "/"), nil
}

// Do makes one call: the request budget waited for, gzip asked for and
// decoded, 429 and 5xx retried after the wait the server names (bounded),
// an error envelope returned as *APIError. body is JSON-encoded when not
// nil; the answer is decoded into out when not nil.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	u, err := c.resolve(path)
	if err != nil {
		return err
	}
	if len(query) > 0 {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + encodeQuery(query)
	}
	var payload []byte
	if body != nil {
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("moysklad: encode %s %s: %w", method, path, err)
		}
	}
	bs := c.Budgets
	if bs == nil {
		bs = defaultBudgets
	}
	b := bs.of(c.Account.key())
	lim := bs.limits
	p := httpx.Retry{Attempts: 1 + lim.Retries, Backoff: time.Second, Jitter: 0.5, MaxWait: lim.MaxWait, Sleep: c.sleep}
	var last error
	var lastWait time.Duration
	err = p.Do(ctx, func(ctx context.Context, n int) httpx.Attempt {
		raw, status, hdr, err := c.once(ctx, b, method, u, payload)
		if err != nil {
			last = fmt.Errorf("moysklad: %s %s: %w", method, path, err)
			return httpx.Attempt{Err: last}
		}
		b.observe(hdr)
		if status >= 200 && status < 300 {
			last = nil
			if out == nil || len(bytes.TrimSpace(raw)) == 0 {
				return httpx.Attempt{}
			}
			if err := json.Unmarshal(raw, out); err != nil {
				last = fmt.Errorf("moysklad: %s %s: decode the answer: %w", method, path, err)
			}
			return httpx.Attempt{Err: last}
		}
		apiErr := &APIError{Status: status, Auth: hdr.Get("X-Lognex-Auth-Message")}
		var env struct {
			Errors []ErrorItem `json:"errors"`
		}
		if json.Unmarshal(raw, &env) == nil {
			apiErr.Errors = env.Errors
		}
		last = apiErr
		if !apiErr.Temporary() {
			return httpx.Attempt{Err: apiErr}
		}
		lastWait = retryWait(hdr)
		if status != http.StatusTooManyRequests {
			// A 5xx naming no wait: httpx.Retry's doubling backoff.
			return httpx.Attempt{Err: apiErr, Again: true, Wait: lastWait}
		}
		if lastWait == 0 {
			// 1073, the parallel limit, names no wait: a short pause.
			lastWait = time.Duration(n+1) * time.Second
		}
		// The whole account waits, not only this request: the next
		// once() of any caller waits for the pause.
		if n < lim.Retries && lastWait <= lim.MaxWait {
			b.hold(time.Now().Add(lastWait))
		}
		return httpx.Attempt{Err: apiErr, Again: true, Wait: lastWait, Held: true}
	})
	if err != nil && err != last {
		// The context ended the wait for the next try.
		return fmt.Errorf("moysklad: %s %s: %w", method, path, err)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusTooManyRequests {
		return &RateLimited{RetryAfter: lastWait, Err: apiErr}
	}
	return err
}

var defaultBudgets = NewBudgets(Limits{})

// encodeQuery is url.Values.Encode keeping the filter's operators and
// the moment's ":" readable, as МойСклад's examples write them. The ";"
// between conditions stays escaped: the docs call the value "urlencoded"
// (md/_general.md, "Фильтрация выборки"), and a raw ";" is a separator to
// many servers and proxies.
func encodeQuery(q url.Values) string {
	s := q.Encode()
	r := strings.NewReplacer("%3D", "=", "%3A", ":", "%2C", ",", "%3C", "<", "%3E", ">", "%7E", "~")
	return r.Replace(s)
}

// once sends one request within the budget.
func (c *Client) once(ctx context.Context, b *budget, method, u string, payload []byte) ([]byte, int, http.Header, error) {
	if err := b.wait(ctx, c); err != nil {
		return nil, 0, nil, err
	}
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, nil, ctx.Err()
	}
	defer func() { <-b.sem }()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, 0, nil, err
	}
	req.Header.Set("Authorization", c.Account.authorization())
	// Required: without it the API answers 415 (md/_general.md, "Сжатие
	// содержимого ответов"). Set by hand, so decoded by hand too.
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Accept", "application/json;charset=utf-8")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, 0, nil, err
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			if errors.Is(err, io.EOF) { // an empty body
				return nil, resp.StatusCode, resp.Header, nil
			}
			return nil, 0, nil, fmt.Errorf("gzip answer: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	raw, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return nil, 0, nil, fmt.Errorf("read the answer: %w", err)
	}
	if len(raw) > maxBody {
		return nil, 0, nil, fmt.Errorf("the answer is over %d bytes", maxBody)
	}
	return raw, resp.StatusCode, resp.Header, nil
}

// wait takes a place in the account's budget: after a pause the server
// asked for, then the token bucket.
func (b *budget) wait(ctx context.Context, c *Client) error {
	b.mu.Lock()
	until := b.pause
	b.mu.Unlock()
	if d := time.Until(until); d > 0 {
		if err := c.sleep(ctx, d); err != nil {
			return err
		}
	}
	return b.lim.Wait(ctx)
}

func (b *budget) hold(until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until.After(b.pause) {
		b.pause = until
	}
}

// observe reads the budget headers of any answer: none left
// (X-RateLimit-Remaining 0) pauses the account until X-Lognex-Reset, so
// that the next request does not meet a 429.
func (b *budget) observe(h http.Header) {
	rem := h.Get("X-RateLimit-Remaining")
	if rem == "" {
		return
	}
	if n, err := strconv.Atoi(strings.TrimSpace(rem)); err == nil && n <= 0 {
		if d := millis(h.Get("X-Lognex-Reset")); d > 0 {
			// The header is whole milliseconds, cut down: a request
			// sent on the dot could land in the closing window.
			b.hold(time.Now().Add(d + time.Millisecond))
		} else if d := millis(h.Get("X-Lognex-Retry-TimeInterval")); d > 0 {
			b.hold(time.Now().Add(d))
		}
	}
}

// retryWait is the wait a 429 or 5xx answer names: X-Lognex-Retry-After
// (ms), else Retry-After (seconds or a date); 0 for none.
func retryWait(h http.Header) time.Duration {
	if d := millis(h.Get("X-Lognex-Retry-After")); d > 0 {
		return d
	}
	return httpx.RetryAfter(h, time.Now())
}

func millis(s string) time.Duration {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Millisecond
}

// Meta is a reference: {"meta":{"href":…,"type":…,"mediaType":…}}.
type Meta struct {
	Href      string `json:"href"`
	Type      string `json:"type,omitempty"`
	MediaType string `json:"mediaType,omitempty"`
	Size      int    `json:"size,omitempty"`
	Limit     int    `json:"limit,omitempty"`
	Offset    int    `json:"offset,omitempty"`
	NextHref  string `json:"nextHref,omitempty"`
}

// Ref is the reference form a write takes.
func Ref(href, typ string) map[string]any {
	return map[string]any{"meta": map[string]any{"href": href, "type": typ, "mediaType": "application/json"}}
}

// list is a page of a collection.
type list struct {
	Meta Meta              `json:"meta"`
	Rows []json.RawMessage `json:"rows"`
}

// ListPage reads one page of a collection (limit ≤ 1000, ≤ 100 with
// expand) and the collection's size.
func (c *Client) ListPage(ctx context.Context, path string, q url.Values, offset, limit int) ([]map[string]any, int, error) {
	qq := url.Values{}
	for k, v := range q {
		qq[k] = v
	}
	qq.Set("limit", strconv.Itoa(limit))
	qq.Set("offset", strconv.Itoa(offset))
	var l list
	if err := c.Do(ctx, http.MethodGet, path, qq, nil, &l); err != nil {
		return nil, 0, err
	}
	out := make([]map[string]any, 0, len(l.Rows))
	for _, r := range l.Rows {
		v, err := decodeObject(r)
		if err != nil {
			return nil, 0, fmt.Errorf("moysklad: %s: %w", path, err)
		}
		out = append(out, v)
	}
	return out, l.Meta.Size, nil
}

// ListAll walks every page (meta.size tells when to stop), at most max
// rows (0: all).
func (c *Client) ListAll(ctx context.Context, path string, q url.Values, pageSize, max int) ([]map[string]any, error) {
	var out []map[string]any
	for offset := 0; ; {
		rows, size, err := c.ListPage(ctx, path, q, offset, pageSize)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
		offset += len(rows)
		if len(rows) == 0 || offset >= size || (max > 0 && len(out) >= max) {
			if max > 0 && len(out) > max {
				out = out[:max]
			}
			return out, nil
		}
	}
}

func decodeObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode an object: %w", err)
	}
	return v, nil
}

// hrefOf is obj.meta.href.
func hrefOf(obj map[string]any) string {
	m, _ := obj["meta"].(map[string]any)
	s, _ := m["href"].(string)
	return s
}
