package db

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// ChangeChannel is the PostgreSQL notification channel of ChangeBus.
const ChangeChannel = "obmen_changes"

// CredentialsChannel is notified by the triggers of migration 0061 when
// an API key or a user changes; the bus's listener moves the database's
// credentials epoch on (DB.CredentialsEpoch).
const CredentialsChannel = "obmen_credentials"

// ChangeBus wakes the workers of every instance on one PostgreSQL when any
// of them commits a change (issue 21): deliveries and bundle triggers no
// longer wait for the next poll of the instance that happens to run
// them. Changed, called after each commit that wrote change events, sends
// one NOTIFY for all the commits since the last one went out, at most one
// per ChangeNotifyGap (a stream of commits costs a hundred notifications
// a second, not one each, and never a round trip inside a write); a
// connection of its own LISTENs and calls wake
// for every other instance's notification. The polls stay the safety net:
// a notification lost with a dropped connection delays a change by one
// poll, never loses it. On SQLite (one process) it does nothing: the
// store's commit hook wakes the workers in process.
type ChangeBus struct {
	d    *DB
	wake func()
	log  *slog.Logger
	id   string

	kick   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// Sent and Heard count notifications sent and heard from other
	// instances (tests and figures).
	Sent, Heard atomic.Int64
	listening   chan struct{}
	listenOnce  sync.Once // closes listening (the bus may be started again)
}

// NewChangeBus returns the bus of d; Start starts it.
func (d *DB) NewChangeBus(wake func(), log *slog.Logger) *ChangeBus {
	var b [8]byte
	_, _ = rand.Read(b[:])
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ChangeBus{d: d, wake: wake, log: log, id: hex.EncodeToString(b[:]), kick: make(chan struct{}, 1), listening: make(chan struct{})}
}

// Start listens and sends until Stop (PostgreSQL; nothing on SQLite).
func (b *ChangeBus) Start(ctx context.Context) {
	if b == nil || b.d.Dialect != Postgres {
		return
	}
	ctx, b.cancel = context.WithCancel(context.WithoutCancel(ctx))
	b.wg.Add(2)
	go b.send(ctx)
	go b.listen(ctx)
}

// Stop ends the bus and waits for it.
func (b *ChangeBus) Stop() {
	if b == nil || b.cancel == nil {
		return
	}
	b.cancel()
	b.wg.Wait()
}

// Listening is closed once the bus first listens (tests).
func (b *ChangeBus) Listening() <-chan struct{} { return b.listening }

// Changed tells the other instances that this one committed a change;
// it never blocks.
func (b *ChangeBus) Changed() {
	if b == nil {
		return
	}
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

func (b *ChangeBus) send(ctx context.Context) {
	defer b.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.kick:
		}
		// The commits that come while this one is sent kick again and
		// share the next.
		if _, err := b.d.Read.ExecContext(ctx, "SELECT pg_notify($1, $2)", ChangeChannel, b.id); err != nil {
			if ctx.Err() != nil {
				return
			}
			b.log.Warn("db: notify other instances of a change", "err", err)
			continue
		}
		b.Sent.Add(1)
		// At most one notification per ChangeNotifyGap: under a stream of
		// commits every one kicked, and each notification costs a
		// transaction taking PostgreSQL's notify lock and wakes every
		// instance's listener — ~460 a second at 500 changes/s, heard by
		// nobody who needed them (each instance dispatches its own
		// changes at once). The commits of the gap share the next one.
		select {
		case <-ctx.Done():
			return
		case <-time.After(ChangeNotifyGap):
		}
	}
}

// ChangeNotifyGap is the least time between two notifications of a change bus:
// another instance hears a change at most this much later than at once.
const ChangeNotifyGap = 10 * time.Millisecond

func (b *ChangeBus) listen(ctx context.Context) {
	defer b.wg.Done()
	for ctx.Err() == nil {
		err := b.listenConn(ctx)
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("db: listen for other instances' changes; polling until back", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (b *ChangeBus) listenConn(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, b.d.pgURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+ChangeChannel+"; LISTEN "+CredentialsChannel); err != nil {
		return err
	}
	// From here every change of a credential reaches this process; what
	// was cached before (while nothing listened) is not trusted.
	b.d.CredentialsChanged()
	b.d.credHeard.Store(true)
	defer func() {
		b.d.credHeard.Store(false)
		b.d.CredentialsChanged()
	}()
	b.listenOnce.Do(func() { close(b.listening) })
	// A change may have come while the connection was down.
	b.wake()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Channel == CredentialsChannel {
			b.d.CredentialsChanged()
			continue
		}
		if n.Payload == b.id {
			continue // this instance's own: its commit hook woke it
		}
		b.Heard.Add(1)
		b.wake()
	}
}
