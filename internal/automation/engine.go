package automation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
)

// sliceTime: a job works a run's steps for at most this long, then hands
// the rest to a new job. River takes a job running longer than its
// rescue time for abandoned and would start it a second time; with a
// step bounded by the step timeout, no job comes near that.
func (s *Service) sliceTime() time.Duration {
	return min(30*time.Second, max(s.stepTimeout/2, time.Second))
}

// leaseTime is how long a claimed run is held by its worker without
// news; each recorded step renews it.
func (s *Service) leaseTime() time.Duration { return s.stepTimeout + s.sliceTime() }

// runWorker works one run per job.
type runWorker struct {
	river.WorkerDefaults[runArgs]
	s *Service
}

// Timeout: the slice and one step's timeout, with room.
func (w *runWorker) Timeout(*river.Job[runArgs]) time.Duration {
	return w.s.leaseTime() + 5*time.Second
}

func (w *runWorker) Work(ctx context.Context, job *river.Job[runArgs]) error {
	return w.s.work(db.Background(ctx), job.Args.RunID)
}

// runsWorker works several new runs per job, at once.
type runsWorker struct {
	river.WorkerDefaults[runsArgs]
	s *Service
}

func (w *runsWorker) Timeout(*river.Job[runsArgs]) time.Duration {
	return w.s.leaseTime() + 5*time.Second
}

// Work works each run in its own goroutine. A run that must wait (an
// earlier run of its order key, the bundle's concurrency) is handed to a
// job of its own at the time it may go on, so that it does not hold the
// others; a failure of the engine (the database away) fails the job, and
// River's retry works again the runs not yet done.
func (w *runsWorker) Work(ctx context.Context, job *river.Job[runsArgs]) error {
	ctx = db.Background(ctx)
	errs := make([]error, len(job.Args.RunIDs))
	var wg sync.WaitGroup
	for i, id := range job.Args.RunIDs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := w.s.work(ctx, id)
			var snooze *river.JobSnoozeError
			if errors.As(err, &snooze) {
				err = w.s.handOff(ctx, id, time.Now().Add(snooze.Duration))
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// handOff gives a run a job of its own at a time.
func (s *Service) handOff(ctx context.Context, id int64, at time.Time) error {
	return s.db.Write(context.WithoutCancel(ctx), func(ctx context.Context, tx *sql.Tx) error {
		return s.enqueue(ctx, tx, id, at)
	})
}

// runState is what the worker reads of a run.
type runState struct {
	id, bundleID, eventID, recordID, replayOf int64
	version, step, attempt, depth             int
	status, triggerType, trigger, entity      string
	orderKey                                  string
	resumeAt, leaseUntil, startedAt           int64
	bundleActive                              bool
	runAs, createdBy                          int64

	// pending are step rows not yet written (see record); unclaimed says
	// the run started without a claim of its own, its first write marks
	// it running.
	pending   []stepRow
	unclaimed bool
}

// stepRow is one attempt of a step as the journal keeps it.
type stepRow struct {
	seq, attempt int
	id, action   string
	o            stepOutcome
}

func (s *Service) loadRun(ctx context.Context, id int64) (runState, error) {
	var r runState
	err := s.db.Reader().QueryRowContext(ctx, `SELECT r.id, r.bundle_id, r.event_id, r.record_id, r.replay_of, r.version, r.step, r.attempt,
		r.depth, r.status, r.trigger_type, r.trigger, r.entity, r.order_key, r.resume_at, r.lease_until, r.started_at, b.active,
		b.run_as_user_id, b.created_by_id
		FROM automation_runs r JOIN automation_bundles b ON b.id = r.bundle_id WHERE r.id = $1`, id).
		Scan(&r.id, &r.bundleID, &r.eventID, &r.recordID, &r.replayOf, &r.version, &r.step, &r.attempt, &r.depth, &r.status,
			&r.triggerType, &r.trigger, &r.entity, &r.orderKey, &r.resumeAt, &r.leaseUntil, &r.startedAt, &r.bundleActive,
			&r.runAs, &r.createdBy)
	return r, err
}

// work runs a run from its next step.
func (s *Service) work(ctx context.Context, id int64) error {
	r, err := s.loadRun(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // its bundle was deleted
	}
	if err != nil {
		return fmt.Errorf("automation: load run %d: %w", id, err)
	}
	switch r.status {
	case StatusOK, StatusError, StatusFiltered, StatusCancelled:
		return nil // a repeated job
	}
	now := s.now()
	if r.status == StatusRunning && r.leaseUntil > now.UnixMicro() {
		// Another worker holds it (a job repeated while the first runs).
		return river.JobSnooze(time.Until(time.UnixMicro(r.leaseUntil)) + 10*time.Millisecond)
	}
	if r.resumeAt > now.UnixMicro() {
		return river.JobSnooze(time.UnixMicro(r.resumeAt).Sub(now))
	}
	c, err := s.compiledVersion(ctx, r.bundleID, r.version)
	if err != nil {
		return s.fail(ctx, &r, "", err.Error())
	}
	// A bundle switched off does not start the runs it had queued; a run
	// a user asked for (manual, replay) runs anyway.
	if !r.bundleActive && r.startedAt == 0 && r.triggerType != TriggerManual && r.replayOf == 0 {
		return s.finish(ctx, &r, StatusCancelled, "", "the bundle was switched off before the run started")
	}
	if wait, err := s.gate(ctx, &r, c); err != nil || wait > 0 {
		if err != nil {
			return err
		}
		return river.JobSnooze(wait)
	}

	// The trigger data: a CRM event's record is read when the run starts,
	// and kept, so that a replay sees the same data.
	// The filters of a CRM event's run were judged when it was made (a
	// run they refused is "filtered" and never gets here); the others'
	// are judged now, and a replay's by the version it runs.
	judge := r.triggerType != TriggerCRMEvent || r.replayOf != 0
	var trig map[string]any
	if r.trigger == "" {
		judge = true
		if trig, err = s.eventTrigger(ctx, r.eventID); err != nil {
			return s.fail(ctx, &r, "", err.Error())
		}
	} else {
		v, err := DecodeValue([]byte(r.trigger))
		if err != nil {
			return s.fail(ctx, &r, "", "trigger data: "+err.Error())
		}
		stored, _ := v.(map[string]any)
		if trig, err = s.completeTrigger(ctx, r.triggerType, r.eventID, stored); err != nil {
			return s.fail(ctx, &r, "", err.Error())
		}
	}
	env := map[string]any{"trigger": trig, "steps": map[string]any{}}
	if r.startedAt == 0 && judge {
		// Filters, once, before the first step.
		if c.Filters != nil {
			ok, trace, err := c.Filters.Eval(env)
			if err != nil {
				return s.fail(ctx, &r, "", "filters: "+err.Error())
			}
			if !ok {
				return s.filtered(ctx, &r, trig, trace)
			}
		}
	}
	// A run made queued with its trigger data, on a bundle without a
	// concurrency limit, starts without a claim of its own: its first
	// write marks it running (one write less per run). Its job is the
	// only one: a run's next job is enqueued only by the job before.
	fresh := false // no step of this run has been tried before this job
	if r.status == StatusQueued && r.startedAt == 0 && r.trigger != "" && c.Def.Concurrency == 0 {
		r.unclaimed, fresh = true, true
		r.startedAt = s.now().UnixMicro()
	} else {
		claimed, err := s.claim(ctx, &r, c, trig)
		if err != nil || !claimed {
			return err
		}
	}
	if err := s.restoreSteps(ctx, &r, c, env); err != nil {
		return err
	}
	actor := s.actorOf(&r)
	sctx, err := s.scopeFor(ctx, actor.UserID)
	if err != nil {
		return s.fail(ctx, &r, "", err.Error())
	}
	ctx = sctx
	if s.joinable(c, r.step) {
		return s.runJoined(ctx, &r, c, env, actor, fresh)
	}
	deadline := s.now().Add(s.sliceTime())
	for r.step < len(c.Steps) {
		if s.now().After(deadline) {
			ok, err := s.flush(ctx, &r, runUpdate{status: StatusQueued, step: r.step}, s.now())
			if err != nil || !ok {
				return err
			}
			return nil
		}
		done := s.yield(ctx)
		st := &c.Steps[r.step]
		call := &Call{RunID: r.id, BundleID: r.bundleID, StepID: st.ID, Attempt: r.attempt + 1, Actor: actor,
			Duplicates: st.Duplicates, Connection: st.Connection, Log: s.log, Now: s.now, Fresh: fresh && r.attempt == 0}
		out := s.execStep(ctx, c, st, env, call)
		finished, err := s.record(ctx, &r, c, st, out, env)
		done()
		if err != nil || finished {
			return err
		}
	}
	// Nothing was left to run (a delay was the last step).
	return s.finish(ctx, &r, StatusOK, "", "")
}

// actorOf is who makes the run's changes: the bundle, naming the run, on
// behalf of the user it runs as.
func (s *Service) actorOf(r *runState) crm.Actor {
	user := r.runAs
	if user == 0 {
		user = r.createdBy
	}
	return crm.Actor{UserID: user, BundleID: r.bundleID, RunID: r.id}
}

// gate keeps a run waiting while an earlier run with the same order key
// is not over, or the bundle runs as many runs as it may at once.
func (s *Service) gate(ctx context.Context, r *runState, c *Compiled) (time.Duration, error) {
	if r.orderKey != "" {
		var earlier bool
		err := s.db.Reader().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM automation_runs WHERE bundle_id = $1 AND order_key = $2
			AND id < $3 AND status IN ('queued', 'running', 'waiting'))`, r.bundleID, r.orderKey, r.id).Scan(&earlier)
		if err != nil {
			return 0, fmt.Errorf("automation: run %d: order: %w", r.id, err)
		}
		if earlier {
			return s.orderWait, nil
		}
	}
	return 0, nil
}

// stepOutcome is what one attempt of one step came to.
type stepOutcome struct {
	result     string
	input      any // rendered, secrets hidden
	output     any
	err        string
	transient  bool
	retryAfter time.Duration
	started    time.Time
	dur        time.Duration
	wait       time.Time
	stop       *stopAt
}

// execStep runs one attempt of a step against env.
func (s *Service) execStep(ctx context.Context, c *Compiled, st *CompiledStep, env map[string]any, call *Call) (o stepOutcome) {
	o.started = s.now()
	start := time.Now()
	defer func() { o.dur = time.Since(start) }()
	if st.When != nil {
		ok, trace, err := st.When.Eval(env)
		if err != nil {
			o.result, o.err = ResultError, "when: "+err.Error()
			return o
		}
		if !ok {
			o.result, o.output = ResultSkipped, map[string]any{"when": trace}
			return o
		}
	}
	var input any
	if st.Input != nil {
		v, err := st.Input.Render(env)
		if err != nil {
			o.result, o.err = ResultError, err.Error()
			return o
		}
		input = v
	}
	o.input = redactInput(st.Action, input)
	sctx, cancel := context.WithTimeout(ctx, s.stepTimeout)
	defer cancel()
	out, err := safeRun(sctx, st.Action, call, input)
	if err != nil {
		o.result, o.err, o.output = ResultError, err.Error(), errorOutput(err)
		o.transient, o.retryAfter = IsTransient(err)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			o.err = fmt.Sprintf("the step took longer than %s", s.stepTimeout)
		}
		return o
	}
	o.result, o.output = ResultOK, out
	o.wait, o.stop = call.wait, call.stop
	if !o.wait.IsZero() {
		o.result = ResultWaiting
	}
	return o
}

// safeRun runs an action, turning a panic into the step's error.
func safeRun(ctx context.Context, a Action, c *Call, input any) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the action %s failed: %v\n%s", a.Describe().Name, p, debug.Stack())
		}
	}()
	return a.Run(ctx, c, input)
}

// stepValue is steps.<id> for later steps: the output's fields with
// result and error beside them (an output that is not an object is
// "value").
func stepValue(o stepOutcome) map[string]any {
	m := map[string]any{}
	switch out := o.output.(type) {
	case map[string]any:
		for k, v := range out {
			m[k] = v
		}
	case nil:
	default:
		m["value"] = out
	}
	res := o.result
	if res == ResultWaiting {
		res = ResultOK
	}
	m["result"] = res
	m["error"] = o.err
	return m
}

// record journals a step's attempt and moves the run on. done says the
// job is over (the run finished, waits, retries later or was cancelled).
func (s *Service) record(ctx context.Context, r *runState, c *Compiled, st *CompiledStep, o stepOutcome, env map[string]any) (bool, error) {
	upd, next, done := s.advance(r, c, st, o, env)
	// A CRM step that went through is written with the next write of the
	// run rather than on its own: were the process to die before, the
	// step runs again on resume, and its idempotency key makes that
	// harmless. Any other step (a remote call, a message) is written at
	// once, so that the window in which a remote side could see it twice
	// is as short as it can be.
	if !done && st.Action.Describe().Group == "crm" && (o.result == ResultOK || o.result == ResultSkipped) {
		return false, nil
	}
	ok, err := s.flush(ctx, r, upd, next)
	if err != nil {
		return true, err
	}
	return done || !ok, nil
}

// advance adds a step's attempt to the run's pending rows and moves the
// run on in memory: the update to write, a job to enqueue at next (when
// not zero), and whether the job is over with it (the run finished,
// waits, or retries later).
func (s *Service) advance(r *runState, c *Compiled, st *CompiledStep, o stepOutcome, env map[string]any) (runUpdate, time.Time, bool) {
	steps := env["steps"].(map[string]any)
	maxAttempts := c.Def.MaxAttempts
	if maxAttempts == 0 {
		maxAttempts = DefaultMaxAttempts
	}
	seq := r.step
	attempt := r.attempt + 1
	upd := runUpdate{status: StatusRunning, step: seq + 1}
	var next time.Time // a job to enqueue at
	done := false
	switch {
	case o.result == ResultWaiting:
		upd.status, upd.step, upd.resume = StatusWaiting, seq, o.wait
		next, done = o.wait, true
	case o.result == ResultError && o.transient && attempt < maxAttempts:
		wait := s.backoff(attempt)
		if o.retryAfter > 0 {
			wait = min(max(o.retryAfter, wait/2), time.Hour)
		}
		upd.status, upd.step, upd.attempt, upd.resume = StatusQueued, seq, attempt, s.now().Add(wait)
		next, done = upd.resume, true
	case o.result == ResultError && st.OnError != OnErrorContinue:
		msg := o.err
		if o.transient {
			msg = fmt.Sprintf("%s (after %d attempts)", o.err, attempt)
		}
		upd.status, upd.step, upd.err, upd.errStep, upd.finished = StatusError, seq, msg, st.ID, true
		done = true
	case o.stop != nil:
		upd.status, upd.finished = StatusOK, true
		if o.stop.result == "error" {
			upd.status, upd.err, upd.errStep = StatusError, o.stop.message, st.ID
			if upd.err == "" {
				upd.err = "stopped"
			}
		}
		done = true
	case seq+1 == len(c.Steps):
		upd.status, upd.finished = StatusOK, true
		done = true
	}
	r.pending = append(r.pending, stepRow{seq: seq, attempt: attempt, id: st.ID, action: st.Step.Action, o: o})
	r.step, r.attempt = upd.step, upd.attempt
	if !done {
		steps[st.ID] = stepValue(o)
	}
	return upd, next, done
}

// runUpdate is how a step's record changes its run.
type runUpdate struct {
	status        string
	step, attempt int
	resume, lease time.Time
	err, errStep  string
	finished      bool
}

// flush writes the run's pending step rows and updates the run in one
// transaction, enqueueing the run's next job at next when set. false:
// the run was cancelled meanwhile (the rows are kept, the run is not
// changed).
func (s *Service) flush(ctx context.Context, r *runState, upd runUpdate, next time.Time) (bool, error) {
	// The JSON is made before the write: on SQLite the write runs in
	// the single writer.
	rows := encodeRows(r.pending)
	updated := false
	err := s.db.Write(context.WithoutCancel(ctx), func(ctx context.Context, tx *sql.Tx) error {
		var err error
		updated, err = s.flushTx(ctx, tx, r, rows, upd, next)
		return err
	})
	if err != nil {
		return false, err
	}
	s.flushed(r)
	return updated, nil
}

// flushed is what a committed flush changes of the run in memory.
func (s *Service) flushed(r *runState) {
	r.pending = r.pending[:0]
	r.unclaimed = false
}

// encodedRow is a step row with its input and output as JSON.
type encodedRow struct {
	stepRow
	in, out string
}

func encodeRows(pending []stepRow) []encodedRow {
	rows := make([]encodedRow, len(pending))
	for i, p := range pending {
		rows[i].stepRow = p
		if p.o.input != nil {
			rows[i].in = string(mustJSON(p.o.input))
		}
		if p.o.output != nil {
			rows[i].out = string(mustJSON(p.o.output))
		}
	}
	return rows
}

// flushTx is flush's work in tx: the rows (r.pending, encoded) and the
// run's update.
func (s *Service) flushTx(ctx context.Context, tx *sql.Tx, r *runState, rows []encodedRow, upd runUpdate, next time.Time) (bool, error) {
	upd.lease = time.Time{}
	if upd.status == StatusRunning {
		upd.lease = s.now().Add(s.leaseTime())
	}
	for _, p := range rows {
		if _, err := tx.ExecContext(ctx, `INSERT INTO automation_run_steps (run_id, seq, step_id, action, attempt, status, input, output, error,
			started_at, duration_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			r.id, p.seq, p.id, p.action, p.attempt, p.o.result, p.in, p.out, p.o.err, p.o.started.UnixMicro(), p.o.dur.Microseconds()); err != nil {
			return false, fmt.Errorf("automation: run %d: record step %s: %w", r.id, p.id, err)
		}
	}
	n, err := s.updateRun(ctx, tx, r, upd)
	if err != nil || n == 0 {
		return false, err
	}
	if !next.IsZero() {
		return true, s.enqueue(ctx, tx, r.id, next)
	}
	return true, nil
}

// updateRun applies upd to a running run; it returns 0 when the run is no
// longer running (cancelled).
func (s *Service) updateRun(ctx context.Context, tx db.Querier, r *runState, upd runUpdate) (int64, error) {
	id := r.id
	var finished, resume, lease int64
	now := s.now().UnixMicro()
	if upd.finished {
		finished = now
	}
	if !upd.resume.IsZero() {
		resume = upd.resume.UnixMicro()
	}
	if !upd.lease.IsZero() {
		lease = upd.lease.UnixMicro()
	}
	// A run started without a claim is still "queued" until this write.
	claimed := "'running'"
	if r.unclaimed {
		claimed = "'queued'"
	}
	res, err := tx.ExecContext(ctx, `UPDATE automation_runs SET status = $2, step = $3, attempt = $4, resume_at = $5, lease_until = $6,
		error = $7, error_step = $8, finished_at = $9, started_at = CASE WHEN started_at = 0 THEN $10 ELSE started_at END
		WHERE id = $1 AND status = `+claimed,
		id, upd.status, upd.step, upd.attempt, resume, lease, upd.err, upd.errStep, finished, r.startedAt)
	if err != nil {
		return 0, fmt.Errorf("automation: update run %d: %w", id, err)
	}
	return res.RowsAffected()
}

// claim marks the run running under this worker's lease, with its
// trigger data on the first start; a waiting run whose time has come
// gets its delay step marked done. It reports false when the run is not
// there to be claimed (cancelled, or at the bundle's concurrency limit:
// then the job is snoozed by the returned error).
func (s *Service) claim(ctx context.Context, r *runState, c *Compiled, trig map[string]any) (bool, error) {
	now := s.now()
	first := r.startedAt == 0
	var trigJSON []byte
	if r.trigger == "" {
		trigJSON = mustJSON(trig)
	}
	resumed := r.status == StatusWaiting
	var busy bool
	claimed := false
	err := s.db.Write(context.WithoutCancel(ctx), func(ctx context.Context, tx *sql.Tx) error {
		claimed, busy = false, false
		if c.Def.Concurrency > 0 {
			// The bundle's row serializes claims on PostgreSQL.
			if _, err := tx.ExecContext(ctx, "SELECT id FROM automation_bundles WHERE id = $1"+s.forUpdate(), r.bundleID); err != nil {
				return fmt.Errorf("automation: run %d: claim: %w", r.id, err)
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM automation_runs WHERE bundle_id = $1 AND status = 'running'
				AND lease_until > $2 AND id <> $3`, r.bundleID, now.UnixMicro(), r.id).Scan(&n); err != nil {
				return fmt.Errorf("automation: run %d: claim: %w", r.id, err)
			}
			if n >= c.Def.Concurrency {
				busy = true
				return nil
			}
		}
		step := r.step
		if resumed {
			step++
			if _, err := tx.ExecContext(ctx, `UPDATE automation_run_steps SET status = 'OK' WHERE run_id = $1 AND seq = $2 AND status = 'WAITING'`,
				r.id, r.step); err != nil {
				return fmt.Errorf("automation: run %d: resume: %w", r.id, err)
			}
		}
		q := `UPDATE automation_runs SET status = 'running', step = $2, lease_until = $3, resume_at = 0`
		args := []any{r.id, step, now.Add(s.leaseTime()).UnixMicro()}
		if first {
			q += `, started_at = $4`
			args = append(args, now.UnixMicro())
			if trigJSON != nil {
				q += `, trigger = $5`
				args = append(args, string(trigJSON))
			}
		}
		q += ` WHERE id = $1 AND (status IN ('queued', 'waiting') OR (status = 'running' AND lease_until <= $3))`
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("automation: run %d: claim: %w", r.id, err)
		}
		n, _ := res.RowsAffected()
		claimed = n == 1
		if claimed {
			r.step = step
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	if busy {
		return false, river.JobSnooze(s.orderWait)
	}
	if claimed {
		r.status = StatusRunning
		if trigJSON != nil {
			r.trigger = string(trigJSON)
		}
		if first {
			r.startedAt = now.UnixMicro()
		}
	}
	return claimed, nil
}

// restoreSteps fills env.steps with the outcomes of the steps done.
func (s *Service) restoreSteps(ctx context.Context, r *runState, c *Compiled, env map[string]any) error {
	if r.step == 0 {
		return nil
	}
	rows, err := s.runSteps(ctx, s.db.Reader(), r.id)
	if err != nil {
		return err
	}
	steps := env["steps"].(map[string]any)
	for _, st := range rows {
		if st.Seq >= r.step || st.Seq >= len(c.Steps) {
			continue
		}
		res := st.Result
		if res == ResultWaiting {
			res = ResultOK
		}
		// The last attempt of each step wins (rows are in id order).
		steps[st.StepID] = stepValue(stepOutcome{result: res, output: st.Output, err: st.Error})
	}
	return nil
}

// finish ends a run that has not run steps in this job.
func (s *Service) finish(ctx context.Context, r *runState, status, step, msg string) error {
	err := s.db.Write(context.WithoutCancel(ctx), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE automation_runs SET status = $2, error = $3, error_step = $4, finished_at = $5, lease_until = 0
			WHERE id = $1 AND status IN ('queued', 'running', 'waiting')`, r.id, status, msg, step, s.now().UnixMicro())
		return err
	})
	if err != nil {
		return fmt.Errorf("automation: run %d: finish: %w", r.id, err)
	}
	return nil
}

// fail ends a run in error before or between steps.
func (s *Service) fail(ctx context.Context, r *runState, step, msg string) error {
	return s.finish(ctx, r, StatusError, step, msg)
}

// filtered ends a run whose trigger data did not pass the filters,
// keeping the data and why.
func (s *Service) filtered(ctx context.Context, r *runState, trig map[string]any, trace any) error {
	err := s.db.Write(context.WithoutCancel(ctx), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE automation_runs SET status = 'filtered', trigger = $2, filter_trace = $3, finished_at = $4
			WHERE id = $1 AND status = 'queued'`, r.id, string(mustJSON(trig)), string(mustJSON(trace)), s.now().UnixMicro())
		return err
	})
	if err != nil {
		return fmt.Errorf("automation: run %d: filtered: %w", r.id, err)
	}
	return nil
}

// backoff is the wait before retry number attempt: exponential from the
// base, capped, half fixed and half random.
func (s *Service) backoff(attempt int) time.Duration {
	d := s.backoffBase
	for i := 1; i < attempt && d < s.backoffCap; i++ {
		d *= 2
	}
	d = min(d, s.backoffCap)
	half := d / 2
	return half + rand.N(half+1)
}

// scopeFor is the context a run's steps work in: a bundle acts for the
// whole CRM, as the administrators who make bundles do; one that runs as
// a manager sees and changes what that manager may.
func (s *Service) scopeFor(ctx context.Context, userID int64) (context.Context, error) {
	if userID == 0 {
		return ctx, nil
	}
	// Administrators see everything: most bundles run as one, and their
	// runs need no read of the user each.
	if v, ok := s.admins.Load(userID); ok && time.Since(v.(time.Time)) < 5*time.Second {
		return ctx, nil
	}
	u, err := s.store.GetUser(ctx, userID)
	if err == nil && u.Active && u.Role == crm.RoleAdmin {
		s.admins.Store(userID, time.Now())
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("the bundle runs as user %d, who no longer exists", userID)
		}
		return nil, err
	}
	return s.store.ScopeFor(ctx, u)
}
