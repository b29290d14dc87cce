package httpx

import (
	"context"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a set of token buckets, one per key (a client address, a
// login), for the endpoints anyone may call. Idle buckets are dropped.
//
// A Limiter made Shared keeps its buckets in Buckets (the database) so
// that several instances behind one balancer draw on the same budget —
// three instances must not triple an attacker's attempts. Its own buckets
// in memory then only stand in while Buckets fails (the protection falls
// back to per instance, never to none).
type Limiter struct {
	every time.Duration
	burst int

	shared Buckets
	name   string

	mu      sync.Mutex
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewLimiter allows burst requests at once per key, refilled one per every.
func NewLimiter(every time.Duration, burst int) *Limiter {
	return &Limiter{every: every, burst: burst, buckets: map[string]*bucket{}}
}

// Buckets keeps token buckets where every instance sees them. Take takes
// a token from key's bucket (burst tokens, refilled one per every); when
// none is left it answers false and how long until the next one.
type Buckets interface {
	Take(ctx context.Context, key string, every time.Duration, burst int, now time.Time) (ok bool, wait time.Duration, err error)
}

// Shared returns a limiter of the same rate whose buckets are kept in b
// under name (which keeps apart limiters sharing b).
func (l *Limiter) Shared(b Buckets, name string) *Limiter {
	return &Limiter{every: l.every, burst: l.burst, shared: b, name: name, buckets: map[string]*bucket{}}
}

// Allow takes a token for key; when none is left it returns false and how
// long until the next one.
func (l *Limiter) Allow(ctx context.Context, key string) (bool, time.Duration) {
	return l.AllowAt(ctx, key, time.Now())
}

// AllowAt is Allow on a clock of the caller's (one a test drives).
func (l *Limiter) AllowAt(ctx context.Context, key string, now time.Time) (bool, time.Duration) {
	if l.shared != nil {
		ok, wait, err := l.shared.Take(ctx, l.name+":"+key, l.every, l.burst, now)
		if err == nil {
			return ok, wait
		}
		slog.WarnContext(ctx, "httpx: shared rate limit unavailable, limiting in this instance only", "limiter", l.name, "err", err)
	}
	return l.allowHere(key, now)
}

// Wait takes a token for key, waiting for one as long as ctx lets it: a
// client's side of a remote limit (a Bitrix24 portal's leaky bucket) that
// every instance draws on. A take that is refused does not count, so
// waiters of several instances take turns by the bucket's own clock.
func (l *Limiter) Wait(ctx context.Context, key string) error {
	for {
		ok, wait := l.Allow(ctx, key)
		if ok {
			return nil
		}
		if dl, has := ctx.Deadline(); has && time.Until(dl) < wait {
			return context.DeadlineExceeded
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// allowHere takes a token from this process's bucket of key.
func (l *Limiter) allowHere(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute {
		// Forget buckets idle long enough to be full again.
		full := time.Duration(l.burst) * l.every
		for k, b := range l.buckets {
			if now.Sub(b.seen) > full {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// ClientIP is the address a request came from (the TCP peer; Obmen does
// not trust forwarding headers it cannot verify).
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// TooManyRequests answers 429 with Retry-After.
func TooManyRequests(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	WriteError(w, Errorf(http.StatusTooManyRequests, "rate_limited", "", "too many attempts; try again in %d s", int(math.Ceil(wait.Seconds()))))
}
