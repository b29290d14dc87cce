package bitrix

import (
	"math"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// errQueryLimit is Bitrix24's answer to a webhook that calls faster than
// its leaky bucket drains.
var errQueryLimit = &Error{Status: http.StatusServiceUnavailable, Code: "QUERY_LIMIT_EXCEEDED", Description: "Too many requests"}

// limiter is a per-webhook request rate limit modelled on Bitrix24's
// leaky bucket: a bucket of burst calls per webhook that drains at rate
// calls a second. A batch is one call, as in Bitrix24.
type limiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[int64]*rate.Limiter // webhook id → its bucket
}

// newLimiter returns the limit, nil when perSecond is 0 (no limit).
func newLimiter(perSecond float64, burst int) *limiter {
	if perSecond <= 0 || math.IsNaN(perSecond) {
		return nil
	}
	if burst <= 0 {
		burst = max(1, int(math.Ceil(perSecond)))
	}
	return &limiter{rate: rate.Limit(perSecond), burst: burst, buckets: map[int64]*rate.Limiter{}}
}

// allow takes a call of a webhook from its bucket at now; false when the
// bucket is full.
func (l *limiter) allow(hookID int64, now time.Time) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	b, ok := l.buckets[hookID]
	if !ok {
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[hookID] = b
	}
	l.mu.Unlock()
	return b.AllowN(now, 1)
}
