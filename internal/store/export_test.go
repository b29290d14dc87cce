package store

import "time"

// SetAfterAppendHook installs a function run between a write's event
// append and its commit (tests only).
func (s *Store) SetAfterAppendHook(f func()) { s.afterAppend = f }

// SetBeforeWriteHook installs a function run when a write is called,
// before its transaction begins (tests only).
func (s *Store) SetBeforeWriteHook(f func()) { s.beforeWrite = f }

// SetClock replaces the store's clock (tests only).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// DomainQuery exposes domainQuery (tests only).
var DomainQuery = domainQuery
