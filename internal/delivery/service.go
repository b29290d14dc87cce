package delivery

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/jobs"
	"github.com/obmen/obmen/internal/secret"
)

// Defaults of the delivery policy; Options change them (tests make them
// fast).
const (
	DefaultBackoffBase = time.Second
	DefaultBackoffCap  = time.Hour
	DefaultMaxAge      = 24 * time.Hour
	DefaultOrderWait   = time.Second
	DefaultPoll        = 100 * time.Millisecond
	// dispatchBatch is how many events one dispatch transaction reads.
	dispatchBatch = 500
	// maxAttempts is River's cap; the maximum age normally ends retrying
	// first (about 36 attempts reach 24 h with a 1 h cap).
	maxAttempts = 100
	// excerptBytes caps the response excerpt kept per attempt.
	excerptBytes = 1024
)

// Service owns outbound webhooks: their storage, the dispatcher that turns
// change events into deliveries, and the worker that sends them.
//
// Wiring: s := New(…); r := jobs.New(ctx, d, log, s.Register, …);
// r.Start(ctx); s.Start(ctx, r); and on shutdown s.Stop() before
// r.Stop(ctx).
type Service struct {
	flowing atomic.Bool // the last dispatch read events and had a webhook to send them to
	// idle: the last look found no webhook active (events.Idle; Idle). A
	// webhook another instance makes is dispatched by that instance until
	// this one looks again.
	idle events.Idle
	// webhooks are the active webhooks the last dispatch read.
	webhooks atomic.Pointer[webhookCache]

	db     *db.DB
	box    *secret.Box
	client *http.Client
	portal Portal
	log    *slog.Logger
	now    func() time.Time

	backoffBase, backoffCap time.Duration
	maxAge, orderWait, poll time.Duration

	runner *jobs.Runner
	// rescueAfter is River's rescue time: a first attempt made at once
	// (sendFast) has its job wait this long.
	rescueAfter time.Duration
	// fastSlots bounds the first attempts in flight; fast tracks them
	// and their retry timers.
	fastSlots chan struct{}
	fast      sync.WaitGroup
	fastMu    sync.Mutex
	fastStop  chan struct{}
	// toDelete are the jobs of settled first attempts (fast.go).
	deleteMu sync.Mutex
	toDelete []int64
	pokeCh   chan struct{}
	cancel   context.CancelFunc
	done     chan struct{}
	mu       sync.Mutex
}

// Option changes a Service's policy.
type Option func(*Service)

// WithBackoff sets the retry backoff: base × 2^(attempt-1), capped.
func WithBackoff(base, cap time.Duration) Option {
	return func(s *Service) { s.backoffBase, s.backoffCap = base, cap }
}

// WithMaxAge sets how long after its enqueueing a delivery is retried.
func WithMaxAge(d time.Duration) Option { return func(s *Service) { s.maxAge = d } }

// WithOrderWait sets how long a delivery waits (snoozes) when an earlier
// delivery of the same record is still pending.
func WithOrderWait(d time.Duration) Option { return func(s *Service) { s.orderWait = d } }

// WithPoll sets the dispatcher's polling interval.
func WithPoll(d time.Duration) Option { return func(s *Service) { s.poll = d } }

// WithRescueAfter sets River's rescue time (jobs.RescueAfter unless the
// configuration says otherwise): the job of a delivery whose first attempt
// is made at once waits this long, so that it runs only when the process
// making the attempt died.
func WithRescueAfter(d time.Duration) Option { return func(s *Service) { s.rescueAfter = d } }

// WithClock replaces time.Now.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New returns a Service. client should come from httpx.NewOutboundClient,
// so that every handler URL passes the SSRF guard.
func New(d *db.DB, box *secret.Box, client *http.Client, portal Portal, log *slog.Logger, opts ...Option) *Service {
	s := &Service{db: d, box: box, client: client, portal: portal, log: log, now: time.Now,
		backoffBase: DefaultBackoffBase, backoffCap: DefaultBackoffCap, maxAge: DefaultMaxAge,
		orderWait: DefaultOrderWait, poll: DefaultPoll, pokeCh: make(chan struct{}, 1),
		rescueAfter: jobs.RescueAfter, fastSlots: make(chan struct{}, fastInFlight), fastStop: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Register adds the delivery worker to River's workers; pass it to
// jobs.New.
func (s *Service) Register(w *river.Workers) {
	river.AddWorker(w, &worker{s: s})
}

// Start starts the dispatcher, which enqueues deliveries on r.
func (s *Service) Start(ctx context.Context, r *jobs.Runner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runner = r
	s.fastMu.Lock()
	s.fastStop = make(chan struct{})
	s.fastMu.Unlock()
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.loop(ctx, s.done)
}

// Stop stops the dispatcher and waits for it. Deliveries already enqueued
// stay with River.
func (s *Service) Stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel, s.done = nil, nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	s.fastMu.Lock()
	select {
	case <-s.fastStop:
	default:
		close(s.fastStop)
	}
	s.fastMu.Unlock()
	s.fast.Wait()
}

// Poke wakes the dispatcher now; call it after a write that emitted
// events, so that deliveries do not wait for the next poll.
func (s *Service) Poke() {
	select {
	case s.pokeCh <- struct{}{}:
	default:
	}
}

func (s *Service) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		last := time.Now()
		n, err := s.Dispatch(ctx)
		if err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("delivery: dispatch", "err", err)
		}
		if n == dispatchBatch && err == nil && ctx.Err() == nil {
			continue // more waiting
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.pokeCh:
			// Under a stream of commits pokes come thousands of times a
			// second: at most one dispatch a pokeGather, so that one
			// serves many changes; but a change after a quiet spell goes
			// at once (issue 21: a fixed gather was most of a delivery's
			// latency).
			if !sleepCtx(ctx, pokeGather-time.Since(last)) {
				return
			}
		}
	}
}

// pokeGather is the shortest time between two dispatches woken by
// pokes.
const pokeGather = 5 * time.Millisecond

// sleepCtx sleeps d (nothing when d ≤ 0); false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// backoff is the wait before retry number attempt (1 = the first retry):
// exponential from the base, capped, with "equal jitter" — half fixed,
// half random — so that receivers coming back are not hit by every
// delivery at once.
func (s *Service) backoff(attempt int) time.Duration {
	d := s.backoffBase
	for i := 1; i < attempt && d < s.backoffCap; i++ {
		d *= 2
	}
	d = min(d, s.backoffCap)
	half := d / 2
	return half + rand.N(half+1)
}
