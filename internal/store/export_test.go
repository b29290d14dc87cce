package store

// SetAfterAppendHook installs a function run between a write's event
// append and its commit (tests only).
func (s *Store) SetAfterAppendHook(f func()) { s.afterAppend = f }
