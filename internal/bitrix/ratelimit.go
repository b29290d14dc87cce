package bitrix

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
)

// errQueryLimit is Bitrix24's answer to a webhook that calls faster than
// its leaky bucket drains.
var errQueryLimit = &Error{Status: http.StatusServiceUnavailable, Code: "QUERY_LIMIT_EXCEEDED", Description: "Too many requests"}

// limiter is a per-webhook request rate limit modelled on Bitrix24's
// leaky bucket: a bucket of burst calls per webhook that drains at rate
// calls a second. A batch is one call, as in Bitrix24.
//
// The buckets are kept in the database (rate_buckets), so that several
// instances on one PostgreSQL give a webhook one budget, as one Bitrix24
// portal does, not one per instance. The buckets in memory only stand in
// while the database fails (the limit falls back to per instance, never
// to none).
type limiter struct {
	rate  rate.Limit
	burst int
	every time.Duration // one call drains in every

	shared *store.RateBuckets

	mu      sync.Mutex
	buckets map[int64]*rate.Limiter // webhook id → its bucket (stand-in)
}

// newLimiter returns the limit kept in d, nil when perSecond is 0 (no
// limit).
func newLimiter(d *db.DB, perSecond float64, burst int) *limiter {
	if perSecond <= 0 || math.IsNaN(perSecond) {
		return nil
	}
	if burst <= 0 {
		burst = max(1, int(math.Ceil(perSecond)))
	}
	l := &limiter{rate: rate.Limit(perSecond), burst: burst, every: time.Duration(float64(time.Second) / perSecond),
		buckets: map[int64]*rate.Limiter{}}
	if d != nil && l.every > 0 {
		l.shared = store.NewRateBuckets(d)
	}
	return l
}

// allow takes a call of a webhook from its bucket at now; false when the
// bucket is full.
func (l *limiter) allow(ctx context.Context, hookID int64, now time.Time) bool {
	if l == nil {
		return true
	}
	if l.shared != nil {
		ok, _, err := l.shared.Take(ctx, "bitrix:webhook:"+strconv.FormatInt(hookID, 10), l.every, l.burst, now)
		if err == nil {
			return ok
		}
		slog.WarnContext(ctx, "bitrix: shared rate limit unavailable, limiting in this instance only", "webhook", hookID, "err", err)
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
