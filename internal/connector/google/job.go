package google

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// TickInterval is how often the schedule is looked at.
const TickInterval = 30 * time.Second

// runTimeout bounds a tick: a first sync of a large address book takes a
// while (People pages of 1,000, Calendar pages of 2,500).
const runTimeout = 30 * time.Minute

// TickArgs is the periodic job that runs the syncs whose time has come:
// those due by the schedule (every Deps.Every) and those whose user's
// contacts or activities changed in Obmen, once the changes have been
// quiet for Deps.Debounce (a burst of edits makes one run, not one per
// edit). Each due sync is claimed by a compare-and-set of its due_at, and
// Run holds a lock per user, so two instances never run one sync twice.
type TickArgs struct{}

// Kind names the job.
func (TickArgs) Kind() string { return "google_sync_tick" }

type worker struct {
	river.WorkerDefaults[TickArgs]
	sv *Service
}

func (w *worker) Timeout(*river.Job[TickArgs]) time.Duration { return runTimeout }

func (w *worker) Work(ctx context.Context, _ *river.Job[TickArgs]) error {
	_, err := w.sv.RunDue(ctx)
	return err
}

// Register adds the tick's worker.
func (sv *Service) Register(w *river.Workers) { river.AddWorker(w, &worker{sv: sv}) }

// Periodic looks at the schedule every TickInterval, one job per period
// at most across instances.
func Periodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(TickInterval), func() (river.JobArgs, *river.InsertOpts) {
		return TickArgs{}, &river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: TickInterval}}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}

// Start lets commits enqueue the tick: enqueue inserts a TickArgs job.
// Until Start (and after Stop) Poke does nothing.
func (sv *Service) Start(ctx context.Context, enqueue func(context.Context) error) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.runCtx, sv.enqueue = ctx, enqueue
}

// Stop ends the enqueueing.
func (sv *Service) Stop() {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.enqueue = nil
	if sv.timer != nil {
		sv.timer.Stop()
	}
}

// Poke says a CRM write committed. The first poke of a burst arms a timer
// for the debounce; when it fires, one tick job is enqueued, which runs
// the syncs whose users' records changed (RunDue). Pokes meanwhile cost
// an atomic load; a commit that changed nobody's contacts or activities
// costs one tick that finds nothing due.
func (sv *Service) Poke() {
	if !sv.armed.CompareAndSwap(false, true) {
		return
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.enqueue == nil {
		sv.armed.Store(false)
		return
	}
	// A little past the debounce, so that the last change of the burst
	// is quiet by then.
	sv.timer = time.AfterFunc(sv.debounce()+time.Second, func() {
		sv.armed.Store(false)
		sv.mu.Lock()
		enqueue, ctx := sv.enqueue, sv.runCtx
		sv.mu.Unlock()
		if enqueue == nil {
			return
		}
		if err := enqueue(ctx); err != nil {
			sv.d.log().Warn("google: enqueue the sync tick", "err", err)
		}
	})
}

func (sv *Service) every() time.Duration {
	if sv.d.Every > 0 {
		return sv.d.Every
	}
	return 15 * time.Minute
}

func (sv *Service) debounce() time.Duration {
	if sv.d.Debounce > 0 {
		return sv.d.Debounce
	}
	return time.Minute
}

type dueSync struct {
	user, due int64
}

// RunDue runs every connected sync that is due, and returns how many ran.
func (sv *Service) RunDue(ctx context.Context) (int, error) {
	now := sv.d.now()
	quiet := now.Add(-sv.debounce()).UnixMicro()
	// Due by the schedule, or changed in Obmen: the user's contacts or
	// calendar activities have change events after the cursor (not the
	// sync's own), the last of them older than the debounce; a sync that
	// failed is tried again on a change no sooner than the debounce.
	rows, err := sv.d.DB.Reader().QueryContext(ctx, `SELECT g.user_id, g.due_at FROM google_syncs g WHERE g.refresh_token <> '' AND (g.due_at <= $1
		OR g.last_run_at <= $3 AND (EXISTS (SELECT 1 FROM events e JOIN contacts c ON c.id = e.record_id WHERE e.entity = 'contact' AND e.id > g.contacts_cursor
			AND e.integration <> $2 AND c.assigned_by_id = g.user_id)
		OR EXISTS (SELECT 1 FROM events e JOIN activities a ON a.id = e.record_id WHERE e.entity = 'activity' AND e.id > g.calendar_cursor
			AND e.integration <> $2 AND a.assigned_by_id = g.user_id)))
		AND NOT EXISTS (SELECT 1 FROM events e WHERE e.created_at > $3 AND e.entity IN ('contact', 'activity') AND e.integration <> $2
			AND e.actor_user_id = g.user_id)
		ORDER BY g.due_at`, now.UnixMicro(), Integration, quiet)
	if err != nil {
		return 0, fmt.Errorf("google: the due syncs: %w", err)
	}
	var due []dueSync
	for rows.Next() {
		var d dueSync
		if err := rows.Scan(&d.user, &d.due); err != nil {
			rows.Close()
			return 0, fmt.Errorf("google: the due syncs: %w", err)
		}
		due = append(due, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("google: the due syncs: %w", err)
	}
	ran := 0
	for _, d := range due {
		var n int64
		err := sv.d.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, "UPDATE google_syncs SET due_at = $1 WHERE user_id = $2 AND due_at = $3",
				now.Add(sv.every()).UnixMicro(), d.user, d.due)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
			return nil
		})
		if err != nil {
			return ran, fmt.Errorf("google: claim the sync of user %d: %w", d.user, err)
		}
		if n != 1 {
			continue // another instance took it
		}
		res, err := sv.Run(ctx, d.user)
		switch {
		case errors.Is(err, ErrBusy):
			continue
		case errors.Is(err, ErrNotConnect):
			sv.d.log().Warn("google: the sync cannot reach Google until the user connects again", "user", d.user, "err", err)
		case err != nil:
			sv.d.log().Warn("google: scheduled sync", "user", d.user, "err", err)
		}
		ran++
		if len(res.Errors) > 0 {
			sv.d.log().Info("google: scheduled sync had errors", "user", d.user, "errors", len(res.Errors), "first", res.Errors[0])
		}
	}
	return ran, nil
}
