package db_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// A key is held by one caller at a time; other keys are free; a waiter
// gives up with its context.
func TestLockKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var inside, most atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				release, err := d.LockKeys(ctx, "contact/phone:+79256424290", "contact/email:a@b.ru")
				if err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(5 * time.Millisecond)
				inside.Add(-1)
				release()
			}()
		}
		wg.Wait()
		if most.Load() != 1 {
			t.Fatalf("%d holders at once", most.Load())
		}
		hold, err := d.LockKeys(ctx, "k1")
		if err != nil {
			t.Fatal(err)
		}
		other, err := d.LockKeys(ctx, "k2") // not blocked by k1
		if err != nil {
			t.Fatal(err)
		}
		other()
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if _, err := d.LockKeys(short, "k1"); err == nil || !errors.Is(err, context.DeadlineExceeded) && !errors.Is(short.Err(), context.DeadlineExceeded) {
			t.Fatalf("a held key was taken: %v", err)
		}
		hold()
		again, err := d.LockKeys(ctx, "k1")
		if err != nil {
			t.Fatalf("k1 after release: %v", err)
		}
		again()
	})
}

// TryLockKey: a held key is refused without waiting — also to another
// connection of the database (another instance on PostgreSQL) — and free
// again once released; other keys are free meanwhile.
func TestTryLockKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		release, ok, err := d.TryLockKey(ctx, "commerceml:run:7")
		if err != nil || !ok {
			t.Fatalf("first take: %v %v", ok, err)
		}
		var others []*db.DB
		others = append(others, d)
		if d.Dialect == db.Postgres {
			// A second process on the same database.
			d2, err := db.Open(ctx, db.Options{PostgresURL: d.PostgresURL()})
			if err != nil {
				t.Fatal(err)
			}
			defer d2.Close()
			others = append(others, d2)
		}
		for _, o := range others {
			if _, ok, err := o.TryLockKey(ctx, "commerceml:run:7"); ok || err != nil {
				t.Fatalf("a held key taken again: %v %v", ok, err)
			}
			r, ok, err := o.TryLockKey(ctx, "commerceml:run:8")
			if !ok || err != nil {
				t.Fatalf("another key: %v %v", ok, err)
			}
			r()
		}
		release()
		for _, o := range others {
			r, ok, err := o.TryLockKey(ctx, "commerceml:run:7")
			if !ok || err != nil {
				t.Fatalf("a released key: %v %v", ok, err)
			}
			r()
		}
	})
}
