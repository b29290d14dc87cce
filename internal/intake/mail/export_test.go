package mail

import "sync/atomic"

// CancelBeforeWrite makes s call cancel just before it writes a message's
// lead; the returned function reports whether it did.
func CancelBeforeWrite(s *Service, cancel func()) func() bool {
	var done atomic.Bool
	s.beforeTake = func() {
		cancel()
		done.Store(true)
	}
	return done.Load
}

// BeforeTake makes s call f just before it writes a message's lead.
func BeforeTake(s *Service, f func()) { s.beforeTake = f }
