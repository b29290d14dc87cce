package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/obmen/obmen/internal/db"
)

// RateBuckets keeps the rate limits' token buckets in the database
// (table rate_buckets), shared by every instance on it; it is the
// httpx.Buckets of the public endpoints' limiters.
type RateBuckets struct {
	db    *db.DB
	swept atomic.Int64
}

// NewRateBuckets returns the buckets kept in d.
func NewRateBuckets(d *db.DB) *RateBuckets { return &RateBuckets{db: d} }

// sweepEvery is how often an instance deletes the full buckets.
const sweepEvery = time.Minute

// Take takes a token from key's bucket of burst tokens refilled one per
// every: one statement that inserts or updates the bucket's row, so that
// concurrent takes on any instance are serialised by the row's lock.
func (b *RateBuckets) Take(ctx context.Context, key string, every time.Duration, burst int, now time.Time) (bool, time.Duration, error) {
	if every <= 0 || burst <= 0 {
		return true, 0, nil
	}
	key = bucketKey(key)
	n := now.UnixNano()
	limit := n + int64(burst)*int64(every) // the furthest ahead the bucket may be
	// cur is the bucket's theoretical arrival time, not earlier than now
	// (a bucket idle long enough is full, not fuller).
	const cur = `(CASE WHEN rate_buckets.tat > CAST($2 AS BIGINT) THEN rate_buckets.tat ELSE CAST($2 AS BIGINT) END)`
	const q = `INSERT INTO rate_buckets (key, tat, allowed) VALUES ($1, CAST($2 AS BIGINT) + CAST($3 AS BIGINT), 1)
		ON CONFLICT (key) DO UPDATE SET
			allowed = CASE WHEN ` + cur + ` + CAST($3 AS BIGINT) <= CAST($4 AS BIGINT) THEN 1 ELSE 0 END,
			tat = CASE WHEN ` + cur + ` + CAST($3 AS BIGINT) <= CAST($4 AS BIGINT) THEN ` + cur + ` + CAST($3 AS BIGINT) ELSE rate_buckets.tat END
		RETURNING tat, allowed`
	var tat, allowed int64
	var err error
	switch b.db.Dialect {
	case db.Postgres:
		// One statement in its own implicit transaction: one round trip
		// on the pool (Read is PostgreSQL's write pool too) instead of
		// begin, statement and commit.
		err = b.db.Read.QueryRowContext(ctx, q, key, n, int64(every), limit).Scan(&tat, &allowed)
	default:
		// SQLite: through the one writer, committed with the requests
		// writing at the same moment (group commit).
		err = b.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, q, key, n, int64(every), limit).Scan(&tat, &allowed)
		})
	}
	if err != nil {
		return false, 0, fmt.Errorf("store: rate bucket %q: %w", key, err)
	}
	b.sweep(ctx, n)
	if allowed == 1 {
		return true, 0, nil
	}
	return false, time.Duration(tat + int64(every) - limit), nil
}

// maxKey is the longest key kept as it is.
const maxKey = 128

// bucketKey is the row key of key. A key is what a client sent (a login
// up to the body limit, a form id from the path): a long one or one that
// is not UTF-8 — PostgreSQL refuses both, an index entry over a few
// kilobytes and invalid text — is kept as its first bytes and its SHA-256,
// still one bucket per key.
func bucketKey(key string) string {
	if len(key) <= maxKey && utf8.ValidString(key) {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return strings.ToValidUTF8(key[:min(len(key), maxKey/2)], "") + "#" + hex.EncodeToString(sum[:])
}

// sweep deletes the buckets that are full again, at most once a
// sweepEvery in this instance; a failure is left to the next sweep.
func (b *RateBuckets) sweep(ctx context.Context, n int64) {
	last := b.swept.Load()
	if n-last < int64(sweepEvery) || !b.swept.CompareAndSwap(last, n) {
		return
	}
	_ = b.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM rate_buckets WHERE tat < $1`, n)
		return err
	})
}
