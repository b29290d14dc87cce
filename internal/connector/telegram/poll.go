package telegram

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// leaseFor is how long one instance keeps a bot's polling: longer than a
// getUpdates wait, renewed by every poll.
const leaseFor = 90 * time.Second

// pollWait is getUpdates' long-poll timeout.
const pollWait = 25 * time.Second

// Poll takes the updates of one polling connection once, if this
// instance holds (or takes) the bot's lease: each update's message and
// the next offset are written in one transaction, so that an update is
// stored exactly once however many instances poll and whenever one
// stops. It returns how many updates it took, and false when another
// instance holds the lease.
func (s *Service) Poll(ctx context.Context, connID int64, wait time.Duration) (int, bool, error) {
	b, err := s.open(ctx, connID)
	if err != nil {
		return 0, false, err
	}
	offset, ok, err := s.lease(ctx, connID)
	if err != nil || !ok {
		return 0, ok, err
	}
	us, err := b.c.GetUpdates(ctx, offset, wait)
	if err != nil {
		return 0, true, err
	}
	for _, u := range us {
		m := u.Message
		err := s.d.Store.Write(store.Unscoped(ctx), crm.Actor{Integration: Integration}, func(t *store.Tx) error {
			res, err := t.Exec(`UPDATE telegram_polls SET next_offset = $1 WHERE connection_id = $2 AND lease_owner = $3 AND next_offset <= $4`,
				u.UpdateID+1, connID, s.d.Instance, u.UpdateID)
			if err != nil {
				return fmt.Errorf("telegram: offset of %d: %w", connID, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return errLeaseLost // another instance took it, or the update is behind the offset
			}
			if m == nil || m.Chat.Type != "private" {
				return nil
			}
			_, err = s.ingestTx(t, b.conn, b.set, u)
			return err
		})
		if errors.Is(err, errLeaseLost) {
			return 0, false, nil
		}
		if err != nil {
			s.journal(ctx, connID, u.UpdateID, OutcomeFailed, 0, err.Error())
			return 0, true, err
		}
	}
	return len(us), true, nil
}

var errLeaseLost = errors.New("telegram: the polling lease was lost")

// lease takes or renews this instance's lease of a bot's polling and
// returns the offset to poll from.
func (s *Service) lease(ctx context.Context, connID int64) (int64, bool, error) {
	now := s.d.Now().UnixMicro()
	var offset int64
	var ok bool
	err := s.d.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO telegram_polls (connection_id) VALUES ($1) ON CONFLICT (connection_id) DO NOTHING`, connID); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `UPDATE telegram_polls SET lease_owner = $1, lease_until = $2
			WHERE connection_id = $3 AND (lease_owner = $1 OR lease_until < $4) RETURNING next_offset`,
			s.d.Instance, now+leaseFor.Microseconds(), connID, now).Scan(&offset)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		ok = err == nil
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("telegram: polling lease of %d: %w", connID, err)
	}
	return offset, ok, nil
}

// Start runs the background side of the connector until Stop: the
// outbox sweep, the polling of polling bots, and pointing the others'
// webhooks at this server (BaseURL).
func (s *Service) Start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	if prev := s.stop; prev != nil {
		s.stop = func() { prev(); cancel() }
	} else {
		s.stop = cancel
	}
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.Run(ctx)
	}()
}

// Stop ends what Start started and waits for it.
func (s *Service) Stop() {
	s.mu.Lock()
	stop := s.stop
	s.stop = nil
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	s.wg.Wait()
}

// Run keeps the others' webhooks set and sweeps the outbox every few
// seconds, and polls each polling bot in a loop of its own (a long poll
// of one bot waits up to pollWait: neither the outbox nor another bot
// waits behind it), until ctx ends.
func (s *Service) Run(ctx context.Context) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	hooked := map[int64]time.Time{} // connection → the version whose webhook is set
	polls := map[int64]context.CancelFunc{}
	var wg sync.WaitGroup
	defer func() {
		for _, cancel := range polls {
			cancel()
		}
		wg.Wait()
	}()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.d.Log.Error("telegram: outbox", "err", err)
		}
		conns, err := s.d.Conns.List(ctx, Type)
		if err != nil && ctx.Err() == nil {
			s.d.Log.Error("telegram: connections", "err", err)
		}
		polling := map[int64]bool{}
		for _, c := range conns {
			p, _ := c.Settings[SetPolling].(bool)
			if v, ok := hooked[c.ID]; !ok || !v.Equal(c.UpdatedAt) {
				if err := s.hook(ctx, c.ID, p); err != nil {
					if ctx.Err() == nil {
						s.d.Log.Warn("telegram: webhook", "connection", c.ID, "err", err)
					}
				} else {
					hooked[c.ID] = c.UpdatedAt
				}
			}
			polling[c.ID] = p
		}
		if err == nil {
			for id, cancel := range polls {
				if !polling[id] {
					cancel() // removed, or switched to its webhook
					delete(polls, id)
				}
			}
			for id, p := range polling {
				if p && polls[id] == nil {
					pctx, cancel := context.WithCancel(ctx)
					polls[id] = cancel
					wg.Add(1)
					go func() {
						defer wg.Done()
						s.pollLoop(pctx, id)
					}()
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// pollLoop polls one bot until ctx ends: again at once after a long poll
// that brought updates or waited its time, after a pause when it came
// back empty at once, another instance holds the bot's lease or the poll
// failed.
func (s *Service) pollLoop(ctx context.Context, id int64) {
	for ctx.Err() == nil {
		start := time.Now()
		n, mine, err := s.Poll(ctx, id, pollWait)
		pause := 5 * time.Second
		switch {
		case err == nil && mine && (n > 0 || time.Since(start) >= time.Second):
			continue // updates, or a long poll that waited: poll again
		case err == nil && mine:
			pause = time.Second // empty at once (a proxy that does not wait)
		case err != nil && ctx.Err() == nil:
			s.d.Log.Warn("telegram: poll", "connection", id, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}

// hook points a bot's webhook at this server, or removes it for polling
// (getUpdates answers 409 while a webhook is set). Without a public
// https address there is nothing Telegram could reach.
func (s *Service) hook(ctx context.Context, id int64, polling bool) error {
	b, err := s.open(ctx, id)
	if err != nil {
		return err
	}
	if polling {
		return b.c.DeleteWebhook(ctx)
	}
	if !strings.HasPrefix(s.d.BaseURL, "https://") {
		return nil
	}
	return b.c.SetWebhook(ctx, strings.TrimRight(s.d.BaseURL, "/")+HookPrefix+strconv.FormatInt(id, 10), b.set.String(SetSecret))
}
