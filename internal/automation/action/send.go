package action

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/httpx"
)

// Limits of outgoing requests.
const (
	// maxResponse is the most of a response body a step keeps.
	maxResponse = 1 << 20
	// maxRetryAfter caps how long a remote side may make a step wait.
	maxRetryAfter = time.Hour
	// excerptRunes is how much of a refused response's body an error
	// quotes.
	excerptRunes   = 200
	defaultTimeout = 30 * time.Second
)

// outgoing is a request a step sends.
type outgoing struct {
	method  string
	url     string
	header  http.Header
	host    string
	body    []byte
	timeout time.Duration
}

// reply is a 2xx response as a step outputs it.
type reply struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	// Body is the parsed JSON when the response says it is JSON, else the
	// text.
	Body      any  `json:"body"`
	OK        bool `json:"ok"`
	Truncated bool `json:"truncated,omitempty"`
}

// StatusError is a response outside 2xx.
type StatusError struct {
	Method, URL string
	Status      int
	Excerpt     string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Excerpt != "" {
		msg += ": " + e.Excerpt
	}
	return msg
}

// send makes the request through client (the SSRF guard) and reads the
// answer. A refusal of the guard, a bad redirect and a 4xx are final; a
// timeout, a network failure, a 5xx, 408 and 429 are transient, honouring
// the Retry-After of a 429 or 503.
func send(ctx context.Context, client *http.Client, o outgoing) (reply, error) {
	if o.timeout <= 0 {
		o.timeout = defaultTimeout
	}
	shown := httpx.RedactURL(o.url)
	rctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var body io.Reader
	if o.body != nil {
		body = bytes.NewReader(o.body)
	}
	req, err := http.NewRequestWithContext(rctx, o.method, o.url, body)
	if err != nil {
		return reply{}, automation.InputErrorf("url", "%v", err)
	}
	req.Header = o.header
	if o.host != "" {
		req.Host = o.host
	}
	// The step's own timeout bounds the exchange, not the client's.
	c := *client
	c.Timeout = o.timeout
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, sendError(ctx, o.method, shown, o.timeout, err)
	}
	defer resp.Body.Close()
	out := reply{Status: resp.StatusCode, Headers: map[string]string{}, OK: resp.StatusCode >= 200 && resp.StatusCode < 300}
	for k, vs := range resp.Header {
		if len(vs) > 0 {
			out.Headers[strings.ToLower(k)] = vs[0]
		}
	}
	var b []byte
	if o.method != http.MethodHead {
		b, err = io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
		switch {
		case errors.Is(err, httpx.ErrResponseTooLarge):
			out.Truncated = true // the client's own cap, lower than ours
		case err != nil:
			return reply{}, sendError(ctx, o.method, shown, o.timeout, err)
		}
		if len(b) > maxResponse {
			b, out.Truncated = b[:maxResponse], true
		}
	}
	if !out.OK {
		return reply{}, statusError(o.method, shown, resp, b)
	}
	out.Body = parseBody(resp.Header.Get("Content-Type"), b, out.Truncated)
	return out, nil
}

// parseBody is JSON parsed when the response says it is JSON (and all of
// it was read), else text.
func parseBody(ctype string, b []byte, truncated bool) any {
	if len(b) == 0 {
		return ""
	}
	if mt, _, err := mime.ParseMediaType(ctype); err == nil && !truncated &&
		(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		if v, err := automation.DecodeValue(b); err == nil {
			return v
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func sendError(ctx context.Context, method, url string, timeout time.Duration, err error) error {
	var blocked *httpx.BlockedError
	var nerr net.Error
	switch {
	case errors.As(err, &blocked):
		// The guard's refusal does not change by retrying.
		return fmt.Errorf("%s %s: refused by the outbound address policy: %w", method, url, blocked)
	case errors.Is(err, httpx.ErrTooManyRedirects):
		return fmt.Errorf("%s %s: %w", method, url, err)
	case ctx.Err() != nil:
		return ctx.Err() // the run itself was stopped
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &nerr) && nerr.Timeout():
		return automation.Transient(fmt.Errorf("%s %s: no answer within %s", method, url, timeout), 0)
	}
	return automation.Transient(fmt.Errorf("%s %s: %w", method, url, err), 0)
}

func statusError(method, url string, resp *http.Response, body []byte) error {
	err := &StatusError{Method: method, URL: url, Status: resp.StatusCode, Excerpt: excerpt(body)}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable:
		return automation.Transient(err, retryAfter(resp.Header.Get("Retry-After"), time.Now()))
	case s >= 500 || s == http.StatusRequestTimeout:
		return automation.Transient(err, 0)
	}
	return err
}

// retryAfter reads a Retry-After header: seconds or an HTTP date, at
// most maxRetryAfter; 0 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// excerpt is the beginning of a body on one line, for an error.
func excerpt(b []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "\uFFFD")), " ")
	if utf8.RuneCountInString(s) > excerptRunes {
		r := []rune(s)
		s = string(r[:excerptRunes]) + "…"
	}
	return s
}
