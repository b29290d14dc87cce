package db

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"
)

// LockKeys holds exclusive locks on the named keys until release is
// called: for a check-then-act that two writers must not interleave, such
// as "create the contact unless one with this phone exists", where the
// check reads and the act writes in another transaction. Keys are taken
// in sorted order, so two callers never deadlock on them.
//
// On SQLite, where one process owns the file, the locks are in process.
// On PostgreSQL they are advisory locks of the database, held by a
// connection set aside for the purpose, so they hold across every
// instance on that database and are released if the process dies.
func (d *DB) LockKeys(ctx context.Context, keys ...string) (release func(), err error) {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if len(keys) == 0 {
		return func() {}, nil
	}
	if d.Dialect == SQLite {
		return d.keyLocks.lock(ctx, keys)
	}
	if j := d.joinedOf(ctx); j != nil {
		// Inside a joined transaction the lock must last until that
		// transaction commits, or another writer would look before the
		// work it guards is visible. PostgreSQL finds a deadlock between
		// two such transactions and fails one of the statements.
		for _, k := range keys {
			if _, err := j.tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", keyHash(k)); err != nil {
				return nil, fmt.Errorf("db: lock key %q: %w", k, err)
			}
		}
		return func() {}, nil
	}
	pool, err := d.lockPool()
	if err != nil {
		return nil, err
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: lock keys: %w", err)
	}
	taken := 0
	unlock := func() {
		for _, k := range keys[:taken] {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", keyHash(k))
		}
		conn.Close()
	}
	for _, k := range keys {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", keyHash(k)); err != nil {
			unlock()
			return nil, fmt.Errorf("db: lock key %q: %w", k, err)
		}
		taken++
	}
	return unlock, nil
}

// lockPool is the pool of connections that hold key locks, apart from
// the others: a holder waiting for a connection of the main pool to do
// its work must not have taken the last one to hold its lock.
func (d *DB) lockPool() (*sql.DB, error) {
	d.lockOnce.Do(func() {
		p, err := sql.Open("pgx", d.pgURL)
		if err != nil {
			d.lockErr = fmt.Errorf("db: open the lock pool: %w", err)
			return
		}
		// Kept open: a PostgreSQL connection costs a process and
		// milliseconds to start, more than the lock it holds.
		p.SetMaxOpenConns(16)
		p.SetMaxIdleConns(16)
		p.SetConnMaxIdleTime(10 * time.Minute)
		d.locks = p
	})
	return d.locks, d.lockErr
}

// keyHash maps a key into PostgreSQL's advisory lock space; the space
// below 2^32 is left to the locks Obmen takes by number.
func keyHash(k string) int64 {
	h := fnv.New64a()
	h.Write([]byte("obmen key lock:" + k))
	return int64(h.Sum64() | 1<<40)
}

// keyLocks are in-process locks by key, for SQLite.
type keyLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{} // closed when released
}

func (l *keyLocks) lock(ctx context.Context, keys []string) (func(), error) {
	var got []string
	release := func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, k := range got {
			close(l.held[k])
			delete(l.held, k)
		}
	}
	for _, k := range keys {
		for {
			l.mu.Lock()
			if l.held == nil {
				l.held = map[string]chan struct{}{}
			}
			ch, busy := l.held[k]
			if !busy {
				l.held[k] = make(chan struct{})
				l.mu.Unlock()
				got = append(got, k)
				break
			}
			l.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				release()
				return nil, ctx.Err()
			}
		}
	}
	return release, nil
}

// TryLockKey takes the lock on key if no one holds it, without waiting:
// ok is false when another holder (another instance, on PostgreSQL) has
// it. For work that one instance must do while the others answer from
// the database, such as a 1C import's run. On PostgreSQL the lock is
// released when the process dies (its connection ends).
func (d *DB) TryLockKey(ctx context.Context, key string) (release func(), ok bool, err error) {
	if d.Dialect == SQLite {
		l := &d.keyLocks
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.held == nil {
			l.held = map[string]chan struct{}{}
		}
		if _, busy := l.held[key]; busy {
			return nil, false, nil
		}
		l.held[key] = make(chan struct{})
		return func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			close(l.held[key])
			delete(l.held, key)
		}, true, nil
	}
	pool, err := d.lockPool()
	if err != nil {
		return nil, false, err
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("db: lock key %q: %w", key, err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", keyHash(key)).Scan(&ok); err != nil || !ok {
		conn.Close()
		if err != nil {
			return nil, false, fmt.Errorf("db: lock key %q: %w", key, err)
		}
		return nil, false, nil
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", keyHash(key))
		conn.Close()
	}, true, nil
}
