package jobs

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// insertTopic is River's notification topic for inserted jobs; its
// payload names the queue ({"queue": "default"}), whose producer then
// fetches (river/internal/notifier, producer.go).
const insertTopic = "river_insert"

// Both engines' listeners also hear this process's commits. River's
// producer fetches when its listener hands it an insert notification
// (debounced by FetchCooldown) or every FetchPollInterval, and River
// sends that notification with an insert only if none went out for the
// queue within FetchCooldown:
//   - on SQLite River has no LISTEN: its driver's listener reads the
//     notifications inserts wrote to river_notification every 50 ms;
//   - on PostgreSQL a job inserted within FetchCooldown of a notified one
//     sent no pg_notify, and waited for the next notified insert or the
//     poll (issue 21: most of change → delivered at 500 changes/s).
//
// The waking drivers are River's whose listener is woken by a commit:
// Runner.InsertTx notes the job's queue to be announced once the write
// holding it has committed (db.OnCommit), and the listener hands River's
// notifier an insert notification for it at once. River does the rest
// (the producer's debounced fetch); its outbox poll (SQLite) and
// FetchPollInterval stay as the safety net, and jobs other processes
// enqueue still arrive through its notifications — on PostgreSQL this
// process sends none for its own inserts while it listens
// (wakingPGDriver.UnwrapExecutor).
type wakingDriver struct {
	*riversqlite.Driver
	w *waker
}

func (d wakingDriver) GetListener(params *riverdriver.GetListenenerParams) riverdriver.Listener {
	return &wakingListener{Listener: d.Driver.GetListener(params), w: d.w}
}

// wakingPGDriver is wakingDriver on PostgreSQL.
type wakingPGDriver struct {
	*riverpgxv5.Driver
	w *waker
}

func (d wakingPGDriver) GetListener(params *riverdriver.GetListenenerParams) riverdriver.Listener {
	return &wakingListener{Listener: d.Driver.GetListener(params), w: d.w}
}

// UnwrapExecutor is River's executor on tx, without the insert
// notification while this process's River listens for inserts: its own
// commits wake it (above), and River's pg_notify — a round trip in the
// transaction, a wake-up of every instance's listener, and here a second
// fetch right after the one the commit started, mostly finding nothing —
// was one per dispatch at 500 changes/s (issue 21). The other instances
// find the jobs at their next poll (FetchPollInterval), or take them when
// this one's workers are all busy; a process whose River does not listen
// (one that only enqueues) still notifies, and so does any process for a
// queue it does not work.
func (d wakingPGDriver) UnwrapExecutor(tx pgx.Tx) riverdriver.ExecutorTx {
	return quietExecutorTx{ExecutorTx: d.Driver.UnwrapExecutor(tx), w: d.w}
}

// UnwrapTx undoes UnwrapExecutor.
func (d wakingPGDriver) UnwrapTx(execTx riverdriver.ExecutorTx) pgx.Tx {
	if q, ok := execTx.(quietExecutorTx); ok {
		execTx = q.ExecutorTx
	}
	return d.Driver.UnwrapTx(execTx)
}

// quietExecutorTx leaves out River's insert notifications for the queues
// this process works while w's listener listens for them.
type quietExecutorTx struct {
	riverdriver.ExecutorTx
	w *waker
}

func (e quietExecutorTx) NotifyMany(ctx context.Context, params *riverdriver.NotifyManyParams) error {
	if params.Topic != insertTopic || !e.w.listening.Load() {
		return e.ExecutorTx.NotifyMany(ctx, params)
	}
	// River's payload names the queue: {"queue": "default"}.
	rest := params.Payload[:0:0]
	for _, p := range params.Payload {
		var n struct {
			Queue string `json:"queue"`
		}
		if json.Unmarshal([]byte(p), &n) == nil && slices.Contains(e.w.worked, n.Queue) {
			e.w.Quieted.Add(1)
			continue
		}
		rest = append(rest, p)
	}
	if len(rest) == 0 {
		return nil
	}
	q := *params
	q.Payload = rest
	return e.ExecutorTx.NotifyMany(ctx, &q)
}

// waker gathers the queues committed jobs went to until the listener
// takes them.
type waker struct {
	mu     sync.Mutex
	queues map[string]struct{}
	ch     chan struct{} // one pending wake-up covers every queue noted

	// listening is set while River's listener listens for inserts (the
	// producers of the worked queues run and are woken by this process's
	// commits).
	listening atomic.Bool
	worked    []string // the queues this process's River works
	// Quieted counts the insert notifications left out (tests).
	Quieted atomic.Int64
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

	mu    sync.Mutex
	ready []*riverdriver.Notification
}

func (l *wakingListener) Listen(ctx context.Context, topic string) error {
	err := l.Listener.Listen(ctx, topic)
	if err == nil && topic == insertTopic {
		l.w.listening.Store(true)
	}
	return err
}

// Close ends the listening (River's notifier closes its listener when it
// stops, and when its connection failed, before connecting and listening
// again).
func (l *wakingListener) Close(ctx context.Context) error {
	l.w.listening.Store(false)
	return l.Listener.Close(ctx)
}

func (l *wakingListener) Unlisten(ctx context.Context, topic string) error {
	if topic == insertTopic {
		l.w.listening.Store(false)
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
	if !l.w.listening.Load() { // River listens on insertTopic (one listener per waker)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
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
