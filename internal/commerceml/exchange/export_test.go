package exchange

import (
	"context"
	"time"
)

// SetNow replaces the service's clock (tests of the sweep).
func (s *Service) SetNow(now func() time.Time) { s.now = now }

// Holds returns the longest write the exchange held and the last
// switch's duration.
func (s *Service) Holds() (maxHold, lastSwitch time.Duration) {
	return time.Duration(s.maxHold.Load()), time.Duration(s.lastSwitch.Load())
}

// ResetHolds forgets the writes measured so far.
func (s *Service) ResetHolds() { s.maxHold.Store(0); s.lastSwitch.Store(0) }

// SwitchSteps returns how long each step of the last switch took.
func (s *Service) SwitchSteps() string { v, _ := s.lastSteps.Load().(string); return v }

// SetSwitchChunk sets how many staged products, and goods with their
// offers, one write of a switch applies.
func (s *Service) SetSwitchChunk(n int) { s.switchChunk = n }

// SetAfterChunk sets a function called after each committed write of a
// switch (phase "begin", "products" or "offers", n-th of its phase); an
// error stops the switch there, as a crash would.
func (s *Service) SetAfterChunk(fn func(ctx context.Context, phase string, n int) error) {
	s.afterChunk = fn
}
