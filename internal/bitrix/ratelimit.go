package bitrix

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// errQueryLimit is Bitrix24's answer to a webhook that calls faster than
// its leaky bucket drains.
var errQueryLimit = &Error{Status: http.StatusServiceUnavailable, Code: "QUERY_LIMIT_EXCEEDED", Description: "Too many requests"}

// limiter is a per-webhook request rate limit modelled on Bitrix24's
// leaky bucket: a bucket of burst calls per webhook that drains at rate
// calls a second. A batch is one call, as in Bitrix24.
//
// It is the shared httpx.Limiter: the buckets are kept in the database
// (rate_buckets), so that several instances on one PostgreSQL give a
// webhook one budget, as one Bitrix24 portal does, not one per instance;
// buckets in memory stand in while the database fails (the limit falls
// back to per instance, never to none).
type limiter struct{ l *httpx.Limiter }

// newLimiter returns the limit kept in d (in memory when d is nil), nil
// when perSecond is 0 (no limit).
func newLimiter(d *db.DB, perSecond float64, burst int) *limiter {
	if perSecond <= 0 || math.IsNaN(perSecond) {
		return nil
	}
	if burst <= 0 {
		burst = max(1, int(math.Ceil(perSecond)))
	}
	l := httpx.NewLimiter(time.Duration(float64(time.Second)/perSecond), burst)
	if d != nil {
		l = l.Shared(store.NewRateBuckets(d), "bitrix:webhook")
	}
	return &limiter{l}
}

// allow takes a call of a webhook from its bucket at now; false when the
// bucket is full.
func (l *limiter) allow(ctx context.Context, hookID int64, now time.Time) bool {
	if l == nil {
		return true
	}
	ok, _ := l.l.AllowAt(ctx, strconv.FormatInt(hookID, 10), now)
	return ok
}
