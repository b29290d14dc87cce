package store_test

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The buckets hold the token-bucket rules (burst, then one per interval,
// a refill after the interval, keys apart) on both engines.
func TestRateBuckets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		b := store.NewRateBuckets(d)
		now := time.Unix(1_800_000_000, 0)
		every := 10 * time.Second
		for _, tc := range []struct {
			name string
			key  string
			at   time.Duration // after now
			ok   bool
			wait time.Duration
		}{
			{"first of the burst", "ip:1", 0, true, 0},
			{"second", "ip:1", 0, true, 0},
			{"third", "ip:1", 0, true, 0},
			{"over the burst", "ip:1", 0, false, 10 * time.Second},
			{"still over, later", "ip:1", 4 * time.Second, false, 6 * time.Second},
			{"another key", "ip:2", 4 * time.Second, true, 0},
			{"one refilled", "ip:1", 10 * time.Second, true, 0},
			{"and only one", "ip:1", 10 * time.Second, false, 10 * time.Second},
			{"idle: full again", "ip:1", time.Hour, true, 0},
			{"burst after idle", "ip:1", time.Hour, true, 0},
			{"burst after idle, third", "ip:1", time.Hour, true, 0},
			{"burst after idle, over", "ip:1", time.Hour, false, 10 * time.Second},
		} {
			ok, wait, err := b.Take(ctx, tc.key, every, 3, now.Add(tc.at))
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if ok != tc.ok || wait != tc.wait {
				t.Errorf("%s: ok=%v wait=%v, want %v %v", tc.name, ok, wait, tc.ok, tc.wait)
			}
		}
	})
}

// Limiters of two instances on one database share the budget, also when
// both are hit at once: of 40 concurrent attempts against a burst of 10,
// exactly 10 pass.
func TestSharedLimiterAcrossInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		one := httpx.NewLimiter(time.Hour, 10).Shared(store.NewRateBuckets(d), "signin-login")
		two := httpx.NewLimiter(time.Hour, 10).Shared(store.NewRateBuckets(d), "signin-login")
		var passed atomic.Int64
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l := one
				if i%2 == 1 {
					l = two
				}
				if ok, _ := l.Allow(ctx, "admin"); ok {
					passed.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := passed.Load(); n != 10 {
			t.Fatalf("%d attempts passed across two instances, want 10", n)
		}
		// Another limiter name is another budget.
		other := httpx.NewLimiter(time.Hour, 10).Shared(store.NewRateBuckets(d), "signin-ip")
		if ok, _ := other.Allow(ctx, "admin"); !ok {
			t.Fatal("a limiter of another name shares the budget")
		}
	})
}

// A limiter whose buckets fail (here: the table is gone) still limits, in
// this instance.
func TestSharedLimiterFallsBack(t *testing.T) {
	d := storetest.OpenSQLite(t)
	l := httpx.NewLimiter(time.Hour, 2).Shared(store.NewRateBuckets(d), "x")
	ctx := context.Background()
	if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DROP TABLE rate_buckets")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, false} {
		if ok, _ := l.Allow(ctx, "k"); ok != want {
			t.Fatalf("attempt %d: %v, want %v", i+1, ok, want)
		}
	}
}

// The cost of one take: in memory (one instance) against in the database
// (shared by all), per engine.
func BenchmarkLimiter(b *testing.B) {
	ctx := context.Background()
	b.Run("memory", func(b *testing.B) {
		l := httpx.NewLimiter(time.Microsecond, 1<<30)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Allow(ctx, "203.0.113.7")
			}
		})
	})
	for _, e := range storetest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			l := httpx.NewLimiter(time.Microsecond, 1<<30).Shared(store.NewRateBuckets(e.Open(b)), "bench")
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					// Keys spread over 64 addresses, as a crowd of visitors.
					l.Allow(ctx, "203.0.113."+string(rune('0'+n.Add(1)%64)))
				}
			})
		})
	}
}

// A key of any length or bytes — a login is what the client sent, up to
// the body limit, a form id what the path had — is a bucket of its own on
// both engines (PostgreSQL refuses index entries of more than a few
// kilobytes, and text that is not UTF-8), and no larger in the table than
// a short one.
func TestRateBucketsLongKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		b := store.NewRateBuckets(d)
		now := time.Unix(1_800_000_000, 0)
		long := func(seed byte) string {
			k := make([]byte, 1<<20)
			for i := range k {
				seed = seed*33 + byte(i>>8) + 1
				k[i] = 'a' + seed%26
			}
			return "signin-login:" + string(k)
		}
		one, two := long(1), long(2)
		for i, tc := range []struct {
			key string
			ok  bool
		}{{one, true}, {one, false}, {two, true}, {two, false}, {"webform:\xff", true}, {"webform:\xff", false}, {"webform:\xfe", true}} {
			ok, _, err := b.Take(ctx, tc.key, time.Hour, 1, now)
			if err != nil {
				t.Fatalf("take %d: %v", i+1, err)
			}
			if ok != tc.ok {
				t.Errorf("take %d: ok=%v, want %v", i+1, ok, tc.ok)
			}
		}
		var longest int
		if err := d.Read.QueryRowContext(ctx, `SELECT MAX(LENGTH(key)) FROM rate_buckets`).Scan(&longest); err != nil {
			t.Fatal(err)
		}
		if longest > 200 {
			t.Errorf("a bucket's key is kept as %d characters", longest)
		}
	})
}
