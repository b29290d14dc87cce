package exchange

import "time"

// SetNow replaces the service's clock (tests of the sweep).
func (s *Service) SetNow(now func() time.Time) { s.now = now }
