package automation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/db"
)

// FireSchedules makes a run of every schedule whose time has come and
// moves its next time on. The next time lives in the bundle's row, so a
// restart or another instance taking over neither skips nor repeats a
// time: the run of a time is unique per (bundle, "schedule:<time>"), and
// the row is locked while it is moved on. Times missed while no instance
// ran make one run, which says how many were missed.
func (s *Service) FireSchedules(ctx context.Context) (int, error) {
	if _, err := s.started(); err != nil {
		return 0, err
	}
	now := s.now()
	var due sql.NullInt64
	if err := s.db.Reader().QueryRowContext(ctx, `SELECT MIN(next_fire_at) FROM automation_bundles
		WHERE active = TRUE AND trigger_type = 'schedule' AND next_fire_at > 0`).Scan(&due); err != nil {
		return 0, fmt.Errorf("automation: look for schedules: %w", err)
	}
	if !due.Valid || due.Int64 > now.UnixMicro() {
		return 0, nil
	}
	fired := 0
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		fired = 0
		lock := ""
		if s.db.Dialect == db.Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, version, next_fire_at FROM automation_bundles
			WHERE active = TRUE AND trigger_type = 'schedule' AND next_fire_at > 0 AND next_fire_at <= $1 ORDER BY id`+lock, now.UnixMicro())
		if err != nil {
			return fmt.Errorf("automation: schedules: %w", err)
		}
		type dueBundle struct {
			id, at  int64
			version int
		}
		var list []dueBundle
		for rows.Next() {
			var b dueBundle
			if err := rows.Scan(&b.id, &b.version, &b.at); err != nil {
				rows.Close()
				return fmt.Errorf("automation: schedules: %w", err)
			}
			list = append(list, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("automation: schedules: %w", err)
		}
		for _, b := range list {
			c, err := s.compiledVersion(ctx, b.id, b.version)
			if err != nil || c.Schedule == nil {
				s.log.Error("automation: a scheduled bundle does not compile; it is skipped", "bundle", b.id, "err", err)
				if _, err := tx.ExecContext(ctx, "UPDATE automation_bundles SET next_fire_at = 0 WHERE id = $1", b.id); err != nil {
					return err
				}
				continue
			}
			at := time.UnixMicro(b.at).In(c.Location)
			missed := 0
			for t := c.Schedule.Next(at); !t.After(now) && missed < 100000; t = c.Schedule.Next(t) {
				missed++
			}
			data := map[string]any{"scheduled_at": at.Format(time.RFC3339), "fired_at": now.In(c.Location).Format(time.RFC3339Nano), "missed": missed}
			r := newRun{bundleID: b.id, version: b.version, status: StatusQueued, triggerType: TriggerSchedule,
				key: "schedule:" + strconv.FormatInt(b.at, 10), trigger: mustJSON(data)}
			if c.OrderKey != nil {
				if k, err := c.OrderKey.Render(map[string]any{"trigger": data}); err == nil {
					r.orderKey = textOf(k)
				}
			}
			if _, err := s.insertRuns(ctx, tx, []newRun{r}); err != nil {
				return err
			}
			next := c.Schedule.Next(now.In(c.Location)).UnixMicro()
			if _, err := tx.ExecContext(ctx, "UPDATE automation_bundles SET next_fire_at = $2 WHERE id = $1 AND next_fire_at = $3", b.id, next, b.at); err != nil {
				return fmt.Errorf("automation: schedule of bundle %d: %w", b.id, err)
			}
			fired++
		}
		return nil
	})
	return fired, err
}

// scheduleLoop fires schedules and polls connectors' triggers.
func (s *Service) scheduleLoop(ctx context.Context) {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		if _, err := s.FireSchedules(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("automation: schedules", "err", err)
		}
		if err := s.PollTriggers(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("automation: polling triggers", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.schedCh:
		}
	}
}

// DefaultPollLease is how long an instance holds a bundle it polls: a
// poll that dies holding it is done again from the same cursor after it.
const DefaultPollLease = 2 * time.Minute

// PollTriggers polls each active bundle whose trigger is a connector's
// polling kind and is due: the items after the bundle's cursor become
// runs (unique by the item's key), and the cursor moves on in the same
// transaction. One instance polls a bundle at a time (a lease in the
// bundle's row); an item seen twice makes one run.
func (s *Service) PollTriggers(ctx context.Context) error {
	if _, err := s.started(); err != nil {
		return err
	}
	now := s.now().UnixMicro()
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT id, version, trigger_type, poll_cursor FROM automation_bundles
		WHERE active = TRUE AND trigger_type NOT IN ('crm.event', 'schedule', 'webhook', 'manual') AND poll_due_at <= $1 AND poll_lease_until <= $1`, now)
	if err != nil {
		return fmt.Errorf("automation: polling triggers: %w", err)
	}
	type pollBundle struct {
		id          int64
		version     int
		typ, cursor string
	}
	var list []pollBundle
	for rows.Next() {
		var b pollBundle
		if err := rows.Scan(&b.id, &b.version, &b.typ, &b.cursor); err != nil {
			rows.Close()
			return fmt.Errorf("automation: polling triggers: %w", err)
		}
		list = append(list, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("automation: polling triggers: %w", err)
	}
	for _, b := range list {
		kind, ok := s.reg.Trigger(b.typ)
		if !ok || kind.Poll == nil {
			continue
		}
		if err := s.pollOne(ctx, b.id, b.version, b.cursor, kind); err != nil {
			s.log.Warn("automation: poll", "bundle", b.id, "trigger", b.typ, "err", err)
		}
	}
	return nil
}

// errLeaseLost: the poll outlived its lease and another instance took
// the bundle; what it fetched is dropped (that one polls from the same
// cursor).
var errLeaseLost = errors.New("automation: the poll's lease ran out before its items were stored")

// pollOne polls one bundle under a lease: the lease is taken only at the
// cursor read, the items and the new cursor are stored together only if
// the lease is still this poll's. A poll that dies between the fetch and
// the store (kill -9) leaves the old cursor and its lease, which runs out:
// the next poll fetches from the old cursor again, and the items' keys
// make the runs already stored none the second time.
func (s *Service) pollOne(ctx context.Context, id int64, version int, cursor string, kind TriggerKind) error {
	now := s.now()
	lease := now.Add(s.pollLease).UnixMicro()
	took := false
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE automation_bundles SET poll_lease_until = $2 WHERE id = $1 AND poll_lease_until <= $3 AND poll_cursor = $4`,
			id, lease, now.UnixMicro(), cursor)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		took = n == 1
		return nil
	})
	if err != nil || !took {
		return err
	}
	release := func(next string, dueIn time.Duration, runs []newRun) error {
		return s.db.Write(context.WithoutCancel(ctx), func(ctx context.Context, tx *sql.Tx) error {
			if _, err := s.insertRuns(ctx, tx, runs); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE automation_bundles SET poll_cursor = $2, poll_due_at = $3, poll_lease_until = 0 WHERE id = $1 AND poll_lease_until = $4`,
				id, next, s.now().Add(dueIn).UnixMicro(), lease)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return errLeaseLost
			}
			return nil
		})
	}
	b, err := s.Get(ctx, id)
	if err != nil {
		_ = release(cursor, kind.every(), nil)
		return err
	}
	every := kind.pollEvery(b.Trigger)
	c, err := s.compiledVersion(ctx, id, version)
	if err != nil {
		return release(cursor, every, nil)
	}
	items, next, perr := kind.Poll(ctx, &b, cursor)
	if perr == nil {
		perr = checkItems(kind.Type, items)
	}
	if perr != nil {
		// Keep the cursor; try again at the next time.
		_ = release(cursor, every, nil)
		return perr
	}
	return release(next, every, itemRuns(c, id, version, kind.Type, items))
}

// NextFires lists the next n times of a schedule after from, in its time
// zone (DefaultTZ when tz is ""): the editor shows them as a cron
// expression is typed. The error says what does not parse.
func NextFires(expr, tz string, from time.Time, n int) ([]time.Time, error) {
	if tz == "" {
		tz = DefaultTZ
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("%q is not a time zone", tz)
	}
	sch, err := cronParser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", expr, err)
	}
	out := make([]time.Time, 0, n)
	at := from.In(loc)
	for range n {
		if at = sch.Next(at); at.IsZero() {
			break
		}
		out = append(out, at)
	}
	return out, nil
}
