package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
)

// This file lets a package that composes several CRM writes into one
// transaction (lead intake: lead, account, activity, its own journal rows)
// do so through Store.Write: each Add* normalizes, checks, stamps, inserts
// and emits the create event exactly like the Create* functions, but
// inside the caller's Tx.

// Ctx is the write's context.
func (t *Tx) Ctx() context.Context { return t.ctx }

// Now is the write's time.
func (t *Tx) Now() time.Time { return t.now }

// SQL is the write's transaction, for a package's own tables.
func (t *Tx) SQL() *sql.Tx { return t.tx }

// addRecord is createRecord inside an open Tx.
func addRecord[T any, P record[T]](t *Tx, entity string, v *T, check func(txq, *T) error, insert func(*Tx, *T) error) error {
	p := P(v)
	normExtra(p.RecordExtra())
	if err := p.Normalize(); err != nil {
		return err
	}
	t.store.matchAddresses(t.ctx, p, nil)
	if err := check(t.rq(), v); err != nil {
		return err
	}
	t.stampNew(p.RecordMeta())
	if err := insert(t, v); err != nil {
		return err
	}
	changes, err := events.CreateChanges(*v)
	if err != nil {
		return err
	}
	t.EmitEncoded(entity, p.RecordMeta().ID, events.Create, changes)
	return nil
}

// Pending is a record made ready outside the write — normalized, checked
// on the read pool, stamped, its create event encoded — so that the
// shared write transaction only runs its SQL (Tx.Insert). Web form
// submits use it: many at once, each waiting for its commit.
type Pending struct {
	entity  string
	id      *int64
	changes []byte
	insert  func(*Tx) error
}

// ID is the record's id once inserted.
func (p *Pending) ID() int64 { return *p.id }

// PendingLead readies a new lead without links (see Pending).
func (s *Store) PendingLead(ctx context.Context, actor crm.Actor, l *crm.Lead) (*Pending, error) {
	normExtra(&l.Extra)
	if err := l.Normalize(); err != nil {
		return nil, err
	}
	s.matchAddresses(ctx, l, nil)
	l.ContactID, l.AccountID, l.DealID, l.ConvertedAt = 0, 0, 0, nil
	if err := checkLead(s.rq(ctx), l); err != nil {
		return nil, err
	}
	stampNew(&l.Meta, actor, s.now())
	changes, err := events.CreateChanges(*l)
	if err != nil {
		return nil, err
	}
	p := &Pending{entity: EntityLead, id: &l.ID, changes: changes}
	owner := l.AssignedByID
	p.insert = func(t *Tx) error {
		if err := t.insertLead(l); err != nil {
			return err
		}
		if l.AssignedByID != owner { // distributed by the rules
			c, err := events.CreateChanges(*l)
			p.changes = c
			return err
		}
		return nil
	}
	return p, nil
}

// PendingActivity readies a calendar activity whose owner is created in
// the same write: set sets its owner (and anything else known only
// then) inside the write, just before the insert; the owner is trusted
// to exist, having just been written.
func (s *Store) PendingActivity(ctx context.Context, actor crm.Actor, a *crm.Activity, set func(a *crm.Activity)) (*Pending, error) {
	normExtra(&a.Extra)
	if err := a.Normalize(); err != nil {
		return nil, err
	}
	r := refs{t: s.rq(ctx)}
	r.user("assigned_by_id", a.AssignedByID)
	r.custom(EntityActivity, &a.Custom)
	if r.err != nil {
		return nil, r.err
	}
	stampNew(&a.Meta, actor, s.now())
	p := &Pending{entity: EntityActivity, id: &a.ID}
	p.insert = func(t *Tx) error {
		set(a)
		if err := a.Normalize(); err != nil {
			return err
		}
		activityTimes(nil, a, t.now)
		if err := t.insertActivity(a); err != nil {
			return err
		}
		changes, err := events.CreateChanges(*a)
		p.changes = changes
		return err
	}
	return p, nil
}

// Insert writes a pending record with its create event.
func (t *Tx) Insert(p *Pending) error {
	if err := p.insert(t); err != nil {
		return err
	}
	t.EmitEncoded(p.entity, *p.id, events.Create, p.changes)
	return nil
}

// AddLead creates a lead in the write, linked to the account and contact
// it names (which must exist).
func (t *Tx) AddLead(l *crm.Lead) error {
	accountID, contactID := l.AccountID, l.ContactID
	l.DealID, l.ConvertedAt = 0, nil
	return addRecord(t, EntityLead, l, checkLead, func(t *Tx, l *crm.Lead) error {
		if err := t.insertLead(l); err != nil {
			return err
		}
		if accountID == 0 && contactID == 0 {
			return nil
		}
		// A lead taken in by a form, mail or the intake endpoint links to
		// the company and contact the system matched, whoever is
		// responsible for them; a lead a user writes links only to what
		// that user may see.
		q := t.rq()
		if in, ok := intakeOf(t.ctx); ok && in.Channel != crm.ChannelAPI {
			q = t.Unscoped().rq()
		}
		r := refs{t: q}
		if accountID != 0 {
			r.record("account_id", EntityAccount, accountID)
		}
		if contactID != 0 {
			r.record("contact_id", EntityContact, contactID)
		}
		if r.err != nil {
			return r.err
		}
		if _, err := t.tx.ExecContext(t.ctx, "UPDATE leads SET account_id = $1, contact_id = $2 WHERE id = $3", accountID, contactID, l.ID); err != nil {
			return fmt.Errorf("store: link lead %d: %w", l.ID, err)
		}
		l.AccountID, l.ContactID = accountID, contactID
		return nil
	})
}

// AddAccount creates an account in the write.
func (t *Tx) AddAccount(a *crm.Account) error {
	a.Requisites = []crm.Requisite{}
	return addRecord(t, EntityAccount, a, checkAccount, func(t *Tx, v *crm.Account) error { return t.insertAccount(v) })
}

// AddContact creates a contact in the write.
func (t *Tx) AddContact(c *crm.Contact) error {
	return addRecord(t, EntityContact, c, checkContact, func(t *Tx, v *crm.Contact) error { return t.insertContact(v) })
}

// AddDeal creates a deal in the write.
func (t *Tx) AddDeal(d *crm.Deal) error {
	return addRecord(t, EntityDeal, d, checkDeal, func(t *Tx, v *crm.Deal) error { return t.insertDeal(v) })
}

// AddTicket creates a ticket in the write.
func (t *Tx) AddTicket(k *crm.Ticket) error {
	return addRecord(t, EntityTicket, k, checkTicket, func(t *Tx, v *crm.Ticket) error { return t.insertTicket(v) })
}

// AddActivity creates an activity in the write.
func (t *Tx) AddActivity(a *crm.Activity) error {
	return addRecord(t, EntityActivity, a, checkActivity, func(t *Tx, a *crm.Activity) error {
		activityTimes(nil, a, t.now)
		return t.insertActivity(a)
	})
}

// FindAccountByINN finds the live account with an INN, on the account
// itself or on one of its requisites (the oldest when several match),
// among those the write's caller may see (t.Unscoped(): among all).
// ErrNotFound when none.
func (t *Tx) FindAccountByINN(inn string) (int64, error) {
	inn = strings.TrimSpace(inn)
	var id int64
	args := []any{inn}
	err := t.tx.QueryRowContext(t.ctx, `SELECT id FROM accounts a WHERE deleted_at = 0 AND (inn = $1
		OR id IN (SELECT rq.record_id FROM requisites rq WHERE rq.inn = $1 AND rq.entity = 'account'))`+
		t.scopeAnd(EntityAccount, "a", &args)+` ORDER BY id LIMIT 1`, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, NotFound("account with INN", inn)
	}
	if err != nil {
		return 0, fmt.Errorf("store: find account by INN %s: %w", inn, err)
	}
	return id, nil
}

// FindContactByComm finds the oldest live contact with a phone (any
// format, matched normalized) or, failing that, an e-mail, among those
// the write's caller may see (t.Unscoped(): among all). ErrNotFound when
// none.
func (t *Tx) FindContactByComm(phone, email string) (int64, error) {
	try := func(kind, norm string) (int64, error) {
		var id int64
		kindSQL, err := commKindSQL(kind)
		if err != nil {
			return 0, err
		}
		args := []any{norm}
		err = t.tx.QueryRowContext(t.ctx, `SELECT c.id FROM contacts c WHERE c.deleted_at = 0 AND c.id IN
			(SELECT record_id FROM comms WHERE kind = `+kindSQL+` AND normalized = $1 AND entity = 'contact')`+
			t.scopeAnd(EntityContact, "c", &args)+` ORDER BY c.id LIMIT 1`, args...).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("store: find contact by %s: %w", strings.ToLower(kind), err)
		}
		return id, nil
	}
	if phone = strings.TrimSpace(phone); phone != "" {
		if id, err := try(crm.KindPhone, crm.PhoneKey(phone)); id != 0 || err != nil {
			return id, err
		}
	}
	if e, ok := crm.NormalizeEmail(email); ok {
		if id, err := try(crm.KindEmail, e); id != 0 || err != nil {
			return id, err
		}
	}
	return 0, NotFound("contact with phone or e-mail", phone+" "+email)
}

// RememberIdempotency records, in the write, that the request k created
// the record entity/id: a retry with the same key then replays it. A key
// already taken is ErrConflict (the write must roll back and the caller
// replay the winner).
func (t *Tx) RememberIdempotency(k Idempotency, entity string, id int64) error {
	return t.RememberIdempotentResult(k, entity, id, nil)
}

// RememberIdempotentResult is RememberIdempotency that also keeps the
// source's own result (ids of what the request made), so that a replay
// can answer with it even when the answer's body was never stored (see
// SaveIdempotentBody).
func (t *Tx) RememberIdempotentResult(k Idempotency, entity string, id int64, result any) error {
	v := map[string]any{"entity": entity, "id": id}
	if result != nil {
		v["result"] = result
	}
	resp := jsonText(v)
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, status, response, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, k.UserID, k.Key, k.Method, k.Path, k.RequestHash, 201, resp, micro(t.now))
	if db.IsUniqueViolation(err) {
		return fmt.Errorf("store: idempotency key %q: %w", k.Key, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: idempotency key %q: %w", k.Key, err)
	}
	return nil
}
