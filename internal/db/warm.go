package db

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"sync"
)

// WarmPool readies every connection of the PostgreSQL pool before the
// server takes requests: it opens them all (database/sql opens them on
// demand, one at a time, in a request's path) and runs warm on each, under
// a ctx that joins a read-only transaction of that connection (Join), so
// that what warm reads is read there. A fresh PostgreSQL backend loads its
// catalog caches at the first parse of a statement (2–5 ms for the folded
// reads) and plans it afresh at each of its first five executions before
// it may keep a generic plan (1–35 ms each on 1M-row tables); database/sql
// hands a request the most recently used idle connection, so a request
// that comes while background work holds the warm one got a cold one —
// the whole tail of find-by-phone's p99 (issue 21). SQLite: nothing to do.
//
// It returns the number of connections warmed. The connections are the
// pool's own: they stay open while in use and close after the pool's idle
// time, like any.
func (d *DB) WarmPool(ctx context.Context, warm func(ctx context.Context) error) (int, error) {
	if d.Dialect != Postgres {
		return 0, nil
	}
	n := d.Read.Stats().MaxOpenConnections
	txs := make([]*sql.Tx, 0, n)
	defer func() {
		for _, tx := range txs {
			_ = tx.Rollback()
		}
	}()
	// Holding each transaction while the next begins makes them n
	// distinct connections.
	for range n {
		tx, err := d.Read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return 0, fmt.Errorf("db: warm the pool: connection %d of %d: %w", len(txs)+1, n, err)
		}
		txs = append(txs, tx)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan *sql.Tx)
	)
	for range min(n, runtime.NumCPU()) {
		wg.Go(func() {
			for tx := range next {
				if err := warm(d.Join(ctx, tx)); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, tx := range txs {
		next <- tx
	}
	close(next)
	wg.Wait()
	if first != nil {
		return n, fmt.Errorf("db: warm the pool: %w", first)
	}
	return n, nil
}
