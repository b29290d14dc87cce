package jobs

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// insertTopic is River's notification topic for inserted jobs; its
// payload names the queue ({"queue": "default"}), whose producer then
// fetches (river/internal/notifier, producer.go).
const insertTopic = "river_insert"

// On SQLite River has no LISTEN: its driver's listener reads the
// notifications an insert wrote to river_notification every 50 ms, and
// River writes one only if none went out for the queue within
// FetchCooldown — so a job enqueued by a write waited up to 50 ms for
// its producer, or for FetchPollInterval when its notification was
// skipped. wakingDriver is River's SQLite driver whose listener also
// hears this process's commits: Runner.InsertTx notes the job's queue to
// be announced once the group commit holding it has committed
// (db.AfterGroupCommit), and the listener hands River's notifier an
// insert notification for it at once, as PostgreSQL's LISTEN would.
// River does the rest (the producer's debounced fetch); its outbox poll
// and FetchPollInterval stay as the safety net, and jobs other processes
// enqueue still arrive through them.
type wakingDriver struct {
	*riversqlite.Driver
	w *waker
}

func (d wakingDriver) GetListener(params *riverdriver.GetListenenerParams) riverdriver.Listener {
	return &wakingListener{Listener: d.Driver.GetListener(params), w: d.w}
}

// waker gathers the queues committed jobs went to until the listener
// takes them.
type waker struct {
	mu     sync.Mutex
	queues map[string]struct{}
	ch     chan struct{} // one pending wake-up covers every queue noted
}

func newWaker() *waker {
	return &waker{queues: map[string]struct{}{}, ch: make(chan struct{}, 1)}
}

// committed notes that a job for queue is committed; it never blocks.
func (w *waker) committed(queue string) {
	w.mu.Lock()
	w.queues[queue] = struct{}{}
	w.mu.Unlock()
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

func (w *waker) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.queues))
	for q := range w.queues {
		out = append(out, q)
		delete(w.queues, q)
	}
	return out
}

type wakingListener struct {
	riverdriver.Listener
	w *waker

	mu        sync.Mutex
	listening bool // River listens on insertTopic
	ready     []*riverdriver.Notification
}

func (l *wakingListener) Listen(ctx context.Context, topic string) error {
	err := l.Listener.Listen(ctx, topic)
	if err == nil && topic == insertTopic {
		l.mu.Lock()
		l.listening = true
		l.mu.Unlock()
	}
	return err
}

func (l *wakingListener) Unlisten(ctx context.Context, topic string) error {
	if topic == insertTopic {
		l.mu.Lock()
		l.listening = false
		l.mu.Unlock()
	}
	return l.Listener.Unlisten(ctx, topic)
}

// WaitForNotification waits as River's listener does; woken by a commit,
// it cuts that wait short (River itself interrupts it this way every few
// seconds) and returns the insert notifications of the committed queues.
func (l *wakingListener) WaitForNotification(ctx context.Context) (*riverdriver.Notification, error) {
	for {
		if n := l.next(); n != nil {
			return n, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		var woken atomic.Bool
		go func() {
			select {
			case <-l.w.ch:
				woken.Store(true)
				cancel()
			case <-done:
			}
		}()
		n, err := l.Listener.WaitForNotification(wctx)
		close(done)
		cancel()
		if !woken.Load() {
			return n, err
		}
		l.collect()
		if err == nil {
			return n, nil // the outbox's first; ours at the next call
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// collect turns the queues committed since the last wake-up into insert
// notifications.
func (l *wakingListener) collect() {
	queues := l.w.take()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.listening {
		return
	}
	for _, q := range queues {
		l.ready = append(l.ready, &riverdriver.Notification{Topic: insertTopic, Payload: `{"queue": ` + strconv.Quote(q) + `}`})
	}
}

func (l *wakingListener) next() *riverdriver.Notification {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ready) == 0 {
		return nil
	}
	n := l.ready[0]
	l.ready = l.ready[1:]
	return n
}
