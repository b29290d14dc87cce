package mail

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// DefaultInterval is how often the collectors run unless configured.
const DefaultInterval = time.Minute

// CollectArgs is the job that runs the collectors: all enabled ones in
// turn, or one.
type CollectArgs struct {
	CollectorID int64 `json:"collector_id,omitempty"`
}

// Kind names the job.
func (CollectArgs) Kind() string { return "intake_mail_collect" }

type worker struct {
	river.WorkerDefaults[CollectArgs]
	s *Service
}

// Timeout lets a large mailbox take its time; River's default is a minute.
func (w *worker) Timeout(*river.Job[CollectArgs]) time.Duration { return 15 * time.Minute }

func (w *worker) Work(ctx context.Context, job *river.Job[CollectArgs]) error {
	if id := job.Args.CollectorID; id != 0 {
		// A collector's own failure is recorded on it (last_error) and
		// retried by the next period, not by River.
		_, _ = w.s.Run(ctx, id)
		return nil
	}
	return w.s.RunAll(ctx)
}

// Register adds the collectors' worker.
func (s *Service) Register(w *river.Workers) { river.AddWorker(w, &worker{s: s}) }

// Periodic schedules the collectors every interval (DefaultInterval when
// 0), starting when the queue starts. One job per period at most.
func Periodic(interval time.Duration) *river.PeriodicJob {
	if interval <= 0 {
		interval = DefaultInterval
	}
	// River's uniqueness works in whole seconds.
	interval = max(interval, time.Second)
	return river.NewPeriodicJob(river.PeriodicInterval(interval), func() (river.JobArgs, *river.InsertOpts) {
		return CollectArgs{}, &river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: interval}}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}
