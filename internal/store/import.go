package store

import (
	"context"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
)

// ImportError is a row of an import that cannot be written: Row counts
// from 1 in the order given, Field names the record's field.
type ImportError struct {
	Row     int    `json:"row"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// importRecords validates every record (as a create would) and, when all
// pass and dryRun is false, creates them in one write: all of them or, on
// any error, none.
func importRecords[T any, P record[T]](s *Store, ctx context.Context, actor crm.Actor, entity string, vs []T, dryRun bool,
	prepare func(*T), check func(txq, *T) error, insert func(*Tx, *T) error) ([]int64, []ImportError, error) {
	var bad []ImportError
	q := s.rq(ctx)
	for i := range vs {
		p := P(&vs[i])
		normExtra(p.RecordExtra())
		if prepare != nil {
			prepare(&vs[i])
		}
		err := p.Normalize()
		if err == nil && !dryRun {
			s.matchAddresses(ctx, p, nil)
		}
		if err == nil {
			err = check(q, &vs[i])
		}
		if err != nil {
			fe, ok := crm.AsFieldError(err)
			if !ok {
				return nil, nil, err
			}
			bad = append(bad, ImportError{Row: i + 1, Field: fe.Field, Message: fe.Message})
		}
	}
	if len(bad) > 0 || dryRun {
		return nil, bad, nil
	}
	ids := make([]int64, len(vs))
	err := s.Write(ctx, actor, func(t *Tx) error {
		for i := range vs {
			p := P(&vs[i])
			t.stampNew(p.RecordMeta())
			if err := insert(t, &vs[i]); err != nil {
				return err
			}
			if err := t.EmitDiff(entity, p.RecordMeta().ID, events.Create, nil, vs[i]); err != nil {
				return err
			}
			ids[i] = p.RecordMeta().ID
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return ids, nil, nil
}

// ImportLeads creates leads all at once or not at all; with dryRun it
// only validates. Rows that would fail are returned, nothing is written.
func (s *Store) ImportLeads(ctx context.Context, actor crm.Actor, ls []crm.Lead, dryRun bool) ([]int64, []ImportError, error) {
	return importRecords(s, ctx, actor, EntityLead, ls, dryRun,
		func(l *crm.Lead) { l.ContactID, l.AccountID, l.DealID, l.ConvertedAt = 0, 0, 0, nil },
		checkLead, func(t *Tx, l *crm.Lead) error { return t.insertLead(l) })
}

// ImportContacts is ImportLeads for contacts.
func (s *Store) ImportContacts(ctx context.Context, actor crm.Actor, cs []crm.Contact, dryRun bool) ([]int64, []ImportError, error) {
	return importRecords(s, ctx, actor, EntityContact, cs, dryRun, nil, checkContact,
		func(t *Tx, c *crm.Contact) error { return t.insertContact(c) })
}

// ImportAccounts is ImportLeads for accounts.
func (s *Store) ImportAccounts(ctx context.Context, actor crm.Actor, as []crm.Account, dryRun bool) ([]int64, []ImportError, error) {
	return importRecords(s, ctx, actor, EntityAccount, as, dryRun,
		func(a *crm.Account) { a.Requisites = []crm.Requisite{} }, checkAccount,
		func(t *Tx, a *crm.Account) error { return t.insertAccount(a) })
}
