package automation

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
)

// joinable says the run's steps from step on may run in one transaction
// with their journal and the run's update (runJoined): on PostgreSQL,
// when every one of them is a CRM step — the CRM's own writes and reads,
// no remote call, no message, no delay — so that nothing outside the
// database sees a step before the transaction commits.
func (s *Service) joinable(c *Compiled, step int) bool {
	if s.db.Dialect != db.Postgres || step >= len(c.Steps) {
		return false
	}
	for i := step; i < len(c.Steps); i++ {
		if c.Steps[i].Action.Describe().Group != "crm" {
			return false
		}
	}
	return true
}

// joinedRuns is how many runs hold a joined transaction at once: half
// the smallest PostgreSQL pool (16), so that each may still take another
// connection of the pool for a read that does not go through its
// transaction, and the pool is never all held by transactions waiting
// for one.
const joinedRuns = 8

// errStepFailed rolls back a failed step's savepoint.
var errStepFailed = errors.New("automation: the step failed")

// runJoined runs the run's remaining steps, all CRM steps, in one
// transaction that also writes their journal rows and the run's update:
// one commit per run instead of one per step and one for the journal.
// Each step runs in a savepoint of its own, so a failed step leaves
// nothing behind and the run goes on as its on_error says. A crash before
// the commit leaves the run as it was before its first step — nothing
// of it written, the idempotency keys included — and it runs again from
// there; a commit makes the steps, their journal and the run's status
// durable together. The store's writes join the transaction through
// db.Join, its reads read through it (a step sees what an earlier one
// made), and key locks (duplicate handling) are held to the commit.
func (s *Service) runJoined(ctx context.Context, r *runState, c *Compiled, env map[string]any, actor crm.Actor, fresh bool) error {
	// While the server is busy the run takes the slot for as long as its
	// steps would have taken it one by one.
	release := s.yieldSteps(ctx, len(c.Steps)-r.step)
	defer release()
	select {
	case s.joinSlots <- struct{}{}:
		defer func() { <-s.joinSlots }()
	case <-ctx.Done():
		return ctx.Err()
	}
	deadline := s.now().Add(s.sliceTime())
	var jctx context.Context
	err := s.db.Write(context.WithoutCancel(ctx), func(wctx context.Context, tx *sql.Tx) error {
		jctx = s.db.Join(ctx, tx)
		for {
			var upd runUpdate
			var next time.Time
			switch {
			case r.step >= len(c.Steps):
				// Nothing was left to run.
				upd = runUpdate{status: StatusOK, step: r.step, finished: true}
			case s.now().After(deadline):
				upd = runUpdate{status: StatusQueued, step: r.step}
				next = s.now()
			default:
				st := &c.Steps[r.step]
				call := &Call{RunID: r.id, BundleID: r.bundleID, StepID: st.ID, Attempt: r.attempt + 1, Actor: actor,
					Duplicates: st.Duplicates, Connection: st.Connection, Log: s.log, Now: s.now, Fresh: fresh && r.attempt == 0}
				var out stepOutcome
				err := db.Savepoint(wctx, tx, "automation_step", func() error {
					out = s.execStep(jctx, c, st, env, call)
					if out.result == ResultError {
						return errStepFailed
					}
					return nil
				})
				if err != nil && !errors.Is(err, errStepFailed) {
					return err
				}
				var done bool
				if upd, next, done = s.advance(r, c, st, out, env); !done {
					continue
				}
			}
			_, err := s.flushTx(wctx, tx, r, encodeRows(r.pending), upd, next)
			return err
		}
	})
	if err != nil {
		return err
	}
	s.flushed(r)
	db.RunAfter(jctx)
	return nil
}
