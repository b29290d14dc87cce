package store

import (
	"context"
	"time"
)

// SetAfterAppendHook installs a function run between a write's event
// append and its commit (tests only).
func (s *Store) SetAfterAppendHook(f func()) { s.afterAppend = f }

// SetBeforeWriteHook installs a function run when a write is called,
// before its transaction begins (tests only).
func (s *Store) SetBeforeWriteHook(f func()) { s.beforeWrite = f }

// KeyReads counts CheckAPIKey's reads of the database (tests only).
func (s *Store) KeyReads() int64 { return s.keyReads.Load() }

// SetClock replaces the store's clock (tests only).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// DomainQuery exposes domainQuery (tests only).
var DomainQuery = domainQuery

// The reports computed from the records alone, as before migration 0025's
// counts (tests only).
func (s *Store) ReportDealStagesFull(ctx context.Context, pipeline int64, f ReportFilter) ([]StageCount, error) {
	return s.dealStagesFull(ctx, pipeline, f)
}
func (s *Store) ReportLeadsFull(ctx context.Context, f ReportFilter) ([]LeadCount, error) {
	return s.leadsFull(ctx, f)
}
func (s *Store) ReportWonFull(ctx context.Context, f ReportFilter) ([]WonCount, error) {
	return s.wonFull(ctx, f)
}
func (s *Store) ReportActivitiesFull(ctx context.Context, f ReportFilter, now time.Time) ([]ActivityCount, error) {
	return s.activitiesFull(ctx, f, now, nil)
}

// SetPlainSearch makes q= one OR of LIKE and IN conditions, as before
// migration 0025 (tests only; not safe while other tests search).
func SetPlainSearch(on bool) { plainSearch = on }

// SetNoFold reads plain pages as before the folded statement: the ids,
// the rows, then one query per part (benchmarks compare the two; not safe
// while other tests list).
func SetNoFold(on bool) { noFold = on }
