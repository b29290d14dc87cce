package httpx

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry is how a client repeats a call the remote answered "not now"
// (429, 503): up to Attempts tries, after the wait the remote names
// (Retry-After) or else a doubling backoff with jitter, never past the
// context. The connector clients (Calltouch, retailCRM, МойСклад) share it.
type Retry struct {
	// Attempts bounds the tries, the first included (0 or 1: one try).
	Attempts int
	// Backoff is the first wait when the remote names none, doubled on
	// each later try (0: 1 s).
	Backoff time.Duration
	// Jitter adds up to this share of a computed wait (0.5: up to half
	// again), so that the clients a refusal struck together do not come
	// back together. A wait the remote named is kept as named.
	Jitter float64
	// MaxWait bounds the waits: a computed one is cut to it; one the
	// remote names longer than it ends the retries (Do returns the
	// attempt's error: the caller's own retry comes later). 0: no bound.
	MaxWait time.Duration
	// Sleep waits d or until ctx ends (nil: a timer). Tests pass one that
	// records the waits.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Attempt is what one try came to.
type Attempt struct {
	// Err is the try's error, nil when it succeeded.
	Err error
	// Again: the refusal is worth another try (a 429, a 503).
	Again bool
	// Wait is the wait the remote named (RetryAfter), 0 for none.
	Wait time.Duration
	// Held: the try arranged the wait itself (a pause every request of
	// the account keeps): Do checks it against MaxWait but does not
	// sleep it again.
	Held bool
}

// Do calls try (n = 0, 1, …) until it succeeds, its refusal is final,
// the tries run out or a wait is too long — returning the last try's
// error — or ctx ends while waiting, returning ctx's error wrapped with
// the last try's (errors.Is finds both).
func (p Retry) Do(ctx context.Context, try func(ctx context.Context, n int) Attempt) error {
	backoff := p.Backoff
	if backoff <= 0 {
		backoff = time.Second
	}
	for n := 0; ; n++ {
		a := try(ctx, n)
		if a.Err == nil || !a.Again || n+1 >= p.Attempts {
			return a.Err
		}
		d := a.Wait
		if d > 0 {
			if p.MaxWait > 0 && d > p.MaxWait {
				return a.Err
			}
		} else {
			d = p.backoff(backoff, n)
		}
		if a.Held {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("%w (after %w)", err, a.Err)
			}
			continue
		}
		if err := p.sleep(ctx, d); err != nil {
			return fmt.Errorf("%w (after %w)", err, a.Err)
		}
	}
}

// backoff is the computed wait before try n+1: first·2ⁿ plus jitter,
// at most MaxWait (an hour when unbounded).
func (p Retry) backoff(first time.Duration, n int) time.Duration {
	limit := p.MaxWait
	if limit <= 0 {
		limit = time.Hour
	}
	d := min(first, limit)
	for range n {
		if d >= limit/2 {
			d = limit
			break
		}
		d *= 2
	}
	if p.Jitter > 0 {
		d += time.Duration(rand.Float64() * p.Jitter * float64(d))
	}
	if p.MaxWait > 0 && d > p.MaxWait {
		d = p.MaxWait
	}
	return d
}

func (p Retry) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
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

// RetryAfter reads a Retry-After header: seconds or an HTTP date (RFC
// 9110 §10.2.3), as a wait from now; 0 when absent, unreadable or past.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, 366*24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
