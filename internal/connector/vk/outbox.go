package vk

import (
	"context"
	"sync"
	"time"
)

// loop is the outbox's background sweep.
type loop struct {
	mu   sync.Mutex
	stop func()
	wg   sync.WaitGroup
}

// Start sweeps the outbox every few seconds (retries after error 6, a
// lost answer, a connection that could not be made) until Stop.
func (s *Service) Start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	s.loop.mu.Lock()
	if prev := s.loop.stop; prev != nil {
		s.loop.stop = func() { prev(); cancel() }
	} else {
		s.loop.stop = cancel
	}
	s.loop.mu.Unlock()
	s.loop.wg.Add(1)
	go func() {
		defer s.loop.wg.Done()
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.d.Log.Warn("vk: outbox sweep", "err", err)
			}
		}
	}()
}

// Stop ends what Start started and waits for it.
func (s *Service) Stop() {
	s.loop.mu.Lock()
	stop := s.loop.stop
	s.loop.stop = nil
	s.loop.mu.Unlock()
	if stop != nil {
		stop()
	}
	s.loop.wg.Wait()
}
