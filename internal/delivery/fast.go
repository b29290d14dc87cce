package delivery

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/httpx"
)

// The first attempt of a delivery is made at once by the dispatcher that
// inserted it, in this process, after the dispatch committed: waiting for
// River to fetch its job was a third of a delivery's time (issue 21). The
// job is inserted too, in the same transaction, scheduled the rescue time
// later — the safety net, as for a job this process would have claimed:
// should the process die before the attempt is settled, River runs it on
// whichever instance then. A settled attempt (delivered, or failed for
// good) leaves the job nothing to do when its time comes; a failed one
// hands the job to River after the first backoff, and River retries as
// it always did. The jobs of settled attempts are deleted, a batch every
// deleteGather (one that is not finds nothing to do when its time comes).

// fastInFlight bounds the first attempts in flight in one process; a
// delivery beyond them goes to River at once.
const fastInFlight = 32

// deleteGather is how long the jobs of settled first attempts gather
// before they are deleted together.
const deleteGather = 50 * time.Millisecond

// settled queues job for deletion: the first of a batch starts the batch's
// timer. Stopping deletes what is queued at once.
func (s *Service) settled(job int64) {
	s.deleteMu.Lock()
	s.toDelete = append(s.toDelete, job)
	first := len(s.toDelete) == 1
	s.deleteMu.Unlock()
	if !first {
		return
	}
	s.after(deleteGather, s.deleteSettled)
}

// deleteSettled deletes the queued jobs of settled first attempts.
func (s *Service) deleteSettled() {
	s.deleteMu.Lock()
	jobs := s.toDelete
	s.toDelete = nil
	s.deleteMu.Unlock()
	if len(jobs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.runner.DeleteScheduled(ctx, jobs); err != nil {
		// They run when their time comes and find their deliveries done.
		s.log.Warn("delivery: delete the jobs of delivered deliveries", "jobs", len(jobs), "err", err)
	}
}

// fastDelivery is a delivery whose first attempt is made here: its job,
// and when it was enqueued (its maximum age counts from then).
type fastDelivery struct {
	id, job  int64
	enqueued time.Time
	// hook and ev are the dispatch's: the attempt reads nothing again.
	hook *Webhook
	ev   *events.Event
}

// after calls fn after d, or at once when the service stops (or has
// stopped) first; Stop waits for it.
func (s *Service) after(d time.Duration, fn func()) {
	stop, ok := s.track()
	if !ok {
		fn()
		return
	}
	go func() {
		defer s.fast.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-stop:
		}
		fn()
	}()
}

// track counts a goroutine Stop must wait for; false once Stop has begun.
func (s *Service) track() (<-chan struct{}, bool) {
	s.fastMu.Lock()
	defer s.fastMu.Unlock()
	select {
	case <-s.fastStop:
		return nil, false
	default:
	}
	s.fast.Add(1)
	return s.fastStop, true
}

// sendFast starts f's first attempt, or gives f to River at once when as
// many attempts are in flight as allowed or the service has stopped.
func (s *Service) sendFast(f fastDelivery) {
	_, ok := s.track()
	if !ok {
		s.handOver(f.job)
		return
	}
	select {
	case s.fastSlots <- struct{}{}:
	default:
		s.fast.Done()
		s.handOver(f.job)
		return
	}
	go func() {
		defer s.fast.Done()
		defer func() { <-s.fastSlots }()
		s.attemptFast(f)
	}()
}

// fastTimeout bounds a first attempt, sending and recording, well inside
// the rescue time after which its job runs.
func (s *Service) fastTimeout() time.Duration {
	var t time.Duration
	if s.client != nil {
		t = s.client.Timeout
	}
	if t <= 0 {
		t = httpx.DefaultTotalTimeout
	}
	return min(t+10*time.Second, s.rescueAfter/2)
}

func (s *Service) attemptFast(f fastDelivery) {
	ctx, cancel := context.WithTimeout(context.Background(), s.fastTimeout())
	err := s.send(ctx, f.id, f.hook, f.ev, f.enqueued, false)
	cancel()
	var snooze *river.JobSnoozeError
	var settled *river.JobCancelError
	switch {
	case err == nil || errors.As(err, &settled):
		// Delivered, or failed for good (recorded either way): the job
		// has nothing left to do.
		s.settled(f.job)
	case errors.As(err, &snooze):
		// Held back by an earlier delivery of the record (another
		// instance's dispatch): River's worker waits for it.
		s.handOver(f.job)
	default:
		// The attempt failed (recorded), or the database did: River
		// retries after the first backoff.
		s.log.Debug("delivery: first attempt failed, River retries", "delivery", f.id, "err", err)
		// Stopping first: River (started again, or another instance's)
		// retries at once.
		s.after(s.backoff(1), func() { s.handOver(f.job) })
	}
}

// handOver makes job available to River's workers now. On failure the
// job keeps its scheduled time (the rescue time after the dispatch).
func (s *Service) handOver(job int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.runner.Retry(ctx, job); err != nil {
		s.log.Warn("delivery: hand a delivery's job to River", "job", job, "err", err)
	}
}
