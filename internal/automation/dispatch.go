package automation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
)

// dispatchBatch is how many change events one dispatch reads.
const dispatchBatch = 500

// Dispatch reads the change events after the cursors of the active
// crm.event bundles and, in one write transaction, makes a run of each
// event a bundle's trigger takes (with its job) and moves each bundle's
// cursor past what it has seen. It returns how many events it read.
//
// Nothing is missed or run twice, across restarts and instances: runs,
// their jobs and the cursors commit together, and a run is unique per
// (bundle, "event:<id>"), so two dispatchers racing on PostgreSQL insert
// it once (the second waits on the unique index, then inserts nothing).
// On PostgreSQL each dispatcher also locks the bundles it works on (FOR
// UPDATE SKIP LOCKED): instances share the bundles rather than repeat
// each other's work.
func (s *Service) Dispatch(ctx context.Context) (int, error) {
	if _, err := s.started(); err != nil {
		return 0, err
	}
	// A cheap look from the read pool first: the dispatcher wakes after
	// every commit, and most wake-ups find nothing new.
	var low, last sql.NullInt64
	var active int
	if err := s.db.Reader().QueryRowContext(ctx, `SELECT
		(SELECT MIN(cursor) FROM automation_bundles WHERE active = TRUE AND trigger_type = 'crm.event'),
		(SELECT COUNT(*) FROM automation_bundles WHERE active = TRUE AND trigger_type = 'crm.event'),
		(SELECT MAX(id) FROM events)`).Scan(&low, &active, &last); err != nil {
		return 0, fmt.Errorf("automation: look for new events: %w", err)
	}
	if active == 0 || !last.Valid || last.Int64 <= low.Int64 {
		return 0, nil
	}
	n := 0
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		n = 0
		lock := ""
		if s.db.Dialect == db.Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, version, cursor FROM automation_bundles
			WHERE active = TRUE AND trigger_type = 'crm.event' ORDER BY id`+lock)
		if err != nil {
			return fmt.Errorf("automation: dispatch: bundles: %w", err)
		}
		type listener struct {
			id, cursor int64
			version    int
		}
		var ls []listener
		for rows.Next() {
			var l listener
			if err := rows.Scan(&l.id, &l.version, &l.cursor); err != nil {
				rows.Close()
				return fmt.Errorf("automation: dispatch: bundles: %w", err)
			}
			ls = append(ls, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("automation: dispatch: bundles: %w", err)
		}
		if len(ls) == 0 {
			return nil
		}
		from := ls[0].cursor
		for _, l := range ls {
			from = min(from, l.cursor)
		}
		evs, err := events.Read(ctx, tx, events.Query{After: from, Limit: dispatchBatch})
		if err != nil {
			return err
		}
		n = len(evs)
		if n == 0 {
			return nil
		}
		depths, err := s.chainDepths(ctx, tx, evs)
		if err != nil {
			return err
		}
		var runs []newRun
		for _, l := range ls {
			c, err := s.compiledVersion(ctx, l.id, l.version)
			if err != nil {
				s.log.Error("automation: dispatch: a bundle does not compile; it is skipped", "bundle", l.id, "err", err)
				continue
			}
			self := "bundle:" + strconv.FormatInt(l.id, 10)
			maxDepth := c.Def.MaxDepth
			if maxDepth == 0 {
				maxDepth = DefaultMaxDepth
			}
			for i := range evs {
				ev := &evs[i]
				if ev.ID <= l.cursor || !matchEvent(&c.Def.Trigger, ev) {
					continue
				}
				if ev.Actor == self && !c.Def.SelfTrigger {
					continue
				}
				r := newRun{bundleID: l.id, version: l.version, status: StatusQueued, triggerType: TriggerCRMEvent,
					key: "event:" + strconv.FormatInt(ev.ID, 10), eventID: ev.ID, entity: ev.Entity, recordID: ev.RecordID}
				if ev.RunID != 0 {
					r.depth = depths[ev.RunID] + 1
				}
				if r.depth > maxDepth {
					r.status = StatusError
					r.err = fmt.Sprintf("stopped: a chain of bundles reached depth %d (the bundle's limit is %d); the change was made by run %d",
						r.depth, maxDepth, ev.RunID)
				}
				if c.OrderKey != nil {
					k, err := c.OrderKey.Render(map[string]any{"trigger": map[string]any{"event": eventMap(ev)}})
					if err != nil {
						r.status, r.err = StatusError, "order_key: "+err.Error()
					} else {
						r.orderKey = textOf(k)
					}
				}
				runs = append(runs, r)
			}
		}
		if _, err := s.insertRuns(ctx, tx, runs); err != nil {
			return err
		}
		end := evs[n-1].ID
		for _, l := range ls {
			if l.cursor < end {
				if _, err := tx.ExecContext(ctx, "UPDATE automation_bundles SET cursor = $2 WHERE id = $1 AND cursor < $2", l.id, end); err != nil {
					return fmt.Errorf("automation: dispatch: advance bundle %d: %w", l.id, err)
				}
			}
		}
		return nil
	})
	return n, err
}

// chainDepths reads how deep in a chain of bundles each run that made
// one of evs is.
func (s *Service) chainDepths(ctx context.Context, tx *sql.Tx, evs []events.Event) (map[int64]int, error) {
	seen := map[int64]bool{}
	var ids []string
	for i := range evs {
		if id := evs[i].RunID; id != 0 && !seen[id] {
			seen[id] = true
			ids = append(ids, strconv.FormatInt(id, 10))
		}
	}
	out := map[int64]int{}
	if len(ids) == 0 {
		return out, nil
	}
	// The ids are numbers we formatted: safe in the statement's text.
	rows, err := tx.QueryContext(ctx, "SELECT id, depth FROM automation_runs WHERE id IN ("+strings.Join(ids, ",")+")")
	if err != nil {
		return nil, fmt.Errorf("automation: dispatch: chain depths: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var d int
		if err := rows.Scan(&id, &d); err != nil {
			return nil, fmt.Errorf("automation: dispatch: chain depths: %w", err)
		}
		out[id] = d
	}
	return out, rows.Err()
}

// dispatchLoop dispatches after every poke (a commit) and every poll.
func (s *Service) dispatchLoop(ctx context.Context) {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		n, err := s.Dispatch(ctx)
		if err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("automation: dispatch", "err", err)
		}
		if n == dispatchBatch && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.pokeCh:
			// Under a stream of commits pokes come thousands of times a
			// second; gather them for a moment so that one dispatch
			// serves many changes.
			select {
			case <-ctx.Done():
				return
			case <-time.After(pokeGather):
			}
		}
	}
}

const pokeGather = 10 * time.Millisecond

// textOf is a rendered template as text.
func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return strings.TrimSpace(string(mustJSON(x)))
	}
}
