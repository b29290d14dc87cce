package bitrix24_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/obmen/obmen/internal/connector/bitrix24"
	"github.com/obmen/obmen/internal/connector/bitrix24/bitrix24test"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// twoInstances opens one database twice, as two Obmen processes on it
// would: two pools (on SQLite two writers of one file).
func twoInstances(t *testing.T, engine string) [2]*db.DB {
	var out [2]*db.DB
	switch engine {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "obmen.db")
		out[0] = storetest.OpenSQLiteAt(t, path, "NORMAL")
		out[1] = storetest.OpenSQLiteAt(t, path, "NORMAL")
	default:
		u := storetest.PostgresURL(t)
		for i := range out {
			d, err := db.Open(context.Background(), db.Options{PostgresURL: u})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			if _, err := d.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			out[i] = d
		}
	}
	return out
}

// Two instances (each with its own buckets in memory, on one database)
// call one portal together: their requests share the portal's bucket
// through rate_buckets, so the fake portal, counting by the same leaky
// bucket, refuses none of them, and no stretch of arrivals holds more
// than the burst plus the rate over its length. Alone, each instance's
// bucket would let it send the whole rate: twice the portal's.
func TestBucketSharedByInstances(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			f := bitrix24test.New(t)
			f.Rate, f.Burst = 20, 5
			dbs := twoInstances(t, e.Name)
			p := bitrix24.Portal{URL: f.URL, UserID: f.UserID, Code: f.Code}
			const perClient = 12
			var wg sync.WaitGroup
			var sent [2]int64
			var mu sync.Mutex
			for i, d := range dbs {
				deps := bitrix24.Deps{HTTP: f.Client(), DB: d, Limiters: &bitrix24.Limiters{Rate: 20, Burst: 5}}
				for range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						c := deps.Client(p)
						c.MaxAttempts = 1 // a refusal is an error, not retried
						for range perClient {
							if _, err := c.Call(context.Background(), "profile", nil); err != nil {
								t.Error(err)
								return
							}
						}
						mu.Lock()
						sent[i] += c.Sent.Load()
						mu.Unlock()
					}()
				}
			}
			wg.Wait()
			f.Mu.Lock()
			defer f.Mu.Unlock()
			if f.Limited != 0 || len(f.Arrivals) != 4*perClient || sent[0] != 2*perClient || sent[1] != 2*perClient {
				t.Fatalf("%d of %d requests refused for the rate (sent %v)", f.Limited, len(f.Arrivals), sent)
			}
			for i := range f.Arrivals {
				for j := i + 1; j < len(f.Arrivals); j++ {
					n := float64(j - i + 1)
					if allowed := 5 + 20*f.Arrivals[j].Sub(f.Arrivals[i]).Seconds() + 1; n > allowed {
						t.Fatalf("requests %d..%d: %g in %s, the bucket allows %g", i, j, n, f.Arrivals[j].Sub(f.Arrivals[i]), allowed)
					}
				}
			}
		})
	}
}
