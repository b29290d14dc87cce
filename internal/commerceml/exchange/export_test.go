package exchange

import "time"

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
