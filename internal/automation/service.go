package automation

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/jobs"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
)

// Queue is River's queue for runs: their own workers, so that a flood of
// runs does not hold up webhook deliveries and the mail collector.
const Queue = "automation"

// Jobs of runs one instance works at once, by engine (a job of new runs
// works up to runsPerJob of them together). On SQLite most of a run's
// time is spent waiting for the group commit, which grows with the
// writers waiting: many runs at once. On PostgreSQL each run's
// transaction holds one of the pool's connections (16 on this kind of
// machine); more runs than a few per connection only queue for them and
// starve the dispatcher.
const (
	sqliteQueueWorkers   = 64
	postgresQueueWorkers = 8
)

// Service owns bundles and their runs: storage, the producers of runs
// (change events, schedules, webhooks, manual runs, connectors' polls)
// and the worker that runs them.
//
// Wiring: s := New(…); jobs.New(ctx, d, log, s.Register, s.Queues, …);
// r.Start(ctx); s.Start(ctx, r); on shutdown s.Stop() before r.Stop.
type Service struct {
	db      *db.DB
	store   *store.Store
	reg     *Registry
	records Records
	box     *secret.Box
	log     *slog.Logger
	now     func() time.Time
	baseURL string

	backoffBase, backoffCap time.Duration
	orderWait, poll         time.Duration
	keepFiltered, keepRuns  time.Duration
	stepTimeout             time.Duration
	pollLease               time.Duration
	housekeepEvery          time.Duration

	pressure func() int64
	busy     int64
	load     atomic.Uint64 // float64 bits: the average requests in flight
	slots    chan struct{}
	// joinSlots bounds the runs in a joined transaction at once (see
	// joinedRuns).
	joinSlots chan struct{}

	hookLimiter *httpx.Limiter
	ipLimiter   *httpx.Limiter
	buckets     httpx.Buckets
	maxHookBody int64

	compiled sync.Map // versionKey → *Compiled
	admins   sync.Map // user id → when it was last seen an active admin

	mu     sync.Mutex
	runner *jobs.Runner
	cancel context.CancelFunc
	done   chan struct{}
	pokeCh chan struct{}
	// idle: the change-event dispatcher's last look found no event
	// bundle active (events.Idle).
	idle    events.Idle
	schedCh chan struct{}
}

// Option changes a Service's policy (tests use short intervals).
type Option func(*Service)

// WithBackoff sets the retry backoff of transient failures: base ×
// 2^(attempt-1), capped, with jitter.
func WithBackoff(base, cap time.Duration) Option {
	return func(s *Service) { s.backoffBase, s.backoffCap = base, cap }
}

// WithPoll sets how often the producers look for work without a poke.
func WithPoll(d time.Duration) Option { return func(s *Service) { s.poll = d } }

// WithOrderWait sets how long a run waits for an earlier run with the
// same order key, or for a free place under the bundle's concurrency.
func WithOrderWait(d time.Duration) Option { return func(s *Service) { s.orderWait = d } }

// WithClock replaces time.Now.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithHookLimits sets the webhook trigger's rate limit (per bundle and
// per client address: one request per every, burst at once) and body
// size.
func WithHookLimits(every time.Duration, burst int, maxBody int64) Option {
	return func(s *Service) {
		s.hookLimiter = httpx.NewLimiter(every, burst)
		s.ipLimiter = httpx.NewLimiter(every, burst)
		s.maxHookBody = maxBody
	}
}

// WithRateBuckets keeps the webhook triggers' rate limits in b (the
// database), shared by every instance on it.
func WithRateBuckets(b httpx.Buckets) Option { return func(s *Service) { s.buckets = b } }

// WithPressure tells the engine how busy the server is (requests in
// flight) and from what number on it is busy: runs then wait between
// steps and the dispatcher reads the log less often, so that people and
// systems waiting on requests go first; the runs catch up after.
func WithPressure(inFlight func() int64, busy int64) Option {
	return func(s *Service) { s.pressure, s.busy = inFlight, busy }
}

// WithPollLease sets how long a poll of a connector's trigger holds its
// bundle (tests: a dead instance's poll is taken over sooner).
func WithPollLease(d time.Duration) Option {
	return func(s *Service) {
		if d > 0 { // unset: the default
			s.pollLease = d
		}
	}
}

// WithHousekeeping sets how often old runs are purged (0: hourly).
func WithHousekeeping(d time.Duration) Option { return func(s *Service) { s.housekeepEvery = d } }

// WithStepTimeout bounds one step's run.
func WithStepTimeout(d time.Duration) Option { return func(s *Service) { s.stepTimeout = d } }

// Defaults.
const (
	DefaultBackoffBase = 5 * time.Second
	DefaultBackoffCap  = 30 * time.Minute
	DefaultOrderWait   = 200 * time.Millisecond
	DefaultPoll        = time.Second
	// Filtered runs are kept a day: long enough to see why a trigger did
	// nothing, short enough not to fill the journal.
	DefaultKeepFiltered = 24 * time.Hour
	DefaultKeepRuns     = 90 * 24 * time.Hour
	DefaultStepTimeout  = 3 * time.Minute
	DefaultHookBody     = 1 << 20
)

// New returns a Service. baseURL is how others reach this server (the
// webhook trigger's URLs).
func New(d *db.DB, st *store.Store, reg *Registry, records Records, box *secret.Box, baseURL string, log *slog.Logger, opts ...Option) *Service {
	s := &Service{db: d, store: st, reg: reg, records: records, box: box, baseURL: baseURL, log: log, now: time.Now,
		backoffBase: DefaultBackoffBase, backoffCap: DefaultBackoffCap, orderWait: DefaultOrderWait, poll: DefaultPoll,
		keepFiltered: DefaultKeepFiltered, keepRuns: DefaultKeepRuns, stepTimeout: DefaultStepTimeout, pollLease: DefaultPollLease,
		hookLimiter: httpx.NewLimiter(20*time.Millisecond, 200), ipLimiter: httpx.NewLimiter(20*time.Millisecond, 200),
		maxHookBody: DefaultHookBody,
		pokeCh:      make(chan struct{}, 1), schedCh: make(chan struct{}, 1), slots: make(chan struct{}, busySlots),
		joinSlots: make(chan struct{}, joinedRuns)}
	for _, o := range opts {
		o(s)
	}
	if s.buckets != nil {
		s.hookLimiter, s.ipLimiter = s.hookLimiter.Shared(s.buckets, "hook"), s.ipLimiter.Shared(s.buckets, "hook-ip")
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	registerBuiltinTriggers(reg)
	return s
}

// Configure applies options before Start (tests shorten the policy of a
// service the app built).
func (s *Service) Configure(opts ...Option) {
	for _, o := range opts {
		o(s)
	}
}

// Registry is the service's registry of actions and triggers.
func (s *Service) Registry() *Registry { return s.reg }

// Register adds the run worker to River's workers; pass it to jobs.New.
func (s *Service) Register(w *river.Workers) {
	river.AddWorker(w, &runWorker{s: s})
	river.AddWorker(w, &runsWorker{s: s})
}

// Queues adds the automation queue to River's configuration; pass it to
// jobs.New as an option.
func (s *Service) Queues(c *river.Config) {
	if c.Queues == nil {
		c.Queues = map[string]river.QueueConfig{}
	}
	n := sqliteQueueWorkers
	if s.db.Dialect == db.Postgres {
		n = postgresQueueWorkers
	}
	c.Queues[Queue] = river.QueueConfig{MaxWorkers: n}
}

// Start starts the producers, which enqueue runs on r.
func (s *Service) Start(ctx context.Context, r *jobs.Runner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runner = r
	// The producers' writes are background work: requests go first.
	ctx, s.cancel = context.WithCancel(db.Background(ctx))
	done := make(chan struct{})
	s.done = done
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); s.watchLoad(ctx) }()
	go func() { defer wg.Done(); s.dispatchLoop(ctx) }()
	go func() { defer wg.Done(); s.scheduleLoop(ctx) }()
	go func() { defer wg.Done(); s.housekeeping(ctx) }()
	go func() { wg.Wait(); close(done) }()
}

// Stop stops the producers and waits for them. Runs already enqueued stay
// with River.
func (s *Service) Stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel, s.done = nil, nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// Poke wakes the change-event dispatcher; call it after a write that
// logged events (store.OnCommit).
func (s *Service) Poke() {
	select {
	case s.pokeCh <- struct{}{}:
	default:
	}
}

// Idle reports whether the change-event dispatcher's last look (a second
// ago at most, plus a poll) found no event bundle active and no bundle
// was saved here since.
func (s *Service) Idle() bool { return s.idle.Is() }

// pokeSchedules wakes the schedule loop: a bundle was saved here (its
// schedule may have changed). It also ends the change-event
// dispatcher's idleness: the bundle may listen to changes.
func (s *Service) pokeSchedules() {
	s.idle.Busy()
	select {
	case s.schedCh <- struct{}{}:
	default:
	}
}

func (s *Service) started() (*jobs.Runner, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runner == nil {
		return nil, errNotStarted
	}
	return s.runner, nil
}

var errNotStarted = errors.New("automation: the service is not started")

// housekeeping drops old runs: filtered ones after a day, the rest after
// the journal's keeping time; once a period (WithHousekeeping) of all
// the instances on the database, whichever takes the turn.
func (s *Service) housekeeping(ctx context.Context) {
	every := s.housekeepEvery
	if every <= 0 {
		every = db.DefaultDutyEvery
	}
	t := time.NewTicker(db.DutyCheck(every))
	defer t.Stop()
	for {
		took, err := s.db.ClaimDuty(ctx, "automation.purge", every, s.now())
		if err == nil && took {
			err = s.Purge(ctx)
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("automation: purge old runs", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Records reads the CRM's records as the engine does.
func (s *Service) Records() Records { return s.records }

// yield lets a run's next step go when the server is not busy with
// requests; while it is, only a few steps of all runs go at a time (the
// others wait, using nothing), so that the requests keep the processor
// and the writer and the runs catch up when the load passes. The
// returned func ends the step.
func (s *Service) yield(ctx context.Context) func() { return s.yieldSteps(ctx, 1) }

// yieldSteps is yield for n steps that go at once (runJoined): the slot
// is held n times as long.
func (s *Service) yieldSteps(ctx context.Context, n int) func() {
	if !s.isBusy() {
		return func() {}
	}
	tick := time.NewTicker(busyStep)
	defer tick.Stop()
	for {
		select {
		case s.slots <- struct{}{}:
			start := time.Now()
			return func() {
				// The slot is held busyStep at least: while busy, the
				// runs go on at a trickle of steps a second.
				if rest := time.Duration(max(n, 1))*busyStep - time.Since(start); rest > 0 {
					time.Sleep(rest)
				}
				<-s.slots
			}
		case <-tick.C:
			if !s.isBusy() {
				return func() {} // the load passed: no more waiting
			}
		case <-ctx.Done():
			return func() {}
		}
	}
}

// busyStep is the least time a step takes while the server is busy.
const busyStep = 50 * time.Millisecond

// busyWait is how long the dispatcher waits between readings of the log
// while the server is busy: fewer, larger batches.
const busyWait = time.Second

// pause waits busyWait if the server is busy.
func (s *Service) pause(ctx context.Context) {
	if !s.isBusy() {
		return
	}
	select {
	case <-ctx.Done():
	case <-time.After(busyWait):
	}
}

// busySlots is how many steps of all runs go at once while the server is
// busy.
const busySlots = 1

// isBusy reports whether the server has been busy of late: the requests
// in flight, averaged over the last quarter of a second or so (sampled
// by watchLoad), reach the busy number. A burst of a few requests is not
// a load; a stream that keeps many in flight is.
func (s *Service) isBusy() bool {
	return s.pressure != nil && math.Float64frombits(s.load.Load()) >= float64(s.busy)
}

// watchLoad samples the requests in flight every loadSample into an
// exponentially weighted average.
func (s *Service) watchLoad(ctx context.Context) {
	if s.pressure == nil {
		return
	}
	t := time.NewTicker(loadSample)
	defer t.Stop()
	avg := 0.0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		avg += 0.2 * (float64(s.pressure()) - avg)
		s.load.Store(math.Float64bits(avg))
	}
}

const loadSample = 50 * time.Millisecond
