package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
)

// record is a pointer to a CRM record type: it carries crm.Meta and
// crm.Extra and normalizes itself.
type record[T any] interface {
	*T
	RecordMeta() *crm.Meta
	RecordExtra() *crm.Extra
	Normalize() error
}

// createRecord is the create path every record shares: normalize, check
// references on the read pool, then in one write stamp, insert and log the
// create. Steps peculiar to an entity happen before (on v) or inside
// insert.
func createRecord[T any, P record[T]](s *Store, ctx context.Context, actor crm.Actor, entity string, v T,
	check func(txq, *T) error, insert func(*Tx, *T) error) (T, error) {
	p := P(&v)
	normExtra(p.RecordExtra())
	if err := p.Normalize(); err != nil {
		return v, err
	}
	s.matchAddresses(ctx, p, nil)
	if err := check(s.rq(ctx), &v); err != nil {
		return v, err
	}
	err := s.Write(ctx, actor, func(t *Tx) error {
		return insertLogged[T, P](t, entity, &v, insert)
	})
	return v, err
}

// insertLogged stamps, inserts and logs the create of a checked record.
func insertLogged[T any, P record[T]](t *Tx, entity string, v *T, insert func(*Tx, *T) error) error {
	p := P(v)
	t.stampNew(p.RecordMeta())
	if err := insert(t, v); err != nil {
		return err
	}
	return t.EmitDiff(entity, p.RecordMeta().ID, events.Create, nil, *v)
}

// createInTx is createRecord inside a write already under way (one
// transaction for many records, as the 1C catalog import needs); the
// references are checked on the write's own transaction.
func createInTx[T any, P record[T]](t *Tx, entity string, v T, check func(txq, *T) error, insert func(*Tx, *T) error) (T, error) {
	p := P(&v)
	normExtra(p.RecordExtra())
	if err := p.Normalize(); err != nil {
		return v, err
	}
	if err := check(t.rq(), &v); err != nil {
		return v, err
	}
	return v, insertLogged[T, P](t, entity, &v, insert)
}

// updateOps are the entity-specific steps of updateRecord.
type updateOps[T any] struct {
	entity string
	get    func(txq, int64) (T, error)
	// fix, when set, runs after mutate: it puts back or refuses what a
	// caller may not change (a system number, requisites).
	fix   func(old, cur *T) error
	check func(q txq, old, cur *T) error
	save  func(t *Tx, old, cur *T) error
}

// updateRecord is the update path every record shares: load the live
// record inside the write, let mutate change a copy, keep the server-set
// meta (but honour a new responsible user), normalize, check, save and log
// the changed fields.
func updateRecord[T any, P record[T]](s *Store, ctx context.Context, actor crm.Actor, id int64, ops updateOps[T], mutate func(*T) error) (T, error) {
	var cur T
	err := s.Write(ctx, actor, func(t *Tx) error {
		var err error
		cur, err = updateInTx[T, P](t, id, ops, mutate)
		return err
	})
	return cur, err
}

// updateInTx is updateRecord's work inside a write already begun, for
// changes that update several records at once.
// lockRow takes the row lock of a record about to be read and changed. On
// PostgreSQL two writes of one record would otherwise both read it as it
// was and the second would silently undo the first's change; SQLite has
// one writer, so there it is not needed.
func (t *Tx) lockRow(entity string, id int64) error {
	table, ok := entityTables[entity]
	if !ok || t.store.db.Dialect != db.Postgres {
		return nil
	}
	if _, err := t.tx.ExecContext(t.ctx, "SELECT id FROM "+table+" WHERE id = $1 FOR UPDATE", id); err != nil {
		return fmt.Errorf("store: lock %s %d: %w", entity, id, err)
	}
	return nil
}

func updateInTx[T any, P record[T]](t *Tx, id int64, ops updateOps[T], mutate func(*T) error) (T, error) {
	var cur T
	err := func() error {
		if err := t.lockRow(ops.entity, id); err != nil {
			return err
		}
		old, err := ops.get(t.rq(), id)
		if err != nil {
			return err
		}
		om := P(&old).RecordMeta()
		// A request limited in what it changes is judged on the record
		// as the write sees it, not as it was before the write began.
		if err := editable(t.ctx, ops.entity, id, om.AssignedByID); err != nil {
			return err
		}
		if om.DeletedAt != nil {
			return NotFound(ops.entity, id)
		}
		if cur, err = clone(old); err != nil {
			return err
		}
		if err := mutate(&cur); err != nil {
			return err
		}
		cm := P(&cur).RecordMeta()
		assigned := cm.AssignedByID
		*cm = *om
		if assigned != 0 {
			cm.AssignedByID = assigned
		}
		if ops.fix != nil {
			if err := ops.fix(&old, &cur); err != nil {
				return err
			}
		}
		normExtra(P(&cur).RecordExtra())
		if err := P(&cur).Normalize(); err != nil {
			return err
		}
		t.store.matchAddresses(t.ctx, P(&cur), P(&old))
		if err := ops.check(t.rq(), &old, &cur); err != nil {
			return err
		}
		t.stampUpdate(cm)
		if err := ops.save(t, &old, &cur); err != nil {
			return err
		}
		return t.EmitDiff(ops.entity, id, events.Update, old, cur)
	}()
	return cur, err
}

// keepNumber is the fix of documents whose number the system gives: a
// caller may send it back unchanged, not change it.
func keepNumber[T any](number func(*T) *string) func(old, cur *T) error {
	return func(old, cur *T) error {
		if strings.TrimSpace(*number(cur)) != *number(old) {
			return crm.Invalid("number", "is given by the system and cannot be changed")
		}
		*number(cur) = *number(old)
		return nil
	}
}
