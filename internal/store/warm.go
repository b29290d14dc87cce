package store

import (
	"context"
	"errors"
	"fmt"
)

// warmPhone is a number no record has: a lookup of it reads the indexes
// and nothing else.
const warmPhone = "+7 000 000-00-00"

// Warm runs the reads the API serves most — a lead, contact or company
// found by phone, read by id — under ctx, six times each: a fresh
// PostgreSQL connection parses each statement once and plans it afresh its
// first five times before it may keep a generic plan. db.WarmPool calls it
// on every connection of the pool before the server takes requests, so a
// request is never the one that pays for it (issue 21). The statements
// are the ones a request runs: the same list parameters and photo memo as
// the REST API's list and get, unscoped as an administrator's key.
func (s *Store) Warm(ctx context.Context) error {
	ctx = WithPhotoMemo(Unscoped(ctx))
	p := ListParams{Phone: warmPhone}
	for range 6 {
		if _, _, err := s.ListContacts(ctx, p); err != nil {
			return fmt.Errorf("store: warm: contacts by phone: %w", err)
		}
		if _, _, err := s.ListLeads(ctx, p); err != nil {
			return fmt.Errorf("store: warm: leads by phone: %w", err)
		}
		if _, _, err := s.ListAccounts(ctx, p); err != nil {
			return fmt.Errorf("store: warm: companies by phone: %w", err)
		}
		for what, get := range map[string]func() error{
			"contact": func() error { _, err := s.GetContact(ctx, 0); return err },
			"lead":    func() error { _, err := s.GetLead(ctx, 0); return err },
			"company": func() error { _, err := s.GetAccount(ctx, 0); return err },
		} {
			if err := get(); err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("store: warm: %s by id: %w", what, err)
			}
		}
	}
	return nil
}
