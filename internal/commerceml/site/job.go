package site

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// TickInterval is how often the schedules are looked at; a site's
// catalog_every and orders_every are in minutes.
const TickInterval = 30 * time.Second

// TickArgs is the periodic job that starts the runs whose time has
// come. The time of each site's next run is kept in the database
// (catalog_due_at, orders_due_at), so the schedule survives restarts, and
// each due run is claimed by one compare-and-set, so that two instances
// never run it twice.
type TickArgs struct{}

// Kind names the job.
func (TickArgs) Kind() string { return "site_exchange_tick" }

type worker struct {
	river.WorkerDefaults[TickArgs]
	s *Service
}

// Timeout lets a large catalog take its time.
func (w *worker) Timeout(*river.Job[TickArgs]) time.Duration { return runTimeout }

// Work runs what is due; a run's failure is journaled and counted on the
// site and retried by its next period, not by River.
func (w *worker) Work(ctx context.Context, _ *river.Job[TickArgs]) error {
	_, err := w.s.RunDue(ctx)
	return err
}

// Register adds the schedules' worker.
func (s *Service) Register(w *river.Workers) { river.AddWorker(w, &worker{s: s}) }

// Periodic looks at the schedules every tick (0: TickInterval), one job
// per period at most.
func Periodic(tick time.Duration) *river.PeriodicJob {
	if tick <= 0 {
		tick = TickInterval
	}
	return river.NewPeriodicJob(river.PeriodicInterval(tick), func() (river.JobArgs, *river.InsertOpts) {
		return TickArgs{}, &river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: tick}}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}

type dueRun struct {
	id   int64
	kind string
	at   int64
}

// RunDue runs every enabled site's catalog or orders exchange whose time
// has come, and returns how many it ran.
func (s *Service) RunDue(ctx context.Context) (int, error) {
	now := s.now().UnixMicro()
	var runs []dueRun
	for _, kind := range []string{KindCatalog, KindOrders} {
		rows, err := s.db.Read.QueryContext(ctx, "SELECT id, "+kind+"_due_at FROM site_exchanges WHERE "+kind+"_due_at > 0 AND "+kind+"_due_at <= $1 ORDER BY id", now)
		if err != nil {
			return 0, fmt.Errorf("site exchange: schedules: %w", err)
		}
		for rows.Next() {
			d := dueRun{kind: kind}
			if err := rows.Scan(&d.id, &d.at); err != nil {
				rows.Close()
				return 0, fmt.Errorf("site exchange: schedules: %w", err)
			}
			runs = append(runs, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("site exchange: schedules: %w", err)
		}
	}
	ran := 0
	for _, d := range runs {
		set, err := s.Store.Get(ctx, d.id)
		if err != nil {
			continue // deleted meanwhile
		}
		every := set.CatalogEvery
		if d.kind == KindOrders {
			every = set.OrdersEvery
		}
		// Claim: move the time on from what was read; another instance
		// that read the same time finds it moved and skips.
		var n int64
		err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, "UPDATE site_exchanges SET "+d.kind+"_due_at = $1 WHERE id = $2 AND "+d.kind+"_due_at = $3",
				due(now, every, set.Enabled), d.id, d.at)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
			return nil
		})
		if err != nil {
			return ran, fmt.Errorf("site exchange %d: schedule: %w", d.id, err)
		}
		if n != 1 || !set.Enabled || every <= 0 {
			continue
		}
		res, err := s.Run(ctx, d.id, d.kind)
		if err != nil {
			s.log.Warn("site exchange: scheduled run", "site", d.id, "kind", d.kind, "err", err)
			continue
		}
		ran++
		if res.Status != "success" {
			if cur, err := s.Store.Get(ctx, d.id); err == nil && cur.Alert() {
				s.log.Error("site exchange: failing repeatedly", "site", d.id, "name", cur.Name, "kind", d.kind,
					"catalog_failures", cur.CatalogFailures, "orders_failures", cur.OrdersFailures, "err", res.Error)
			}
		}
	}
	return ran, nil
}
