package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/store"
)

// sweepFilesArgs is the job that removes the reply box's files no
// message took (store.SweepMessageFiles): a periodic River job, unique
// by its period, so one instance runs each sweep.
type sweepFilesArgs struct{}

func (sweepFilesArgs) Kind() string { return "message_files_sweep" }

type sweepFilesWorker struct {
	river.WorkerDefaults[sweepFilesArgs]
	store *store.Store
	log   *slog.Logger
}

func (w *sweepFilesWorker) Work(ctx context.Context, _ *river.Job[sweepFilesArgs]) error {
	n, err := w.store.SweepMessageFiles(ctx, time.Now().Add(-store.UnsentFileAge))
	if n > 0 {
		w.log.Info("message files no message took removed", "files", n)
	}
	return err
}

// sweepFilesEvery is how often the sweep runs: a left file lives at
// most store.UnsentFileAge and this long.
const sweepFilesEvery = 15 * time.Minute

func sweepFilesPeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(sweepFilesEvery), func() (river.JobArgs, *river.InsertOpts) {
		return sweepFilesArgs{}, &river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: sweepFilesEvery}}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}
