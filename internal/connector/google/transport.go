package google

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// maxAttempts is how often a request is sent before its 429 or 5xx
// answer is returned.
const maxAttempts = 5

// retryTransport sends a request again after a 429 or 5xx answer: after
// Retry-After when the answer has one, else after a doubling backoff
// (Google's guidance for both APIs: truncated exponential backoff).
type retryTransport struct {
	base    http.RoundTripper
	backoff time.Duration
	maxWait time.Duration
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	wait := t.backoff
	if wait <= 0 {
		wait = time.Second
	}
	maxWait := t.maxWait
	if maxWait <= 0 {
		maxWait = time.Minute
	}
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 {
			if req.Body != nil && req.GetBody == nil {
				return nil, fmt.Errorf("google: cannot resend %s %s: its body cannot be read again", req.Method, req.URL.Path)
			}
			r = req.Clone(req.Context())
			if req.GetBody != nil {
				b, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = b
			}
		}
		res, err := t.base.RoundTrip(r)
		if err != nil || attempt == maxAttempts || (res.StatusCode != http.StatusTooManyRequests && res.StatusCode < 500) {
			return res, err
		}
		d := retryAfter(res.Header.Get("Retry-After"), time.Now())
		if d < 0 {
			d = wait
			wait *= 2
		}
		d = min(d, maxWait)
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
		res.Body.Close()
		if err := sleep(req.Context(), d); err != nil {
			return nil, err
		}
	}
}

// retryAfter reads Retry-After: seconds or an HTTP date; -1 when absent
// or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return -1
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0)
	}
	return -1
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
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
