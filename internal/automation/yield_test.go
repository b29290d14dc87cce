package automation

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// While the server is busy, steps go one at a time; when it is not, all
// go at once.
func TestYieldUnderPressure(t *testing.T) {
	var inFlight atomic.Int64
	s := &Service{slots: make(chan struct{}, busySlots)}
	WithPressure(inFlight.Load, 8)(s)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go s.watchLoad(ctx)
	settle := func(n int64) {
		inFlight.Store(n)
		for want := n >= 8; s.isBusy() != want; {
			time.Sleep(10 * time.Millisecond)
		}
	}

	// A burst is not a load.
	inFlight.Store(20)
	time.Sleep(loadSample + 10*time.Millisecond)
	if s.isBusy() {
		t.Fatal("one sample of 20 made the server busy")
	}
	settle(20)
	var running, most atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := s.yield(ctx)
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(5 * time.Millisecond)
			running.Add(-1)
			done()
		}()
	}
	wg.Wait()
	if most.Load() != busySlots {
		t.Fatalf("%d steps at once while busy, want %d", most.Load(), busySlots)
	}

	settle(1)
	start := make(chan struct{})
	var dones []func()
	for i := 0; i < 6; i++ {
		dones = append(dones, s.yield(ctx))
	}
	close(start)
	for _, d := range dones {
		d()
	}
	// A waiting step gives up with its context.
	settle(20)
	hold := s.yield(ctx)
	c, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	s.yield(c)()
	if c.Err() == nil {
		t.Fatal("a step went while the only slot was held")
	}
	// A step waiting for the slot goes when the load passes, slot or not.
	went := make(chan struct{})
	go func() { s.yield(ctx)(); close(went) }()
	settle(1)
	select {
	case <-went:
	case <-time.After(2 * time.Second):
		t.Fatal("a waiting step still waits after the load passed")
	}
	hold()
}
