package bitrix24

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/obmen/obmen/internal/httpx"
)

// The portal's request limits (b24restdocs limits.md): a leaky bucket of
// 2 requests a second with a burst of 50, 5 and 250 on Enterprise plans.
const (
	Rate             = 2
	Burst            = 50
	EnterpriseRate   = 5
	EnterpriseBurst  = 250
	MaxBatch         = 50 // commands in one batch (batch.md)
	DefaultOAuthURL  = "https://oauth.bitrix.info/oauth/token/"
	maxBody          = 16 << 20
	defaultBackoff   = 500 * time.Millisecond
	defaultAttempts  = 5
	maxInlineBackoff = 30 * time.Second
)

// Error codes Bitrix24 answers with (error-codes.md, system-errors.md,
// limits.md).
const (
	CodeQueryLimit     = "QUERY_LIMIT_EXCEEDED" // 503: past the leaky bucket
	CodeOperationLimit = "OPERATION_TIME_LIMIT" // 429: the method's time budget is spent
	CodeNoAuth         = "NO_AUTH_FOUND"        // 401: wrong webhook code or token
	CodeExpired        = "expired_token"        // 401: the access token expired
	CodeInvalidCreds   = "INVALID_CREDENTIALS"  // the webhook's user lacks the rights
	CodeScope          = "insufficient_scope"   // the webhook lacks the scope
	CodeAccessDenied   = "ACCESS_DENIED"        // REST off on the plan
	CodeInvalidGrant   = "invalid_grant"        // oauth: the refresh token is not valid
	CodeInvalidToken   = "invalid_token"        // 401: an access token the portal does not know
)

// Error is Bitrix24's refusal {"error": …, "error_description": …} with
// its HTTP status.
type Error struct {
	Method      string
	Status      int
	Code        string
	Description string
	// RetryAt is when the portal lets the method be called again
	// (OPERATION_TIME_LIMIT: the time's operating_reset_at), zero when not
	// known.
	RetryAt time.Time
}

func (e *Error) Error() string {
	s := fmt.Sprintf("bitrix24: %s: HTTP %d", e.Method, e.Status)
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Limited says the portal refused for its rate or time limit.
func (e *Error) Limited() bool {
	return e.Code == CodeQueryLimit || e.Code == CodeOperationLimit ||
		e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests
}

// Temporary says another attempt later may succeed. An expired token
// the client could not renew is not: the connection needs a person.
func (e *Error) Temporary() bool {
	return e.Limited() || e.Status >= 500
}

// Auth says the webhook or the token was refused: a broken connection.
func (e *Error) Auth() bool {
	switch e.Code {
	case CodeNoAuth, CodeExpired, CodeInvalidCreds, CodeScope, CodeAccessDenied, CodeInvalidGrant:
		return true
	}
	return e.Status == http.StatusUnauthorized
}

// Answer is a successful answer: the result with the list's next offset
// and total, and the timing (time.operating among others).
type Answer struct {
	Result json.RawMessage
	Next   int64 // 0: no next page
	Total  int64
	Time   map[string]any
}

// envelope is every answer's body.
type envelope struct {
	Result      json.RawMessage `json:"result"`
	Next        json.Number     `json:"next"`
	Total       json.Number     `json:"total"`
	Time        map[string]any  `json:"time"`
	Error       string          `json:"error"`
	Description string          `json:"error_description"`
}

// Limiters hands out one token bucket per portal, shared by every client
// of the process: two bundles sending to one portal together stay under
// its limit.
type Limiters struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
	// Rate and Burst override every portal's (tests); 0: the portal's plan.
	Rate  float64
	Burst int
	// NoPack sends every batch alone (the benchmark's "before").
	NoPack  bool
	packers map[string]*Packer
	// shared are the portals' buckets kept in a database (rate_buckets),
	// one limiter per rate and burst.
	shared map[sharedKey]*httpx.Limiter
}

type sharedKey struct {
	b     httpx.Buckets
	r     float64
	burst int
}

// Shared is the bucket of a portal kept in b, which every instance on the
// same database draws on — the portal counts requests per portal, not per
// instance, so three instances each under the limit would still triple
// the rate. It has the figures of For's; the client takes a token from
// both, For's pacing this process's requests and packing its batches.
func (l *Limiters) Shared(b httpx.Buckets, portal string, enterprise bool) func(ctx context.Context) error {
	r, burst := l.figures(enterprise)
	l.mu.Lock()
	if l.shared == nil {
		l.shared = map[sharedKey]*httpx.Limiter{}
	}
	k := sharedKey{b, r, burst}
	lim, ok := l.shared[k]
	if !ok {
		lim = httpx.NewLimiter(time.Duration(float64(time.Second)/(r*0.9)), max(1, burst-1)).Shared(b, "bitrix24:portal")
		l.shared[k] = lim
	}
	l.mu.Unlock()
	return func(ctx context.Context) error { return lim.Wait(ctx, portal) }
}

// figures are the rate and burst of a portal on its plan.
func (l *Limiters) figures(enterprise bool) (float64, int) {
	r, b := float64(Rate), Burst
	if enterprise {
		r, b = EnterpriseRate, EnterpriseBurst
	}
	if l.Rate > 0 {
		r = l.Rate
	}
	if l.Burst > 0 {
		b = l.Burst
	}
	return r, b
}

// PackerFor is the packer of one portal's credentials (nil with NoPack):
// only batches that one request may carry are packed together.
func (l *Limiters) PackerFor(key string) *Packer {
	if l.NoPack {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.packers == nil {
		l.packers = map[string]*Packer{}
	}
	p, ok := l.packers[key]
	if !ok {
		p = &Packer{}
		l.packers[key] = p
	}
	return p
}

// For is the bucket of a portal on its plan.
func (l *Limiters) For(portal string, enterprise bool) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*rate.Limiter{}
	}
	r, b := l.figures(enterprise)
	key := fmt.Sprintf("%s\x00%g\x00%d", portal, r, b)
	lim, ok := l.m[key]
	if !ok {
		// A tenth under the rate and one under the burst: requests
		// that leave evenly arrive with the network's jitter, and the
		// portal counts by the arrival.
		lim = rate.NewLimiter(rate.Limit(r*0.9), max(1, b-1))
		l.m[key] = lim
	}
	return lim
}

// Client calls one portal's REST API, through an incoming webhook
// ({portal}/rest/{user}/{code}/{method}.json) or with an OAuth access
// token ({portal}/rest/{method}.json, the token in "auth").
type Client struct {
	Portal string // https://name.bitrix24.ru
	UserID int64
	Code   string
	// Token gives the OAuth access token (fresh: refresh it first);
	// nil for a webhook.
	Token func(ctx context.Context, fresh bool) (string, error)
	HTTP  *http.Client
	Limit *rate.Limiter
	// Shared, when set, takes a token from the portal's bucket shared
	// by every instance (Limiters.Shared), after Limit's.
	Shared func(ctx context.Context) error
	// Backoff is the first wait after a 503 or 429 without a hint,
	// doubled on each attempt (0: 500 ms, one token of the bucket).
	Backoff     time.Duration
	MaxAttempts int
	// Requests counts the HTTP requests sent by every client (the
	// figures; nil: none); Sent counts this client's.
	Requests *atomic.Int64
	Sent     atomic.Int64
	// Watch hears how each call ended (nil: it succeeded): the
	// connection is marked broken on a refusal and cleared on success.
	Watch func(ctx context.Context, err error)
	// Pack, when set, packs Batch calls waiting for the bucket with the
	// other clients' of the same portal (pack.go).
	Pack *Packer
}

func (c *Client) endpoint(method string) string {
	base := strings.TrimRight(c.Portal, "/") + "/rest/"
	if c.Token == nil {
		base += strconv.FormatInt(c.UserID, 10) + "/" + url.PathEscape(c.Code) + "/"
	}
	return base + method + ".json"
}

// Call sends one method with its parameters (a JSON body).
func (c *Client) Call(ctx context.Context, method string, params map[string]any) (*Answer, error) {
	if params == nil {
		params = map[string]any{}
	}
	backoff := c.Backoff
	if backoff <= 0 {
		backoff = defaultBackoff
	}
	attempts := c.MaxAttempts
	if attempts <= 0 {
		attempts = defaultAttempts
	}
	refreshed := false
	var out *Answer
	retry := httpx.Retry{Attempts: attempts, Backoff: backoff, MaxWait: maxInlineBackoff}
	err := retry.Do(ctx, func(ctx context.Context, _ int) httpx.Attempt {
		for {
			a, err := c.once(ctx, method, params)
			var be *Error
			if !errors.As(err, &be) {
				out = a
				return httpx.Attempt{Err: err}
			}
			if c.Token != nil && !refreshed && be.Status == http.StatusUnauthorized &&
				(be.Code == CodeExpired || be.Code == CodeInvalidToken || be.Code == CodeNoAuth) {
				// The hour is over, or the portal no longer knows the
				// token (the application was reinstalled, the portal
				// restored): a new token, then once more; a refresh the
				// portal refuses too ends as "tokens expired".
				refreshed = true
				if _, err := c.Token(ctx, true); err != nil {
					return httpx.Attempt{Err: err}
				}
				continue
			}
			// A spent time budget (minutes, past MaxWait) is not worth
			// holding a worker: the caller retries durably.
			at := httpx.Attempt{Err: err, Again: be.Limited()}
			if !be.RetryAt.IsZero() {
				at.Wait = max(time.Until(be.RetryAt), time.Millisecond)
			}
			return at
		}
	})
	if c.Watch != nil {
		c.Watch(ctx, err)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("bitrix24: %s: %w", method, err)
		}
		return nil, err
	}
	return out, nil
}

// once sends the call once, with the OAuth access token when the
// connection has one.
func (c *Client) once(ctx context.Context, method string, params map[string]any) (*Answer, error) {
	body := params
	if c.Token != nil {
		tok, err := c.Token(ctx, false)
		if err != nil {
			return nil, err
		}
		body = make(map[string]any, len(params)+1)
		for k, v := range params {
			body[k] = v
		}
		body["auth"] = tok
	}
	return c.send(ctx, method, body)
}

// send makes one HTTP request under the portal's bucket.
func (c *Client) send(ctx context.Context, method string, params map[string]any) (*Answer, error) {
	if c.Limit != nil {
		if err := c.Limit.Wait(ctx); err != nil {
			cause := ctx.Err()
			if cause == nil {
				cause = context.DeadlineExceeded
			}
			return nil, fmt.Errorf("bitrix24: %s: wait for the portal's rate limit: %w", method, cause)
		}
	}
	if c.Shared != nil {
		if err := c.Shared(ctx); err != nil {
			return nil, fmt.Errorf("bitrix24: %s: wait for the portal's rate limit: %w", method, err)
		}
	}
	b, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("bitrix24: %s: encode: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(method), bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("bitrix24: %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	c.Sent.Add(1)
	if c.Requests != nil {
		c.Requests.Add(1)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		// The webhook's code is in the address: never in an error.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("bitrix24: %s: %w", method, err)
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	res.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("bitrix24: %s: read the answer: %w", method, err)
	}
	return ParseAnswer(method, res.StatusCode, raw)
}

// ParseAnswer reads an answer's body: the result, or an *Error.
func ParseAnswer(method string, status int, body []byte) (*Answer, error) {
	var env envelope
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&env); err != nil {
		e := &Error{Method: method, Status: status, Description: "not a JSON answer: " + snippet(body)}
		if status == http.StatusServiceUnavailable {
			e.Code = CodeQueryLimit
		}
		return nil, e
	}
	if env.Error != "" || status >= 300 {
		e := &Error{Method: method, Status: status, Code: env.Error, Description: env.Description}
		if e.Code == CodeOperationLimit {
			if at := num(env.Time["operating_reset_at"]); at > 0 {
				e.RetryAt = time.Unix(int64(at), 0)
			}
		}
		return nil, e
	}
	if len(env.Result) == 0 {
		return nil, &Error{Method: method, Status: status, Description: "no result in the answer: " + snippet(body)}
	}
	a := &Answer{Result: env.Result, Time: env.Time}
	a.Next, _ = env.Next.Int64()
	a.Total, _ = env.Total.Int64()
	return a, nil
}

func num(v any) float64 {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case float64:
		return x
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	return 0
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// List walks a list method's pages (50 a page): start = the previous
// answer's next, until there is none, handing each page's items to fn.
func (c *Client) List(ctx context.Context, method string, params map[string]any, fn func(items []json.RawMessage) error) error {
	p := make(map[string]any, len(params)+1)
	for k, v := range params {
		p[k] = v
	}
	for start := int64(0); ; {
		p["start"] = start
		a, err := c.Call(ctx, method, p)
		if err != nil {
			return err
		}
		var items []json.RawMessage
		if err := json.Unmarshal(a.Result, &items); err != nil {
			// Some lists wrap their items: {"categories": […]}, {"items": […]}.
			var obj map[string]json.RawMessage
			if json.Unmarshal(a.Result, &obj) != nil {
				return fmt.Errorf("bitrix24: %s: the result is not a list: %s", method, snippet(a.Result))
			}
			for _, v := range obj {
				if json.Unmarshal(v, &items) == nil {
					break
				}
			}
		}
		if err := fn(items); err != nil {
			return err
		}
		if a.Next <= start || len(items) == 0 {
			return nil
		}
		start = a.Next
	}
}

// Cmd is one command of a batch: its key, method and parameters.
type Cmd struct {
	Key    string
	Method string
	Params map[string]any
}

// String is the command as batch takes it: method?query, the parameters
// encoded as PHP's http_build_query does (fields[PHONE][0][VALUE]=…).
// A value may refer to an earlier command's answer: $result[key].
func (c Cmd) String() string {
	q := Query(c.Params)
	if q == "" {
		return c.Method
	}
	return c.Method + "?" + q
}

// Query encodes params as http_build_query: nested maps and lists as
// name[key], keys in order; true/false as Y/N, Bitrix24's booleans.
func Query(params map[string]any) string {
	var parts []string
	var add func(prefix string, v any)
	add = func(prefix string, v any) {
		switch x := v.(type) {
		case nil:
			parts = append(parts, escape(prefix)+"=")
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				add(prefix+"["+k+"]", x[k])
			}
		case []any:
			for i, e := range x {
				add(prefix+"["+strconv.Itoa(i)+"]", e)
			}
		case []map[string]any:
			for i, e := range x {
				add(prefix+"["+strconv.Itoa(i)+"]", e)
			}
		case []string:
			for i, e := range x {
				add(prefix+"["+strconv.Itoa(i)+"]", e)
			}
		case bool:
			if x {
				parts = append(parts, escape(prefix)+"=Y")
			} else {
				parts = append(parts, escape(prefix)+"=N")
			}
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				parts = append(parts, escape(prefix)+"="+strconv.FormatInt(int64(x), 10))
			} else {
				parts = append(parts, escape(prefix)+"="+strconv.FormatFloat(x, 'f', -1, 64))
			}
		default:
			parts = append(parts, escape(prefix)+"="+escapeValue(fmt.Sprint(x)))
		}
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		add(k, params[k])
	}
	return strings.Join(parts, "&")
}

// escape encodes a parameter's name, keeping its brackets readable.
func escape(name string) string {
	return strings.NewReplacer("%5B", "[", "%5D", "]").Replace(url.QueryEscape(name))
}

// escapeValue encodes a value, but leaves a reference to an earlier
// command ($result[key][FIELD]) as batch reads it.
func escapeValue(v string) string {
	if strings.HasPrefix(v, "$result") {
		return strings.NewReplacer("%5B", "[", "%5D", "]", "%24", "$").Replace(url.QueryEscape(v))
	}
	return url.QueryEscape(v)
}

// BatchAnswer is what batch answers: each command's result or error by
// its key, with list totals and next offsets.
type BatchAnswer struct {
	Result map[string]json.RawMessage
	Errors map[string]*Error
	Total  map[string]int64
	Next   map[string]int64
}

// Batch runs up to 50 commands in one request with halt=0: each runs,
// whatever the others answer; a command's failure is in Errors.
func (c *Client) Batch(ctx context.Context, cmds []Cmd) (*BatchAnswer, error) {
	if c.Pack != nil && len(cmds) > 0 && len(cmds) < MaxBatch {
		return c.Pack.batch(ctx, c, cmds)
	}
	return c.batchNow(ctx, cmds)
}

// batchNow sends cmds as one batch.
func (c *Client) batchNow(ctx context.Context, cmds []Cmd) (*BatchAnswer, error) {
	if len(cmds) == 0 {
		return &BatchAnswer{Result: map[string]json.RawMessage{}, Errors: map[string]*Error{}}, nil
	}
	if len(cmds) > MaxBatch {
		return nil, fmt.Errorf("bitrix24: batch: %d commands, at most %d", len(cmds), MaxBatch)
	}
	// The commands run in the order given, a later one reading an
	// earlier one's answer: the object is written in that order (a Go
	// map would sort the keys).
	var cmd bytes.Buffer
	cmd.WriteByte('{')
	method := map[string]string{}
	for i, x := range cmds {
		if _, dup := method[x.Key]; dup || x.Key == "" {
			return nil, fmt.Errorf("bitrix24: batch: command key %q empty or twice", x.Key)
		}
		method[x.Key] = x.Method
		k, _ := json.Marshal(x.Key)
		v, _ := json.Marshal(x.String())
		if i > 0 {
			cmd.WriteByte(',')
		}
		cmd.Write(k)
		cmd.WriteByte(':')
		cmd.Write(v)
	}
	cmd.WriteByte('}')
	a, err := c.Call(ctx, "batch", map[string]any{"halt": 0, "cmd": json.RawMessage(cmd.Bytes())})
	if err != nil {
		return nil, err
	}
	var raw struct {
		Result json.RawMessage `json:"result"`
		Errors json.RawMessage `json:"result_error"`
		Total  json.RawMessage `json:"result_total"`
		Next   json.RawMessage `json:"result_next"`
	}
	if err := json.Unmarshal(a.Result, &raw); err != nil {
		return nil, fmt.Errorf("bitrix24: batch: the answer is not batch's: %s", snippet(a.Result))
	}
	out := &BatchAnswer{Result: keyed(raw.Result), Errors: map[string]*Error{}, Total: map[string]int64{}, Next: map[string]int64{}}
	for k, v := range keyed(raw.Errors) {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(v, &e)
		out.Errors[k] = &Error{Method: method[k], Status: http.StatusOK, Code: e.Error, Description: e.Description}
	}
	for k, v := range keyed(raw.Total) {
		out.Total[k], _ = strconv.ParseInt(strings.Trim(string(v), `"`), 10, 64)
	}
	for k, v := range keyed(raw.Next) {
		out.Next[k], _ = strconv.ParseInt(strings.Trim(string(v), `"`), 10, 64)
	}
	return out, nil
}

// keyed reads an object by key; PHP's empty array ([]) is an empty
// object, and a list (numeric keys from 0) is keyed by index.
func keyed(raw json.RawMessage) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	if len(raw) == 0 {
		return out
	}
	if json.Unmarshal(raw, &out) == nil {
		return out
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		for i, v := range list {
			out[strconv.Itoa(i)] = v
		}
	}
	return out
}
